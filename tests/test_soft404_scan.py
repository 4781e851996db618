"""The scan that spares most pages a parse: it never passes over a title or heading that says "not
found", and the run still finds every soft 404 and sign-in wall it found by parsing each page."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck import evidence, reading
from linkcheck.config import Config, Settings
from linkcheck.encoding import charset_param, decode_html
from linkcheck.model import Result
from linkcheck.pipeline import run_check
from tests.conftest import InstantClock
from tests.growth import growth_ratio
from tests.server import article, serving

SETTINGS = Settings(timeout=2.0, retries=0, allow_private=True, concurrency=8, per_host=4)

# Pages whose title or a top heading says the page is gone, however the source spells it.
GONE = {
    "title": b"<html><head><title>Page Not Found</title></head><body><p>x</p></body></html>",
    "heading-with-attributes": b'<html><body><H2 class="err">Sorry, we could not locate it</H2></body></html>',
    "digits-split-by-tags": b"<html><body><h1><span>4</span><span>0</span><span>4</span></h1></body></html>",
    "word-split-by-a-tag": b"<html><body><h1>Not fo<b>und</b></h1></body></html>",
    "numeric-reference": b"<html><body><h1>Page not f&#111;und</h1></body></html>",
    "title-never-closed": b"<html><head><title>Error 404 - missing",
    "heading-never-closed": b"<html><body><h1>This page no longer exists<p>Try the search.</p></body></html>",
    "long-s": "<html><body><h1>The page does not exiſt</h1></body></html>".encode(),
    "kelvin-sign": "<html><body><h2>The page you are looKing for</h2></body></html>".encode(),
    "turkish-i-windows-1254": ('<html><head><meta charset="windows-1254"></head><body><h1>We could not fİnd it</h1>'
                               "</body></html>").encode("windows-1254"),
    "utf-16-with-bom": "<html><body><h1>Nothing found</h1></body></html>".encode("utf-16"),
    "svg-title": b"<html><body><svg><title>404 error</title></svg><p>x</p></body></html>",
}
# Pages that say "not found" only where the soft-404 check never looks.
FINE = {
    "article": article("Labour force brief", "Employment rose by 2 percent.").encode(),
    "404-in-paragraph": article("Status codes", "Servers answer 404 when a page is not found.").encode(),
    "words-in-a-link": b'<html><head><title>Survey</title></head><body><h1>Survey</h1>'
                       b'<a href="/search">Find more</a><p>It does not exist elsewhere.</p></body></html>',
}


@pytest.mark.parametrize("name", GONE)
def test_every_page_a_parse_finds_gone_is_scanned_as_maybe_gone(name: str) -> None:
    body = GONE[name]
    page = evidence.parse_page(body, "text/html", anchors=False)
    assert page is not None and evidence.soft_404_phrase(page) is not None  # the parse itself finds it
    assert evidence.may_say_not_found(body, "text/html")


@pytest.mark.parametrize("name", FINE)
def test_pages_whose_headings_say_nothing_of_the_kind_need_no_parse(name: str) -> None:
    body = FINE[name]
    page = evidence.parse_page(body, "text/html", anchors=False)
    assert page is not None and evidence.soft_404_phrase(page) is None
    assert not evidence.may_say_not_found(body, "text/html")


def test_a_charset_from_the_header_is_the_one_scanned() -> None:
    body = "<html><body><h1>Nothing found</h1></body></html>".encode("utf-16-le")  # no BOM: only the header says
    assert evidence.may_say_not_found(body, "text/html; charset=utf-16le")


def _start_tag_end(text: str, at: int) -> int | None:
    """Where the start tag whose rest begins at `at` ends, walking its characters; None if never."""
    quote = None
    for i in range(at, len(text)):
        if quote is not None:
            quote = None if text[i] == quote else quote
        elif text[i] in "\"'":
            quote = text[i]
        elif text[i] == ">":
            return i + 1
    return None


def _regions_walked(text: str, name: str) -> list[tuple[int, int]]:
    """The outermost regions of `name` in `text`, walking it a character at a time: a start tag
    opens one more, an end tag closes one, any other tag (`<` then a letter, `/`, `!` or `?`) is
    skipped to its `>`."""
    regions: list[tuple[int, int]] = []
    depth = start = at = 0

    def stands_at(tag: str) -> bool:
        after = at + len(tag)
        return text.startswith(tag, at) and text[after:after + 1] in ("", " ", "\t", "\n", "\r", "\f", "/", ">")

    while at < len(text):
        if stands_at("<" + name) or stands_at("</" + name):
            closing = text[at + 1] == "/"
            if not closing:
                start, depth = (at + 1 + len(name), 1) if depth == 0 else (start, depth + 1)
            elif depth:
                depth -= 1
                if depth == 0:
                    regions.append((start, at))
            rest = _start_tag_end(text, at + 1 + closing + len(name))
            if rest is None:
                break
            at = rest
        elif text[at] == "<" and re.match(r"[a-z/!?]", text[at + 1:at + 2]):
            closed = text.find(">", at)
            at = closed + 1 if closed >= 0 else len(text)
        else:
            at += 1
    return regions + [(start, len(text))] if depth else regions


def _whole_page_lowered(body: bytes, content_type: str) -> bool:
    """The scan read the simple way: the whole page lower-cased, each title's and top heading's
    region walked out of it, its words read with tags and as written."""
    text = decode_html(body, charset_param(content_type)).replace("\u0130", "i").lower()
    for name in ("title", "h1", "h2"):
        for start, end in _regions_walked(text, name):
            region = text[start:end]
            words = re.sub(r"<[^>]*>", "", region).translate(evidence._AS_ASCII)
            if (evidence._LETTER_REFERENCE.search(region) or evidence._NOT_FOUND_WORD.search(words)
                    or evidence._NOT_FOUND_WORD.search(region.translate(evidence._AS_ASCII))):
                return True
    return False


# Pieces of pages: tags in any case and their near misses, words a not-found phrase holds, letters
# whose case changes their length or makes them ASCII, references, and plain text.
_PIECES = ["<title>", "<TITLE ", "<Title/", "<title", "<titles>", "</title>", "</TITLE>", "<h1>", "<H1 ", "<h2>",
           "<H2\n", "<h2\f", "<title\t", "<h1\r", "<h3>", "<h10>", "</h1>", "</H2>", "<b>", "</b>", ">", "<", "404", "not ", "fo", "und", "exi",
           "\u017ft", "\u0130", "\u0131", "\u212a", "\u03a3", "&#111;", "&fjlig;", "Not Found", "x", " ", "é", "証",
           "\"", "'", " a=\""]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=10).map("".join),
       st.sampled_from(["utf-8", "windows-1254", "utf-16le"]))
@example("<h1>Se\u0130zed</h1><title>4<b>0</b>4", "utf-8")
@example("<TİTLE>missing", "windows-1254")
@example("<h2\fNot found", "utf-8")
@example("<title\t404", "utf-16le")
@example("<H1>Survey</h1><p>404 not found", "utf-8")
def test_the_scan_reads_each_region_as_the_whole_page_lowered_would(page: str, charset: str) -> None:
    body = page.encode(charset, errors="replace")
    content_type = f"text/html; charset={charset}"
    assert evidence.may_say_not_found(body, content_type) == _whole_page_lowered(body, content_type)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
@example("<h1>a<h1>Not Found</h1>")
@example("<title>x<TITLE>404</title>")
@example("<h2><H2\nNot Found<title>")
@example("<title><TITLE Not Found<title>")  # a title's text is read as written, tags and all
@example("<H2\n</H2>Not Found")  # an end tag inside the start tag closes nothing
@example('<h1 title="a></h1>">Not Found</h1>')
@example("<h2><title</H2>404")  # the parser reads an element `title<` with an attribute `h2`
@example("<h2><h2></H2>404")  # the end tag closes the inner heading: 404 is the outer one's
@example("<<title>Not Found")  # a `<` before a `<` is text
def test_the_scan_never_passes_over_what_the_parse_finds_gone(page: str) -> None:
    body = page.encode("utf-8")
    parsed = evidence.parse_page(body, "text/html", anchors=False)
    if parsed is not None and evidence.soft_404_phrase(parsed) is not None:
        assert evidence.may_say_not_found(body, "text/html")


@pytest.mark.parametrize("make", [
    pytest.param(lambda n: b"<h1>" * n, id="start-tags-never-closed"),
    pytest.param(lambda n: b"<title>" + b"<" * (4 * n), id="a-title-of-unclosed-tags"),
    pytest.param(lambda n: b"<h2>" + b"<a " * n, id="a-heading-of-unclosed-attributes"),
    pytest.param(lambda n: b"<h1>x</h1>" * n, id="headings-closed"),
    pytest.param(lambda n: b"<title>" * n + b"</title>" * n, id="nested-and-closed"),
])
def test_the_scan_grows_linearly_on_pages_written_to_stall_it(make: Callable[[int], bytes]) -> None:
    """The scan runs on the loop: a page of 64 KB of unclosed `<h1>` held it for 15 s when each
    start tag's region was read to the end of the page, and one of `<` for 5 s."""
    assert growth_ratio(lambda body: evidence.may_say_not_found(body, "text/html"), make) < 8


