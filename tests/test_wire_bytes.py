"""The bytes as received: a compressed answer is archived as sent, decoded for every reading, and a
compression bomb costs no more than the body cap."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import re
import sqlite3
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import brotlicffi
from aiohttp import web
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from linkcheck.archive import iter_records, payload_digest, read_capture
from linkcheck.coding import decode
from linkcheck.config import Config, Settings
from linkcheck.fetch import Fetcher
from linkcheck.model import Reference, Result
from linkcheck.pipeline import run_check
from linkcheck.resolver import StaticResolver
from tests.server import serving

SETTINGS = Settings(timeout=5.0, retries=0, allow_private=True)
QUOTE = "stunting fell by 9 percent among enrolled children"
PAGE = ("<!doctype html><html><head><title>Nutrition pilot</title></head><body><main><h1>Nutrition pilot</h1>"
        "<p>The pilot enrolled four thousand children across twelve districts.</p>"
        f"<p>Over two years {QUOTE}.</p><p>Families received fortified flour and counselling.</p>"
        "</main></body></html>").encode()
EDITED = PAGE.replace(f"<p>Over two years {QUOTE}.</p>".encode(), b"")
NOT_FOUND = (b"<!doctype html><html><head><title>Page not found</title></head><body><h1>Page not found</h1>"
             b"<p>Sorry, the page you asked for does not exist.</p></body></html>")
CODINGS = {"plain": lambda b: b, "gzip": lambda b: gzip.compress(b, mtime=0), "deflate": zlib.compress,
           "br": brotlicffi.compress}
MICROSECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Site:
    """/{coding}/{page}: the page sent with that content coding; `sent` keeps the bytes as sent."""

    def __init__(self) -> None:
        self.pages = {"quote": PAGE, "missing": NOT_FOUND}
        self.sent: dict[str, bytes] = {}
        self.app = web.Application()
        self.app.router.add_get("/{coding}/{name}", self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        coding, name = request.match_info["coding"], request.match_info["name"]
        assert coding == "plain" or coding in request.headers.get("Accept-Encoding", "")
        body = self.sent[request.path] = CODINGS[coding](self.pages[name])
        headers = {"Content-Type": "text/html; charset=utf-8"} | ({} if coding == "plain" else {"Content-Encoding": coding})
        return web.Response(body=body, headers=headers)


async def _run(tmp_path: Path, base: str, names: list[str]) -> dict[str, Result]:
    doc = tmp_path / "submission.md"
    urls = [f"{base}/{coding}/{name}" for name in names for coding in CODINGS]
    doc.write_text("".join(f"See [source {i}]({u}).\n" for i, u in enumerate(urls)), encoding="utf-8")
    refs = tuple(Reference(id=f"ref-{i}", url=u, quote=QUOTE) for i, u in enumerate(urls) if u.endswith("/quote"))
    report = await run_check(Config(documents=(doc,), settings=SETTINGS, references=refs), settings=SETTINGS,
                             state_dir=tmp_path / "state")
    return {r.url.removeprefix(base + "/"): r for r in report.results}


def _records(state: Path) -> dict[str, list]:
    """Target URI -> [(record, raw payload, decoded payload)] over every WARC of the state dir."""
    found: dict[str, list] = {}
    for path in sorted((state / "archive").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "revisit"):
                    raw = record.raw_stream.read()
                    found.setdefault(record.rec_headers.get_header("WARC-Target-URI"), []).append((record, raw))
    return found


async def test_a_compressed_answer_is_archived_as_sent_and_read_back_decoded(tmp_path: Path) -> None:
    site = Site()
    async with serving(site.app) as base:
        results = await _run(tmp_path, base, ["quote"])
    assert {k: (str(r.verdict), str(r.reason)) for k, r in results.items()} == \
        {f"{c}/quote": ("ok", "ok") for c in CODINGS}
    records = _records(tmp_path / "state")
    for coding in CODINGS:
        url, sent = f"{base}/{coding}/quote", site.sent[f"/{coding}/quote"]
        ((record, raw),) = records[url]
        assert record.rec_headers.protocol == "WARC/1.1" and record.rec_type == "response"
        assert MICROSECONDS.match(record.rec_headers.get_header("WARC-Date"))
        assert raw == sent and (coding == "plain") == (sent == PAGE)  # the bytes as received
        assert record.http_headers.get_header("Content-Encoding") == (None if coding == "plain" else coding)
        assert record.http_headers.get_header("Content-Length") == str(len(sent))
        # The payload digest is over the entity body as transferred; the snapshot names the content.
        assert record.rec_headers.get_header("WARC-Payload-Digest") == payload_digest(sent)
        snapshot = results[f"{coding}/quote"].snapshot
        assert snapshot is not None and snapshot.sha256 == hashlib.sha256(PAGE).hexdigest()
        assert read_capture(tmp_path / "state" / "archive", Path(snapshot.warc).name, snapshot.offset).body == PAGE
    for coding in ("gzip", "deflate"):  # warcio decodes them on reading (br too, where brotli is installed)
        assert _decoded(tmp_path / "state", f"{base}/{coding}/quote") == PAGE


def _decoded(state: Path, url: str) -> bytes:
    """The payload of the response record for `url`, through warcio's content_stream."""
    for path in (state / "archive").glob("*.warc.gz"):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == url:
                    return record.content_stream().read()
    raise AssertionError(f"no response record for {url}")


