"""Server behaviours from other link checkers' test suites, re-created on loopback, plus
answers without a Content-Type (aiohttp always sends one, so a marker header removes it)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from linkcheck.config import Config, Settings
from linkcheck.model import Reference, Result, RunReport
from linkcheck.pipeline import run_check
from tests.conftest import InstantClock
from tests.server import serving

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_UNTYPED = "X-Test-Untyped"


def untyped(body: bytes, status: int = 200) -> web.Response:
    """A response sent with no Content-Type header at all."""
    return web.Response(body=body, status=status, headers={_UNTYPED: "1"})


def typed(body: str | bytes, content_type: str, status: int = 200, **headers: str) -> web.Response:
    raw = body.encode() if isinstance(body, str) else body
    return web.Response(body=raw, status=status, headers={"Content-Type": content_type, **headers})


async def _drop_type(request: web.Request, response: web.StreamResponse) -> None:
    if response.headers.pop(_UNTYPED, None) is not None:
        response.headers.pop("Content-Type", None)


class Peers:
    """Routes by name; `log` keeps (method, path_qs) of every request, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.ports: set[int] = set()  # the client ports requests came from: one per connection
        self.app = web.Application(middlewares=[self._record])
        self.app.on_response_prepare.append(_drop_type)
        self._routes: dict[str, Handler] = {}
        self._counts: dict[str, int] = {}

    def route(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def count(self, path: str) -> int:
        """How many requests this path has had so far (the current one included)."""
        return self._counts.get(path, 0)

    def methods(self, path: str) -> list[str]:
        return [m for m, p in self.log if p == path]

    def paths(self) -> set[str]:
        return {p for _, p in self.log}

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.log.append((request.method, request.path_qs))
        if request.transport is not None:
            self.ports.add(request.transport.get_extra_info("peername")[1])
        self._counts[request.path] = self._counts.get(request.path, 0) + 1
        route = self._routes.get(request.path)
        if route is None:
            return typed("not found\n", "text/plain", status=404)
        return await route(request)


def answer(response: Callable[[], web.StreamResponse]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return response()
    return handler


def redirect(status: int, location: str, *, method: str | None = None, otherwise: Handler | None = None) -> Handler:
    """Redirect (only requests of `method`, when given; the rest go to `otherwise`)."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if method is not None and request.method != method:
            assert otherwise is not None
            return await otherwise(request)
        return web.Response(status=status, headers={"Location": location})
    return handler


def delayed(seconds: float, then: Handler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await then(request)
    return handler


async def reset(request: web.Request) -> web.StreamResponse:
    """The connection dies under the request."""
    assert request.transport is not None
    request.transport.abort()
    await asyncio.sleep(0.05)
    return web.Response(status=200)


FAST = Settings(timeout=1.0, retries=0, allow_private=True, concurrency=8, per_host=4)


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Peers, str]]:
    """(routes, base URL) of a real aiohttp server on 127.0.0.1."""
    served = Peers()
    async with serving(served.app) as base:
        yield served, base


async def run(tmp_path: Path, lines: list[str], *, settings: Settings = FAST, archive: bool = False,
              references: tuple[Reference, ...] = (), clock: InstantClock | None = None,
              document: str = "doc.md", **kwargs: Any) -> RunReport:
    """Cite each line (a URL, or Markdown when it holds a "](") in one document and check it."""
    doc = tmp_path / document
    doc.write_text("\n".join(u if "](" in u else f"[source {i}]({u})" for i, u in enumerate(lines)) + "\n",
                   encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=settings, references=references)
    return await run_check(config, settings=settings, clock=clock or InstantClock(), archive=archive,
                           state_dir=tmp_path / "state" if archive else None, **kwargs)


async def check(tmp_path: Path, lines: list[str], **kwargs: Any) -> dict[str, Result]:
    """As `run`; the results keyed by URL."""
    return {r.url: r for r in (await run(tmp_path, lines, **kwargs)).results}


def verdict(result: Result) -> tuple[str, str]:
    return str(result.verdict), str(result.reason)