def test_a_page_of_very_many_headings_is_left_to_the_parse() -> None:
    """Each tag costs the loop a step of Python: past so many, the parse decides."""
    most = b"".join(b"<h2>Section %d</h2>" % i for i in range(evidence._MOST_TAGS // 2))
    assert not evidence.may_say_not_found(b"<html><body>" + most + b"</body></html>", "text/html")
    assert evidence.may_say_not_found(b"<html><body>" + most + b"<h2>One more</h2></body></html>", "text/html")


def _app() -> web.Application:
    app = web.Application()

    def page(body: bytes) -> web.Response:
        return web.Response(body=body, content_type="text/html")

    async def gone(request: web.Request) -> web.Response:
        return page(GONE[request.match_info["name"]])

    async def fine(request: web.Request) -> web.Response:
        return page(FINE[request.match_info["name"]])

    async def to_login(request: web.Request) -> web.Response:
        raise web.HTTPFound("/welcome")

    async def welcome(request: web.Request) -> web.Response:  # an address that says nothing of a sign-in
        return page(b"<html><head><title>Welcome</title></head><body><h1>Welcome back</h1><form>"
                    b'<input name="user"><input type="password" name="pw"></form></body></html>')

    app.router.add_get("/gone/{name}", gone)
    app.router.add_get("/fine/{name}", fine)
    app.router.add_get("/members/report", to_login)
    app.router.add_get("/welcome", welcome)
    return app


async def _check(tmp_path: Path, urls: list[str], archive: bool) -> dict[str, Result]:
    doc = tmp_path / "doc.md"
    doc.write_text("".join(f"[source {i}]({url})\n" for i, url in enumerate(urls)), encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=SETTINGS)
    report = await run_check(config, settings=SETTINGS, clock=InstantClock(), archive=archive,
                             state_dir=tmp_path / "state")
    return {r.url: r for r in report.results}


@pytest.mark.parametrize("archive", [False, True], ids=["sniffed", "archived"])
async def test_a_run_finds_every_soft_404_and_the_sign_in_form_behind_a_redirect(tmp_path: Path,
                                                                                 archive: bool) -> None:
    async with serving(_app()) as base:
        gone = [f"{base}/gone/{name}" for name in GONE]
        fine = [f"{base}/fine/{name}" for name in FINE]
        results = await _check(tmp_path, [*gone, *fine, f"{base}/members/report"], archive)
    assert {url: (str(results[url].verdict), str(results[url].reason)) for url in gone} == {
        url: ("broken", "soft_404") for url in gone}
    assert {url: str(results[url].verdict) for url in fine} == {url: "ok" for url in fine}
    walled = results[f"{base}/members/report"]
    assert (str(walled.verdict), str(walled.reason)) == ("blocked", "auth_required")


def _long_article(heading: str) -> bytes:
    """A page of about 100 KB, over what the loop parses, under what it scans."""
    paragraphs = "".join(f"<p id='p{i}'>Paragraph {i} of the findings, with its figures and sources.</p>"
                         for i in range(1600))
    return f"<html><head><title>Annual review</title></head><body><h1>{heading}</h1>{paragraphs}</body></html>".encode()


async def test_a_large_page_that_cannot_say_not_found_needs_no_worker(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {"fine": _long_article("Annual review 2024"), "gone": _long_article("Sorry, this page was not found")}
    assert all(reading.INLINE_BYTES < len(body) <= reading.SCAN_BYTES for body in pages.values())
    handed: list[str] = []
    submit = reading._POOL.submit

    async def counted(executor: object, request: reading.Request) -> object:
        handed.append(request.outcome.url if request.outcome is not None else "")
        return await submit(executor, request)  # type: ignore[arg-type]

    monkeypatch.setattr(reading._POOL, "submit", counted)
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=pages[request.match_info["name"]], content_type="text/html")

    app.router.add_get("/{name}", page)
    async with serving(app) as base:
        results = await _check(tmp_path, [f"{base}/fine", f"{base}/gone"], archive=False)
    assert (str(results[f"{base}/fine"].verdict), str(results[f"{base}/gone"].verdict)) == ("ok", "broken")
    assert str(results[f"{base}/gone"].reason) == "soft_404"
    assert handed == [f"{base}/gone"]  # only the page that may say it is gone went to a worker