async def test_verdicts_on_a_compressed_page_are_those_on_a_plain_one(tmp_path: Path) -> None:
    site = Site()
    async with serving(site.app) as base:
        first = await _run(tmp_path, base, ["quote", "missing"])
        site.pages["quote"] = EDITED
        second = await _run(tmp_path, base, ["quote", "missing"])
    for coding in CODINGS:
        assert (first[f"{coding}/missing"].verdict, first[f"{coding}/missing"].reason) == ("broken", "soft_404")
        assert (first[f"{coding}/quote"].verdict, first[f"{coding}/quote"].reason) == ("ok", "ok")
        assert (second[f"{coding}/quote"].verdict, second[f"{coding}/quote"].reason) == ("changed", "quote_missing")
        # The drift baseline, read back from the archive, is the decoded page.
        assert second[f"{coding}/quote"].similarity == second["plain/quote"].similarity is not None


async def test_the_same_page_compressed_or_not_is_one_content_but_its_own_bytes(tmp_path: Path) -> None:
    """Compressed, then plain, then compressed again: unchanged for history (one sha256), but the
    plain bytes are stored, since a revisit would serve the gzip bytes under the plain headers;
    the same gzip bytes again are a revisit."""
    app = web.Application()
    served = iter(["gzip", "plain", "gzip"])

    async def flip(request: web.Request) -> web.Response:
        coding = next(served)
        body = CODINGS[coding](PAGE)
        return web.Response(body=body, headers={"Content-Type": "text/html"} | (
            {"Content-Encoding": coding} if coding != "plain" else {}))
    app.router.add_get("/flip", flip)
    async with serving(app) as base:
        doc = tmp_path / "doc.md"
        doc.write_text(f"See [it]({base}/flip).\n", encoding="utf-8")
        config = Config(documents=(doc,), settings=SETTINGS)
        runs = [(await run_check(config, settings=SETTINGS, state_dir=tmp_path / "state")).results[0]
                for _ in range(3)]
    assert {r.snapshot.sha256 for r in runs if r.snapshot} == {hashlib.sha256(PAGE).hexdigest()}
    assert all(r.verdict == "ok" and r.similarity is None for r in runs)  # no drift to read
    kinds = sorted((r.rec_headers.get_header("WARC-Date"), r.rec_type, len(raw))
                   for r, raw in _records(tmp_path / "state")[f"{base}/flip"])
    assert [(kind, size) for _, kind, size in kinds] == \
        [("response", len(CODINGS["gzip"](PAGE))), ("response", len(PAGE)), ("revisit", 0)]


async def test_a_gzip_bomb_is_cut_at_the_cap_and_never_inflated_in_memory(tmp_path: Path) -> None:
    bomb = gzip.compress(b"<html><title>Bomb</title>" + b"\0" * (10 * 1024 * 1024), 9)
    app = web.Application()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    app.router.add_get("/bomb", serve)
    cap = 1024 * 1024
    settings = SETTINGS.replace(max_body_bytes=cap)
    async with serving(app) as base:
        async with Fetcher(settings) as fetcher:
            tracemalloc.start()
            try:
                outcome = await fetcher.fetch(base + "/bomb", hold=True)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert outcome.body is not None and outcome.wire_body is not None
            assert len(outcome.body) == cap and outcome.body_truncated
            assert outcome.body.startswith(b"<html><title>Bomb</title>\0")
            assert len(outcome.wire_body) <= len(bomb)
            assert peak < 4 * cap, peak  # 10 MiB of zeros never held
            assert fetcher.budget.held == cap + len(outcome.wire_body)  # both copies counted
            fetcher.release(outcome)
            assert fetcher.budget.held == 0


