"""A large capture is deflated off the event loop, and its records read back as any other's."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from aiohttp import web
from warcio.archiveiterator import ArchiveIterator

from linkcheck.archive import OFF_LOOP_MIN, WarcWriter, iter_records, read_capture
from linkcheck.config import Config, Settings
from linkcheck.model import FetchOutcome, Reference, Snapshot
from linkcheck.pipeline import run_check
from tests.loopturns import counting_turns
from tests.server import serving

QUOTE = "forty million people were in modern slavery on any given day in 2016"


def _article(size: int) -> bytes:
    """An HTML page of about `size` bytes of varied prose, the quote in its middle."""
    paragraphs = [f"<p>Paragraph {k}: estimate {k * 7919 % 10007} of region {k % 97}, "
                  f"method note {k * 31}.</p>" for k in range(size // 60)]
    paragraphs.insert(len(paragraphs) // 2, f"<p>The report found that {QUOTE}.</p>")
    return ("<!doctype html><html><head><title>Global estimates</title></head><body><main>"
            + "".join(paragraphs) + "</main></body></html>").encode()


def _outcome(url: str, body: bytes) -> FetchOutcome:
    return FetchOutcome(url, status=200, final_url=url, headers=(("Content-Type", "text/html"),), body=body,
                        reason_phrase="OK", fetched_at="2024-05-01T10:00:00Z",
                        request_headers=(("User-Agent", "linkcheck-test"),))


async def _write_counting_turns(writer: WarcWriter, outcome: FetchOutcome) -> tuple[Snapshot | None, int]:
    """The write's snapshot, and how often another task ran on the loop while it was written."""
    async with counting_turns() as turns:
        snapshot = await writer.write_off_loop(outcome)
        return snapshot, turns.reset()


def test_a_large_capture_lets_the_loop_run_while_it_is_deflated_and_a_small_one_does_not(tmp_path: Path) -> None:
    big, small = _article(300_000), _article(2_000)
    assert len(big) > OFF_LOOP_MIN > len(small) + 1000

    async def main() -> tuple[list[tuple[Snapshot | None, int]], list[str]]:
        with WarcWriter(tmp_path, "offloop", "2024-05-01T00:00:00Z") as writer:
            small_write = await _write_counting_turns(writer, _outcome("https://site.example/small", small))
            threads_then = [t.name for t in threading.enumerate()]
            big_write = await _write_counting_turns(writer, _outcome("https://site.example/big", big))
        return [small_write, big_write], threads_then

    (small_write, big_write), threads_then = asyncio.run(main())
    assert small_write[1] == 0  # written within the call: no other task ran
    assert not any(name.startswith("warc-deflate") for name in threads_then)
    assert big_write[1] >= 1  # the loop ran others while the page was deflated
    snapshots = [snapshot for snapshot, _ in (small_write, big_write) if snapshot is not None]
    assert [read_capture(tmp_path, s.warc, s.offset).body for s in snapshots] == [small, big]
    assert [c.body for c in iter_records(tmp_path / snapshots[0].warc)] == [small, big]


def test_a_small_capture_written_while_a_large_one_deflates_comes_first_and_both_stay_whole(tmp_path: Path) -> None:
    big, small = _article(400_000), b"<p>a short page</p>"

    async def main() -> tuple[Snapshot | None, Snapshot | None, Path]:
        with WarcWriter(tmp_path, "interleaved", "2024-05-01T00:00:00Z") as writer:
            pending = asyncio.create_task(writer.write_off_loop(_outcome("https://site.example/big", big)))
            await asyncio.sleep(0)  # the large capture is now being deflated on the writer's thread
            first = writer.write(_outcome("https://site.example/small", small))
            return first, await pending, writer.path

    first, second, path = asyncio.run(main())
    assert first is not None and second is not None and first.offset < second.offset
    with open(path, "rb") as fh:
        kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)]
    # Each capture's response is followed by its own request record.
    assert kinds == [("warcinfo", None),
                     ("response", "https://site.example/small"), ("request", "https://site.example/small"),
                     ("response", "https://site.example/big"), ("request", "https://site.example/big")]
    assert read_capture(tmp_path, path.name, second.offset).body == big


def test_a_run_archives_a_large_page_whole_and_reads_the_quote_on_it(tmp_path: Path) -> None:
    pages = [_article(250_000), _article(250_000).replace(QUOTE.encode(), b"the estimate was revised")]
    served = [pages[0]]

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=served[0], content_type="text/html")

    async def main() -> list[object]:
        app = web.Application()
        app.router.add_get("/estimates", page)
        reports = []
        async with serving(app) as base:
            doc = tmp_path / "submission.md"
            doc.write_text(f"See [the estimates]({base}/estimates).\n", encoding="utf-8")
            config = Config(documents=(doc,), settings=Settings(timeout=5.0, retries=0, allow_private=True),
                            references=(Reference(id="estimates", url=f"{base}/estimates", quote=QUOTE),))
            for body in pages:
                served[0] = body
                reports.append(await run_check(config, state_dir=tmp_path / "state"))
        return reports

    first, second = asyncio.run(main())
    (kept,), (later,) = first.results, second.results  # type: ignore[attr-defined]
    assert str(kept.verdict) == "ok" and kept.snapshot is not None
    warc = Path(kept.snapshot.warc).name
    assert read_capture(tmp_path / "state" / "archive", warc, kept.snapshot.offset).body == pages[0]
    assert str(later.verdict) != "ok" and "quote" in str(later.reason)
    assert read_capture(tmp_path / "state" / "archive", Path(later.snapshot.warc).name,
                        later.snapshot.offset).body == pages[1]
