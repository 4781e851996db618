"""Pages written to hurt: every reading has a time and size budget, a run holds a bounded number of bytes."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer

from linkcheck import reading as reading_module
from linkcheck.budget import ByteBudget
from linkcheck.config import Config, Settings
from linkcheck.content import word_diff
from linkcheck.fetch import Fetcher
from linkcheck.model import FetchOutcome, Reference, Result, Target
from linkcheck.pipeline import run_check
from linkcheck.reading import Reader, Request, read_page
from tests.loopturns import counting_turns

SETTINGS = Settings(timeout=5.0, retries=0, allow_private=True, concurrency=16, per_host=4)


def alternating(words: int, other: str) -> str:
    """`words` words, every other one the same: the page that took a diff two minutes."""
    return " ".join("the" if i % 2 == 0 else other + "abcdefg"[i % 7] for i in range(words))


class Site:
    """Pages whose content the test changes between runs."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}

    async def serve(self, request: aioweb.Request) -> aioweb.StreamResponse:
        body, content_type = self.pages.get(request.path, (b"", ""))
        if not content_type:
            return aioweb.Response(status=404)
        return aioweb.Response(body=body, content_type=content_type)


@pytest.fixture
async def site() -> tuple[Site, str]:
    served = Site()
    app = aioweb.Application()
    app.router.add_get("/{tail:.*}", served.serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield served, f"http://127.0.0.1:{server.port}"
    await server.close()


async def run(tmp_path: Path, urls: list[str], settings: Settings = SETTINGS,
              references: tuple[Reference, ...] = ()) -> dict[str, Result]:
    doc = tmp_path / "doc.md"
    doc.write_text("\n\n".join(f"[source {i}]({url})" for i, url in enumerate(urls)), encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=settings, references=references)
    report = await run_check(config, settings=settings, state_dir=tmp_path / "state")
    return {r.url: r for r in report.results}


def html_page(text: str) -> bytes:
    return f"<html><head><title>Article</title></head><body><article><p>{text}</p></article></body></html>".encode()


def answer(body: bytes, quotes: tuple[str, ...], *, anchors: bool = False) -> Request:
    """A reading of a 200 HTML answer for one target per quote."""
    outcome = FetchOutcome("https://example.org/a", status=200, final_url="https://example.org/a",
                           content_type="text/html", body=body, method="GET")
    targets = tuple(Target(url="https://example.org/a", citations=(),
                           reference=Reference(id=f"r{i}", url="https://example.org/a", quote=quote))
                    for i, quote in enumerate(quotes))
    return Request(outcome, targets, page=True, anchors=anchors, texts=True)


def test_a_diff_of_one_word_alternating_is_bounded() -> None:
    before, after = alternating(3000, "alpha"), alternating(3000, "beta")
    started = time.perf_counter()
    changes = word_diff(before, after)
    assert time.perf_counter() - started < 1
    assert changes and changes[0].startswith("- alphab")


def test_a_diff_still_finds_a_change_in_the_middle_of_a_long_page() -> None:
    words = [f"w{i}" for i in range(20_000)]
    changed = words[:10_000] + ["inserted", "words"] + words[10_000:]
    assert word_diff(" ".join(words), " ".join(changed)) == ("+ inserted words",)


async def test_the_alternating_page_changed_between_two_runs_takes_seconds(site: tuple[Site, str],
                                                                            tmp_path: Path) -> None:
    """It took the second run from 0.6 s to 2 min 04 s when the diff was cubic in the words."""
    served, base = site
    served.pages["/alternating"] = (html_page(alternating(3000, "alpha")), "text/html")
    url = base + "/alternating"
    first = await run(tmp_path, [url])
    assert first[url].verdict == "ok"
    served.pages["/alternating"] = (html_page(alternating(3000, "beta")), "text/html")
    started = time.perf_counter()
    second = await run(tmp_path, [url])
    elapsed = time.perf_counter() - started
    assert second[url].verdict == "changed" and second[url].reason == "content_drift"
    assert second[url].changes
    assert elapsed < 5, f"{elapsed:.1f} s"


async def test_a_page_past_the_time_budget_is_unreadable_and_the_run_goes_on(site: tuple[Site, str],
                                                                             tmp_path: Path) -> None:
    served, base = site
    quote = "a sentence that is not there"
    slow = "".join(f"<div><p>paragraph {i} with <b>some</b> words</p></div>" for i in range(120_000))
    served.pages["/slow"] = (f"<html><body>{slow}</body></html>".encode(), "text/html")
    served.pages["/fine"] = (html_page("Fine words here."), "text/html")
    settings = SETTINGS.replace(read_timeout=0.3)
    refs = (Reference(id="slow", url=base + "/slow", quote=quote),)
    started = time.perf_counter()
    results = await run(tmp_path, [base + "/slow", base + "/fine"], settings, refs)
    slow_result = results[base + "/slow"]
    assert (slow_result.verdict, slow_result.reason) == ("error", "unreadable")
    assert "read_timeout" in slow_result.detail and "0.3 s" in slow_result.detail
    assert results[base + "/fine"].verdict == "ok"
    assert time.perf_counter() - started < 20
    # The worker that overran was replaced: the next reading works.
    again = await Reader(10, 1 << 24).read(answer(html_page("y " * 40_000), ("x",)))
    assert again.unreadable is None and again.comparison(0) is not None
    assert again.comparison(0).quote_found is False  # type: ignore[union-attr]


async def test_a_page_past_the_size_budget_is_unreadable_without_being_parsed(site: tuple[Site, str],
                                                                              tmp_path: Path) -> None:
    served, base = site
    served.pages["/big"] = (html_page("word " * 100_000), "text/html")
    results = await run(tmp_path, [base + "/big"], SETTINGS.replace(read_max_bytes=100_000))
    big = results[base + "/big"]
    assert (big.verdict, big.reason) == ("error", "unreadable")
    assert "read_max_bytes" in big.detail and "500,0" in big.detail


def test_one_function_reads_everything_a_page_says() -> None:
    body = (b"<html><head><title>Page not found</title></head><body><h1 id='top'>Gone</h1>"
            b"<p>An estimated 49 million people.</p></body></html>")
    reading = read_page(answer(body, ("49 million people", "71 million"), anchors=True))
    assert reading.page is not None and reading.page.title == "Page not found" and "top" in reading.page.anchors
    found = [c.quote_found if c is not None else None for c in reading.comparisons]
    assert found == [True, False]


async def test_the_byte_budget_makes_readers_wait_and_never_stalls() -> None:
    budget = ByteBudget(100)
    body: list[bytes] = []
    await budget.take(60, body)
    second = asyncio.create_task(budget.take(60, []))
    await asyncio.sleep(0)
    assert not second.done() and budget.held == 60  # waits: 120 would pass the budget
    # The one body being read now waits for more while holding bytes: it goes ahead anyway,
    # and reads on to its end.
    await asyncio.wait_for(budget.take(60, body), 1)
    await asyncio.wait_for(budget.take(60, body), 1)
    assert budget.held == 180 and not second.done()
    budget.finished(body)
    budget.give(180)
    await asyncio.wait_for(second, 1)
    assert budget.held == 60


async def test_endless_bodies_on_many_hosts_stay_within_the_byte_budget(tmp_path: Path) -> None:
    """Sixteen endless bodies at once: without a run-wide budget each is read to max_body_bytes."""

    async def endless(request: aioweb.Request) -> aioweb.StreamResponse:
        response = aioweb.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        chunk = b"z" * 65536
        try:
            while True:
                await response.write(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    app = aioweb.Application()
    app.router.add_get("/{tail:.*}", endless)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    urls = [f"http://127.0.0.1:{server.port}/endless/{i}" for i in range(16)]
    settings = SETTINGS.replace(max_body_bytes=4 << 20, max_bytes_in_flight=8 << 20, per_host=16)
    try:
        async with Fetcher(settings) as fetcher:
            outcomes = []

            async def one(url: str) -> None:
                outcome = await fetcher.fetch(url, hold=True)
                outcomes.append(outcome)
                await asyncio.sleep(0.05)  # judged a while later, the body held meanwhile
                fetcher.release(outcome)

            await asyncio.gather(*(one(url) for url in urls))
    finally:
        await server.close()
    assert len(outcomes) == 16 and all(o.body_truncated and len(o.body or b"") == 4 << 20 for o in outcomes)
    # At most the budget plus the one body let through when every reader waited.
    assert fetcher.budget.peak <= (8 << 20) + (4 << 20), fetcher.budget.peak
    assert fetcher.budget.held == 0


async def test_the_workers_start_while_the_loop_goes_on_and_later_readings_go_straight_to_them() -> None:
    """Starting worker processes takes a tenth of a second or more: not on the loop's own thread."""
    pool = reading_module._Pool()
    executor = pool.get()
    try:
        async with counting_turns() as turns:
            first = await pool.submit(executor, answer(html_page("The figure was 40 million."), ("40 million",)))
            while_starting = turns.reset()
            second = await pool.submit(executor, answer(html_page("No figure here."), ("40 million",)))
            once_started = turns.reset()
        found = [(await asyncio.wrap_future(f)).comparison(0) for f in (first, second)]
    finally:
        pool.replace(executor)
    assert while_starting >= 1  # the loop ran other tasks while the processes started
    assert once_started == 0  # handed over at once: no trip through a thread
    assert [c.quote_found for c in found if c is not None] == [True, False]