async def test_a_corrupt_coding_is_a_connection_error_not_garbage(tmp_path: Path) -> None:
    app = web.Application()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=b"this is not gzip at all", headers={"Content-Type": "text/html",
                                                                       "Content-Encoding": "gzip"})
    app.router.add_get("/bad", serve)
    async with serving(app) as base:
        async with Fetcher(SETTINGS) as fetcher:
            outcome = await fetcher.fetch(base + "/bad")
    assert outcome.error is not None and outcome.error.value == "connection_reset" and outcome.body is None
    assert fetcher.budget.held == 0


def test_archives_written_before_stay_readable(tmp_path: Path) -> None:
    """Records as earlier versions wrote them: the body stored decoded, its coding only noted in
    X-Archive-Orig-Content-Encoding; WARC/1.0 and a WARC-Date to the second, too."""
    path = tmp_path / "20240501000000-oldrun.warc.gz"
    offsets = []
    with open(path, "wb") as fh:
        for version in ("1.0", "1.1"):
            writer = WARCWriter(fh, gzip=True, warc_version=version)
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("X-Archive-Orig-Content-Encoding", "gzip"),
                                               ("X-Archive-Orig-Content-Length", "97"),
                                               ("Content-Length", str(len(PAGE)))], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                f"https://old.example/{version}", "response", payload=io.BytesIO(PAGE), length=len(PAGE),
                http_headers=http, warc_headers_dict={"WARC-Date": "2024-05-01T10:00:00Z",
                                                      "WARC-Payload-Digest": payload_digest(PAGE)})
            offsets.append(fh.tell())
            writer.write_record(record)
    for offset, version in zip(offsets, ("1.0", "1.1"), strict=True):
        capture = read_capture(tmp_path, path.name, offset)
        assert (capture.url, capture.body, capture.date) == (f"https://old.example/{version}", PAGE,
                                                             "2024-05-01T10:00:00Z")
    assert [c.body for c in iter_records(path)] == [PAGE, PAGE]


