"""Politeness per host name, measured at the server: requests in flight, pauses, dead hosts, cookies."""
from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer

from linkcheck.config import Config, Settings
from linkcheck.hosts import HOST_DOWN_AFTER
from linkcheck.model import Result
from linkcheck.pipeline import run_check
from tests.conftest import InstantClock
from tests.server import article, html


class _Counter:
    """Requests in flight per host name (the address the request reached), and when each arrived."""

    def __init__(self, delay: float = 0.15) -> None:
        self.delay = delay
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.peak_total = 0
        self.arrivals: list[tuple[float, str, int, str]] = []  # (time, host, port, path)
        self.limited_at: float | None = None
        self.cookies: dict[str, list[str]] = {}

    def app(self) -> aioweb.Application:
        app = aioweb.Application()
        app.router.add_get("/limited", self.limited)
        app.router.add_get("/setter", self.setter)
        app.router.add_get("/meter", self.meter)
        app.router.add_get("/{name}", self.page)
        return app

    async def page(self, request: aioweb.Request) -> aioweb.Response:
        host, port = request.transport.get_extra_info("sockname")[:2] if request.transport else ("?", 0)
        self.arrivals.append((time.monotonic(), host, port, request.path))
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.peak[host] = max(self.peak.get(host, 0), self.in_flight[host])
        self.peak_total = max(self.peak_total, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight[host] -= 1
        return html(article(f"Page {request.match_info.get('name', '')}"))

    async def limited(self, request: aioweb.Request) -> aioweb.Response:
        """429 with Retry-After: 1 the first time, then the page."""
        host, port = request.transport.get_extra_info("sockname")[:2] if request.transport else ("?", 0)
        self.arrivals.append((time.monotonic(), host, port, request.path))
        if self.limited_at is None:
            self.limited_at = time.monotonic()
            return aioweb.Response(status=429, headers={"Retry-After": "1"})
        return html(article("Now you may"))

    async def setter(self, request: aioweb.Request) -> aioweb.Response:
        self.cookies.setdefault("/setter", []).append(request.headers.get("Cookie", ""))
        response = html(article("Welcome, metered reader"))
        response.set_cookie("articles_read", "5")
        return response

    async def meter(self, request: aioweb.Request) -> aioweb.Response:
        """A metered paywall: a reader who has used up the free articles is turned away."""
        self.cookies.setdefault("/meter", []).append(request.headers.get("Cookie", ""))
        if request.cookies.get("articles_read") == "5":
            return aioweb.Response(status=403, text="Subscribe to read on")
        return html(article("The metered article"))


async def _serve(app: aioweb.Application, host: str) -> TestServer:
    server = TestServer(app, host=host)
    await server.start_server()
    return server


@pytest.fixture
async def counted() -> AsyncIterator[tuple[_Counter, list[str]]]:
    """One counter behind three servers: two ports of 127.0.0.1 and one of 127.0.0.2."""
    counter = _Counter()
    servers = [await _serve(counter.app(), "127.0.0.1"), await _serve(counter.app(), "127.0.0.1"),
               await _serve(counter.app(), "127.0.0.2")]
    try:
        yield counter, [str(s.make_url("")).rstrip("/") for s in servers]
    finally:
        for server in servers:
            await server.close()


async def _check(tmp_path: Path, urls: list[str], settings: Settings, **kwargs: object) -> dict[str, Result]:
    doc = tmp_path / "doc.md"
    doc.write_text("\n".join(f"[s{i}]({u})" for i, u in enumerate(urls)) + "\n", encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=settings)
    report = await run_check(config, settings=settings, archive=False, **kwargs)  # type: ignore[arg-type]
    return {r.url: r for r in report.results}


async def test_per_host_limit_counts_every_port_of_a_host(counted: tuple[_Counter, list[str]],
                                                          tmp_path: Path) -> None:
    counter, (port_a, port_b, other) = counted
    urls = [f"{base}/p{i}" for i in range(6) for base in (port_a, port_b, other)]
    settings = Settings(timeout=5.0, retries=0, allow_private=True, concurrency=32, per_host=2)
    results = await _check(tmp_path, urls, settings)
    assert {(str(r.verdict), str(r.reason)) for r in results.values()} == {("ok", "ok")}
    # 12 URLs on two ports of 127.0.0.1: never more than 2 at once between them.
    assert counter.peak == {"127.0.0.1": 2, "127.0.0.2": 2}
    assert counter.peak_total > 2  # the hosts themselves were checked side by side


async def test_retry_after_pauses_the_whole_host(counted: tuple[_Counter, list[str]], tmp_path: Path) -> None:
    counter, (port_a, port_b, other) = counted
    urls = [f"{port_a}/limited", *(f"{port_b}/p{i}" for i in range(3)), *(f"{other}/q{i}" for i in range(6))]
    counter.delay = 0.1
    settings = Settings(timeout=5.0, retries=1, allow_private=True, concurrency=8, per_host=1, retry_after_cap=5)
    results = await _check(tmp_path, urls, settings)
    assert {(str(r.verdict), str(r.reason)) for r in results.values()} == {("ok", "ok")}
    assert counter.limited_at is not None
    after = [(t - counter.limited_at, host, path) for t, host, _, path in counter.arrivals if t > counter.limited_at]
    same_host = [(dt, path) for dt, host, path in after if host == "127.0.0.1"]
    # Every later request to 127.0.0.1, on either port, waited out the second it was asked to.
    assert same_host and min(dt for dt, _ in same_host) >= 0.95, same_host
    assert {path for _, path in same_host} >= {"/limited"}
    # Another host was not held up meanwhile.
    assert any(dt < 0.9 for dt, host, _ in after if host == "127.0.0.2"), after


async def _silent_server(accepted: list[int]) -> asyncio.Server:
    """Accepts connections and never answers."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await reader.read()
        finally:
            writer.close()
    return await asyncio.start_server(hold, "127.0.0.1", 0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("failure", ["timeout", "refused"])
async def test_host_not_answering_fails_fast(counted: tuple[_Counter, list[str]], tmp_path: Path,
                                             clock: InstantClock, failure: str) -> None:
    counter, (_, _, other) = counted
    accepted: list[int] = []
    silent = await _silent_server(accepted) if failure == "timeout" else None
    port = silent.sockets[0].getsockname()[1] if silent else _closed_port()
    dead = [f"http://127.0.0.1:{port}/doc{i}" for i in range(12)]
    settings = Settings(timeout=0.3, retries=2, allow_private=True, concurrency=8, per_host=2)
    try:
        results = await _check(tmp_path, [*dead, f"{other}/alive"], settings, clock=clock)
    finally:
        if silent:
            silent.close()
    first = ("error", "timeout") if failure == "timeout" else ("broken", "connection_refused")
    verdicts = [(str(results[u].verdict), str(results[u].reason)) for u in dead]
    tried = verdicts.count(first)
    fast = [results[u] for u in dead if (str(results[u].verdict), str(results[u].reason)) == ("error", "connection")]
    assert tried + len(fast) == len(dead), verdicts
    assert fast and all("host not answering" in r.detail for r in fast)
    assert len(fast) >= len(dead) - HOST_DOWN_AFTER - 1
    if silent:
        # Each URL tried at most once more than the breaker allows: not 12 x 3 connections.
        assert len(accepted) <= HOST_DOWN_AFTER + settings.per_host, len(accepted)
    assert str(results[f"{other}/alive"].verdict) == "ok"  # another host is not affected


@pytest.mark.parametrize("order", ["setter first", "meter first"])
async def test_cookies_stay_in_their_redirect_chain(counted: tuple[_Counter, list[str]], tmp_path: Path,
                                                    order: str) -> None:
    counter, (port_a, _, _) = counted
    urls = [f"{port_a}/setter", f"{port_a}/meter"]
    settings = Settings(timeout=5.0, retries=0, allow_private=True, concurrency=1, per_host=1)
    results = await _check(tmp_path, urls if order == "setter first" else urls[::-1], settings)
    assert (str(results[f"{port_a}/meter"].verdict), str(results[f"{port_a}/meter"].reason)) == ("ok", "ok")
    assert counter.cookies["/meter"] == [""]  # the other URL's cookie was never sent
