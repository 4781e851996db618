"""A catalogue of named server behaviours on loopback, each a way evidence links fail in the wild."""
from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def article(title: str, body: str = "", extra: str = "") -> str:
    return (f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<nav>Home | About</nav><h1>{title}</h1>{extra}"
            f"<p>{body or 'An ordinary article with its findings and figures.'}</p></body></html>")


def html(text: str, status: int = 200, **headers: str) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


class Catalogue:
    """The routes, plus a log of every request (method, path) to pin behaviour on the wire."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.hits: dict[str, int] = {}
        self.app = web.Application(middlewares=[self._record])
        add = self.app.router.add_route
        pages: dict[str, Handler] = {
            "/ok": self.ok, "/page": self.page, "/gone": self.status(404), "/withdrawn": self.status(410),
            "/moved": self.redirect(301, "/ok"), "/moved308": self.redirect(308, "/ok"),
            "/temp": self.redirect(302, "/ok"), "/chain/{n}": self.chain, "/loop/{side}": self.loop,
            "/deep/old-article": self.redirect(302, "/"), "/": self.home, "/soft404": self.soft404,
            "/soft404-heading": self.soft404_heading, "/auth": self.auth, "/wall": self.wall,
            "/ratelimited": self.ratelimited, "/throttled-once": self.throttled_once,
            "/flaky": self.flaky, "/error": self.status(500), "/slow": self.slow, "/reset": self.reset,
            "/head405": self.head405, "/cookie-gate": self.cookie_gate, "/big": self.big,
            "/bomb": self.bomb, "/brotli": self.brotli, "/wayback/available": self.wayback, "/report.pdf": self.pdf, "/to-private": self.to_private,
        }
        for path, handler in pages.items():
            add("*", path, handler)

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.log.append((request.method, request.path))
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return await handler(request)

    def requests_to(self, path: str) -> list[str]:
        """The methods of every request to one path, in order."""
        return [method for method, p in self.log if p == path]

    # -- reachable --------------------------------------------------------------------------
    async def ok(self, request: web.Request) -> web.Response:
        return html(article("Labour force brief", "Employment rose by 2 percent."))

    async def home(self, request: web.Request) -> web.Response:
        return html(article("Welcome", "Our latest news."))

    async def page(self, request: web.Request) -> web.Response:
        return html(article("Handbook", extra='<h2 id="chapter-3">Chapter 3</h2><a name="legacy-anchor"></a>'))

    async def head405(self, request: web.Request) -> web.Response:
        if request.method == "HEAD":
            return web.Response(status=405)
        return html(article("Download centre"))

    async def cookie_gate(self, request: web.Request) -> web.Response:
        """Sets a session cookie on a redirect to itself, as consent walls do."""
        if request.cookies.get("session") == "1":
            return html(article("Behind the consent wall"))
        response = web.Response(status=302, headers={"Location": "/cookie-gate"})
        response.set_cookie("session", "1")
        return response

    async def pdf(self, request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.4\n% a tiny report\n", content_type="application/pdf")

    # -- redirects ----------------------------------------------------------------------------
    @staticmethod
    def redirect(status: int, location: str) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": location})
        return handler

    async def chain(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        location = "/ok" if n == 0 else f"/chain/{n - 1}"
        return web.Response(status=301, headers={"Location": location})

    async def loop(self, request: web.Request) -> web.Response:
        other = "b" if request.match_info["side"] == "a" else "a"
        return web.Response(status=301, headers={"Location": f"/loop/{other}"})

    async def to_private(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    # -- gone -----------------------------------------------------------------------------------
    @staticmethod
    def status(code: int) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return html(article(f"Error {code}"), status=code)
        return handler

    async def soft404(self, request: web.Request) -> web.Response:
        return html(article("Page not found"))

    async def soft404_heading(self, request: web.Request) -> web.Response:
        return html("<html><head><title>Winter campaign</title></head><body>"
                    "<h1>Sorry, we couldn't find that page</h1></body></html>")

    # -- walls ------------------------------------------------------------------------------------
    async def auth(self, request: web.Request) -> web.Response:
        return html(article("Members only"), status=401, **{"WWW-Authenticate": 'Basic realm="members"'})

    async def wall(self, request: web.Request) -> web.Response:
        return html(article("Just a moment...", "Please verify you are human to continue."), status=403)

    async def ratelimited(self, request: web.Request) -> web.Response:
        return html(article("Too many requests"), status=429, **{"Retry-After": "3600"})

    async def throttled_once(self, request: web.Request) -> web.Response:
        if self.hits[request.path] == 1:
            return html(article("Slow down"), status=429, **{"Retry-After": "1"})
        return html(article("Open data portal"))

    # -- undecided ------------------------------------------------------------------------------
    async def flaky(self, request: web.Request) -> web.Response:
        if self.hits[request.path] == 1:
            return html(article("Service unavailable"), status=503)
        return html(article("Back again"))

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return html(article("Finally"))

    async def reset(self, request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()  # RST: the connection dies under the request
        await asyncio.sleep(0.1)
        return web.Response(status=200)

    # -- a stand-in for the Wayback Machine's availability API ---------------------------------
    async def wayback(self, request: web.Request) -> web.Response:
        url = request.query.get("url", "")
        closest = {"available": True, "status": "200", "timestamp": "20200101000000",
                   "url": f"https://web.archive.org/web/20200101000000/{url}"}
        return web.json_response({"url": url, "archived_snapshots": {"closest": closest}})

    # -- hostile bodies ---------------------------------------------------------------------------
    async def big(self, request: web.Request) -> web.StreamResponse:
        """An endless body: the reader must stop at its cap."""
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<html><head><title>Big</title></head><body>")
        try:
            for _ in range(10_000):
                await response.write(b"x" * 65536)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async def brotli(self, request: web.Request) -> web.Response:
        import brotlicffi
        assert "br" in request.headers.get("Accept-Encoding", "")
        body = brotlicffi.compress(article("Compressed page", "Brotli-encoded evidence.").encode())
        return web.Response(body=body, headers={"Content-Type": "text/html", "Content-Encoding": "br"})

    async def bomb(self, request: web.Request) -> web.Response:
        """64 MiB of zeros in 64 KiB of gzip."""
        body = gzip.compress(b"<html><title>Bomb</title>" + b"\0" * (64 * 1024 * 1024), 9)
        return web.Response(body=body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