@asynccontextmanager
async def raw_server(answers: dict[str, bytes]) -> AsyncIterator[str]:
    """A server that answers each path with the bytes given, exactly: aiohttp's own server would
    not send header bytes that are not ASCII. Yields its base URL."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = (await reader.readuntil(b"\r\n\r\n")).split(b" ")[1].decode()
        writer.write(answers.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _page(head: bytes) -> bytes:
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(PAGE) + PAGE


async def test_header_values_in_any_bytes_are_archived_as_sent_and_the_run_goes_on(tmp_path: Path) -> None:
    """A header value with UTF-8 before its first `;`, and one with a byte that is no UTF-8 at all
    (Latin-1, as old servers send): warcio's own percent-encoding fails on both, which stopped the
    run. Each is stored in the bytes it came in, and warcio reads the record back."""
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nX-Title: caf\xc3\xa9 report\r\n"
            b"Content-Disposition: inline; filename=\"r\xe9sum\xe9.html\"\r\n")
    doc = tmp_path / "submission.md"
    async with raw_server({"/pilot": _page(head)}) as base:
        url = f"{base}/pilot"
        doc.write_text(f"See [the pilot]({url}).\n", encoding="utf-8")
        report = await run_check(Config(documents=(doc,), settings=SETTINGS,
                                        references=(Reference(id="pilot", url=url, quote=QUOTE),)),
                                 settings=SETTINGS, state_dir=tmp_path / "state")
    ((result,),) = [report.results]
    assert (str(result.verdict), str(result.reason)) == ("ok", "ok") and result.snapshot is not None
    stored = b"".join(gzip.decompress(p.read_bytes()) for p in (tmp_path / "state" / "archive").glob("*.warc.gz"))
    assert b"\r\nX-Title: caf\xc3\xa9 report\r\n" in stored
    assert b'\r\nContent-Disposition: inline; filename="r\xe9sum\xe9.html"\r\n' in stored
    ((record, raw),) = _records(tmp_path / "state")[url]
    assert raw == PAGE and record.http_headers.get_header("X-Title") == "café report"
    assert read_capture(tmp_path / "state" / "archive", Path(result.snapshot.warc).name, result.snapshot.offset).body == PAGE


async def test_stray_bytes_in_a_location_a_charset_or_a_reason_are_taken_as_browsers_take_them(
        tmp_path: Path) -> None:
    """Header bytes that are not UTF-8 once stopped the run (history could not store the redirect's
    target; the charset lookup raised). A Location's bytes that are not ASCII are percent-encoded,
    as browsers do; an unknown charset label is no label; the run is judged and written whole."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    answers = {
        "/latin1": b"HTTP/1.1 301 Moved\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n",
        "/utf8": b"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
        "/host": b"HTTP/1.1 302 Found\r\nLocation: http://caf\xc3\xa9.site:%d/on-idna\r\nContent-Length: 0\r\n\r\n",
        "/on-idna": _page(ok),
        "/caf%E9": _page(ok), "/caf%C3%A9": _page(ok),
        "/charset": _page(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=\xe9\xe9\r\n"),
        "/reason": _page(b"HTTP/1.1 200 \xc3\x96K \xe9\r\nContent-Type: text/html\r\n"),
        "/cookie": _page(ok + b"Set-Cookie: a=\xe9; Path=/\xe9\r\n"),
    }
    doc = tmp_path / "submission.md"
    async with raw_server(answers) as base:
        port = int(base.rpartition(":")[2])
        answers["/host"] %= port
        paths = ["latin1", "utf8", "host", "charset", "reason", "cookie"]
        doc.write_text("".join(f"See [{p}]({base}/{p}).\n" for p in paths), encoding="utf-8")
        report = await run_check(Config(documents=(doc,), settings=SETTINGS), settings=SETTINGS,
                                 state_dir=tmp_path / "state", resolver=StaticResolver({"xn--caf-dma.site": "127.0.0.1"}))
    got = {r.url.removeprefix(base + "/"): (str(r.verdict), r.final_url) for r in report.results}
    assert got == {"latin1": ("redirected", f"{base}/caf%E9"), "utf8": ("ok", f"{base}/caf%C3%A9"),
                   "host": ("ok", f"http://xn--caf-dma.site:{port}/on-idna"),  # IDNA, as a browser names it
                   "charset": ("ok", f"{base}/charset"), "reason": ("ok", f"{base}/reason"),
                   "cookie": ("ok", f"{base}/cookie")}
    with sqlite3.connect(tmp_path / "state" / "history.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone() == (6,)


async def test_codings_applied_one_after_another_are_removed_and_an_unknown_one_is_unreadable(
        tmp_path: Path) -> None:
    """`Content-Encoding: deflate, gzip` names codings in the order applied: both come off, last
    first, and the quote is found; the bytes as sent are archived. A coding this checker does not
    decode (zstd) leaves bytes that are not the page's text: `error/unreadable`, never `changed`
    for its quote nor `broken` for its fragment."""
    sent = {"/deflate-gzip": gzip.compress(zlib.compress(PAGE)), "/gzip-br": brotlicffi.compress(gzip.compress(PAGE)),
            "/zstd": b"\x28\xb5\x2f\xfd" + bytes(range(64))}
    codings = {"/deflate-gzip": b"deflate, gzip", "/gzip-br": b"gzip, br", "/zstd": b"zstd"}
    answers = {path: b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: " + codings[path] + b"\r\n"
               + b"Content-Length: %d\r\n\r\n" % len(body) + body for path, body in sent.items()}
    answers["/zstd-id"] = answers["/zstd"]
    doc = tmp_path / "submission.md"
    async with raw_server(answers) as base:
        doc.write_text("".join(f"See [{p}]({base}{p}).\n" for p in sent) + f"See [the table]({base}/zstd-id#results).\n",
                       encoding="utf-8")
        refs = tuple(Reference(id=p.strip("/"), url=f"{base}{p}", quote=QUOTE) for p in sent)
        report = await run_check(Config(documents=(doc,), settings=SETTINGS, references=refs), settings=SETTINGS,
                                 state_dir=tmp_path / "state")
    got = {r.url.removeprefix(base): (str(r.verdict), str(r.reason)) for r in report.results}
    assert got == {"/deflate-gzip": ("ok", "ok"), "/gzip-br": ("ok", "ok"), "/zstd": ("error", "unreadable"),
                   "/zstd-id#results": ("error", "unreadable")}  # no element looked for, none said missing
    for zstd in (r for r in report.results if "/zstd" in r.url):
        assert "content coding this checker does not decode (zstd)" in zstd.detail
    records = _records(tmp_path / "state")
    for path in ("/deflate-gzip", "/gzip-br"):
        ((record, raw),) = records[f"{base}{path}"]
        assert raw == sent[path] and record.http_headers.get_header("Content-Encoding") == codings[path].decode()


def test_codings_one_after_another_inflate_no_further_than_the_cap() -> None:
    """A bomb wrapped twice costs what a bomb wrapped once does: each layer gives at most the room left."""
    bomb = gzip.compress(zlib.compress(b"0" * (64 << 20)))
    tracemalloc.start()
    try:
        body, cut = decode(bomb, "deflate, gzip", 1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(body), cut) == (1 << 20, True) and peak < 8 << 20
