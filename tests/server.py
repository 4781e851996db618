"""A catalogue of named server behaviours on loopback, each a way evidence links fail in the wild."""
from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

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
        pages.update(self._citation_pages())
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

    # -- how pages are cited: respelled addresses, sign-in walls, fragments, unreadable bodies -----
    def _citation_pages(self) -> dict[str, Handler]:
        wall = "/login?next=/members/report"
        return {
            "/en": self.redirect(302, "/en/"), "/en/": self.home, "/fr": self.redirect(301, "/fr-fr/"),
            "/fr-fr/": self.home, "/index.html": self.redirect(301, "/"), "/Reports/Annual": self.redirect(302, "/reports/annual/"),
            "/reports/annual/": self.ok,
            "/reports/2019/annual-review": self.redirect(301, "/en/"),
            "/members/report": self.redirect(302, wall), "/login": self.login,
            "/members/briefing": self.redirect(302, "/idp/profile/SAML2/Redirect/SSO?SAMLRequest=fZJbT4Mw"),
            "/idp/profile/SAML2/Redirect/SSO": self.login,
            "/members/portal": self.redirect(302, "/gate"), "/gate": self.login,
            "/members/service": self.redirect(302, "/gateway?service=/members/service"), "/gateway": self.plain_gateway,
            "/members/data": self.redirect(302, "/portal?returnUrl=%2Fmembers%2Fdata"), "/portal": self.plain_gateway,
            "/Home": self.redirect(301, "/home/"), "/home/": self.home,
            "/with-sign-in-link": self.sign_in_link, "/moved-to-sign-in-link": self.redirect(302, "/with-sign-in-link"),
            "/moved-to-login-box": self.redirect(302, "/login-box"), "/login-box": self.login_box,
            "/report3.pdf": self.pdf3, "/locked.pdf": self.locked_pdf, "/scan.docx": self.docx,
            "/deep-nesting": self.deep_nesting, "/long": self.long_page, "/app": self.ok,
            "/owner/repo/blob/main/x.py": self.ok,
        }

    async def login(self, request: web.Request) -> web.Response:
        return html("<!doctype html><html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1>"
                    '<form method="post" action="/session"><input name="user"><input type="password" name="pw">'
                    "<button>Sign in</button></form></body></html>")

    async def plain_gateway(self, request: web.Request) -> web.Response:
        return html(article("Gateway", "Please wait while we check your access."))

    async def sign_in_link(self, request: web.Request) -> web.Response:
        return html("<!doctype html><html><head><title>Annual review</title></head><body>"
                    '<header><a href="/login">Sign in</a> | <a href="/account">My account</a></header>'
                    "<h1>Annual review</h1><p>Exports grew by 4 percent.</p></body></html>")

    async def login_box(self, request: web.Request) -> web.Response:
        words = " ".join(["The survey covered every district and every household in them."] * 30)
        return html("<!doctype html><html><head><title>Household survey</title></head><body>"
                    f"<main><h1>Household survey</h1><p>{words}</p></main><aside><form action=\"/login\">"
                    '<input name="u"><input type="password" name="p"><button>Log in</button></form></aside>'
                    "</body></html>")

    async def pdf3(self, request: web.Request) -> web.Response:
        return web.Response(body=pdf_pages(["Summary of findings", "Some fifty million people were reached",
                                            "Annex tables"]), content_type="application/pdf")

    async def locked_pdf(self, request: web.Request) -> web.Response:
        return web.Response(body=encrypted(pdf_pages(["Some fifty million people were reached"])),
                            content_type="application/pdf")

    async def docx(self, request: web.Request) -> web.Response:
        return web.Response(body=docx_bytes("Some fifty million people were reached"), content_type=DOCX)

    async def deep_nesting(self, request: web.Request) -> web.Response:
        return html("<html><head><title>Deep</title></head><body>" + "<div>" * 300
                    + "Some fifty million people were reached" + "</div>" * 300 + "</body></html>")

    async def long_page(self, request: web.Request) -> web.Response:
        filler = "<p>" + "Background paragraph. " * 50 + "</p>"
        return html("<html><head><title>Long report</title></head><body><h1>Long report</h1>" + filler * 40
                    + '<h2 id="conclusion">Conclusion</h2><p>Some fifty million people were reached</p></body></html>')


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def pdf_pages(texts: list[str]) -> bytes:
    """A real PDF with one page per text (reportlab)."""
    import io

    from reportlab.pdfgen import canvas
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for text in texts:
        pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted(pdf: bytes) -> bytes:
    """The PDF locked with a user password (pypdf)."""
    import io

    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(text: str) -> bytes:
    """A real Word document (python-docx)."""
    import io

    import docx
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """The base URL of `app` served by a real aiohttp server on 127.0.0.1, closed on exit."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
