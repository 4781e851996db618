"""The bounded work queue: how much of a run is in progress at once, whatever the number of URLs."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from linkcheck.config import Config, Settings
from linkcheck.feed import drain
from linkcheck.pipeline import run_check
from tests.server import article, html, serving


class _Tally:
    """URLs in progress, in total and per host, at their peaks; and the order each host's ran in."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.peak_total = 0
        self.order: dict[str, list[str]] = {}

    async def work(self, url: str) -> None:
        host = url.split("/")[0]
        self.order.setdefault(host, []).append(url)
        self.now[host] = self.now.get(host, 0) + 1
        self.peak[host] = max(self.peak.get(host, 0), self.now[host])
        self.peak_total = max(self.peak_total, sum(self.now.values()))
        await asyncio.sleep(0.001)
        self.now[host] -= 1


async def test_at_most_limit_at_once_and_per_host_each_host_in_order() -> None:
    items = [(host, f"{host}/{i}") for host in ("a", "b", "c", "d") for i in range(40)]  # one host after another
    tally = _Tally()
    await drain(items, tally.work, limit=6, per_host=2)
    assert tally.peak_total == 6
    assert tally.peak == {"a": 2, "b": 2, "c": 2, "d": 2}
    assert tally.order == {host: [f"{host}/{i}" for i in range(40)] for host in "abcd"}


async def test_one_host_cited_first_does_not_hold_up_the_others() -> None:
    items = [("slow", f"slow/{i}") for i in range(30)] + [("quick", "quick/0")]
    started: list[str] = []

    async def work(url: str) -> None:
        started.append(url)
        await asyncio.sleep(0.01 if url.startswith("slow") else 0)

    await drain(items, work, limit=8, per_host=2)
    assert started.index("quick/0") <= 2


async def test_the_first_failure_is_raised_and_stops_the_rest() -> None:
    done: list[str] = []

    async def work(url: str) -> None:
        if url == "h/3":
            raise RuntimeError("boom")
        await asyncio.sleep(0.001)
        done.append(url)

    with pytest.raises(RuntimeError, match="boom"):
        await drain([("h", f"h/{i}") for i in range(100)], work, limit=4, per_host=4)
    await asyncio.sleep(0.01)
    assert len(done) < 20


async def test_nothing_to_do_ends_at_once() -> None:
    await drain([], lambda url: asyncio.sleep(1), limit=4, per_host=1)


async def test_a_run_of_many_urls_keeps_few_tasks(tmp_path: Path) -> None:
    """One task per URL made up front would hold hundreds here: the run holds a handful."""
    async def page(request: web.Request) -> web.Response:
        return html(article(f"Page {request.match_info['name']}"))

    app = web.Application()
    app.router.add_get("/{name}", page)
    async with serving(app) as base:
        doc = tmp_path / "doc.md"
        doc.write_text("".join(f"[s{i}]({base}/p{i})\n" for i in range(400)), encoding="utf-8")
        settings = Settings(timeout=5.0, retries=0, allow_private=True, concurrency=4, per_host=2)
        tasks: list[int] = []

        def progress(done: int, total: int) -> None:
            tasks.append(len(asyncio.all_tasks()))

        report = await run_check(Config(path=None, documents=(doc,), settings=settings), settings=settings,
                                 archive=False, progress=progress)
    assert [str(r.verdict) for r in report.results] == ["ok"] * 400
    assert len(tasks) > 400 and max(tasks) <= 16, max(tasks)
