"""Baselines from when a source was cited: a real TimeGate and memento server speaking RFC 7089 on
loopback, beside the source's own server, and the WARC read back with warcio."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from warcio.archiveiterator import ArchiveIterator

from linkcheck.config import Config, Settings, load_config
from linkcheck.errors import InputError
from linkcheck.memento import human, links, raw
from linkcheck.model import Reason, Reference, Result, Verdict
from linkcheck.pipeline import run_check
from tests.growth import growth_ratio
from tests.server import serving

OCTOBER = "20201011093000"  # the capture nearest the citation date of 2020-10-12
OCTOBER_HTTP = "Sun, 11 Oct 2020 09:30:00 GMT"
SEPTEMBER, SEPTEMBER_HTTP = "20200901080000", "Tue, 01 Sep 2020 08:00:00 GMT"
MARCH, MARCH_HTTP = "20210301000000", "Mon, 01 Mar 2021 00:00:00 GMT"


def _page(body: str) -> str:
    return (f"<!doctype html><html><head><title>Modern slavery</title></head><body><nav>Home | About</nav>"
            f"<main><h1>Modern slavery</h1><p>{body}</p><p>Our work began in 1997 with 3 offices.</p></main>"
            "</body></html>")


VICTIMS_THEN = _page("An estimated 40 million victims of modern slavery live in the world today.")
VICTIMS_NOW = _page("An estimated 50 million victims of modern slavery live in the world today.")
STEADY = _page("77 per cent of British businesses think there is modern slavery in their supply chains.")


class Source:
    """The cited site as it is today."""

    def __init__(self) -> None:
        self.app = aioweb.Application()
        self.app.router.add_get("/{name}", self.serve)

    async def serve(self, request: aioweb.Request) -> aioweb.Response:
        name = request.match_info["name"]
        if name == "victims":
            return aioweb.Response(text=VICTIMS_NOW, content_type="text/html")
        if name == "steady":
            return aioweb.Response(text=STEADY, content_type="text/html")
        return aioweb.Response(text="gone", status=404)


class Archive:
    """A Wayback-style web archive: TimeGates at /web/ (and /hang/, which never answers), mementos
    at /web/{14 digits}{modifier}/{URI-R}, rewritten unless the modifier is `id_`."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []  # (URI-R, Accept-Datetime) of each TimeGate request
        self.served: list[str] = []             # memento paths fetched
        self.app = aioweb.Application()
        self.app.router.add_get(r"/web/{stamp:\d{14}}{mod:(?:[a-z]{2}_)?}/{url:.*}", self.memento)
        self.app.router.add_get("/web/{url:.*}", self.timegate)
        self.app.router.add_get("/none/{url:.*}", self.no_capture)
        self.app.router.add_get("/hang/{url:.*}", self.hang)

    def _uri(self, request: aioweb.Request, stamp: str, url: str) -> str:
        return f"{request.url.origin()}/web/{stamp}/{url}"

    async def timegate(self, request: aioweb.Request) -> aioweb.Response:
        url = request.match_info["url"]
        self.asked.append((url, request.headers.get("Accept-Datetime", "")))
        wanted = parsedate_to_datetime(request.headers["Accept-Datetime"])
        origin = request.url.origin()
        if url.endswith("/gone"):
            # Closest is after the date; the answer names the previous one, before it.
            closest, stamps = MARCH, [(SEPTEMBER, SEPTEMBER_HTTP, "first prev memento"),
                                      (MARCH, MARCH_HTTP, "memento last")]
        else:
            closest = OCTOBER if wanted.year == 2020 else MARCH
            stamps = [(OCTOBER, OCTOBER_HTTP, "memento first last")]
        link = ", ".join([f'<{url}>; rel="original"',
                          f'<{origin}/web/timemap/link/{url}>; rel="timemap"; type="application/link-format"']
                         + [f'<{self._uri(request, s, url)}>; rel="{rel}"; datetime="{d}"' for s, d, rel in stamps])
        return aioweb.Response(status=302, text="Found", headers={
            "Location": self._uri(request, closest, url), "Vary": "accept-datetime", "Link": link})

    async def memento(self, request: aioweb.Request) -> aioweb.Response:
        stamp, mod, url = request.match_info["stamp"], request.match_info["mod"], request.match_info["url"]
        self.served.append(f"{stamp}{mod}/{url}")
        body = VICTIMS_THEN if url.endswith("/victims") else STEADY if url.endswith("/steady") else _page("Gone.")
        if mod != "id_":  # replay rewrites the page: a banner with another number in it
            body = body.replace("<body>", "<body><div id='wm-banner'>99 captures of this page</div>")
        when = {OCTOBER: OCTOBER_HTTP, SEPTEMBER: SEPTEMBER_HTTP, MARCH: MARCH_HTTP}[stamp]
        return aioweb.Response(text=body, content_type="text/html", headers={
            "Memento-Datetime": when, "Link": f'<{url}>; rel="original"'})

    async def no_capture(self, request: aioweb.Request) -> aioweb.Response:
        self.asked.append((request.match_info["url"], request.headers.get("Accept-Datetime", "")))
        return aioweb.Response(status=404, text="not in the archive")

    async def hang(self, request: aioweb.Request) -> aioweb.Response:
        self.asked.append((request.match_info["url"], request.headers.get("Accept-Datetime", "")))
        await asyncio.sleep(60)
        return aioweb.Response(status=404)


@pytest.fixture
async def sites() -> AsyncIterator[tuple[Archive, str, str]]:
    archive = Archive()
    async with serving(Source().app) as source, serving(archive.app) as archived:
        yield archive, source, archived


def _config(source: str, names: tuple[str, ...] = ("victims", "steady")) -> Config:
    return Config(references=tuple(Reference(name, f"{source}/{name}", cited_as="40 million victims"
                                             if name == "victims" else "77% of British businesses",
                                             accessed="2020-10-12") for name in names))


def _document(tmp_path: Path, source: str) -> Path:
    doc = tmp_path / "paper.md"
    doc.write_text(f"There are [40 million victims]({source}/victims) around the world.\n\n"
                   f"[77% of British businesses]({source}/steady) see a risk in their supply chains.\n",
                   encoding="utf-8")
    return doc


async def _check(tmp_path: Path, source: str, timegates: tuple[str, ...], state: str = "state",
                 **settings: object) -> dict[str, Result]:
    config = _config(source)
    chosen = Settings(timeout=2.0, retries=0, allow_private=True, memento_timegates=timegates).replace(**settings)
    report = await run_check(config, [_document(tmp_path, source)], settings=chosen, state_dir=tmp_path / state)
    return {r.url.rsplit("/", 1)[-1]: r for r in report.results}


def _records(state: Path) -> list[dict[str, str]]:
    out = []
    for warc in sorted((state / "archive").glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    out.append({**dict(record.rec_headers.headers), "body": record.content_stream().read().decode()})
    return out


async def test_a_figure_revised_since_the_memento_is_figure_missing_on_the_first_run(
        sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    archive, source, archived = sites
    results = await _check(tmp_path, source, (f"{archived}/web/",))
    victims = results["victims"]
    assert (victims.verdict, victims.reason) == (Verdict.CHANGED, Reason.FIGURE_MISSING)
    assert "40 million → 50 million" in victims.detail and "2020-10-11T09:30:00Z" in victims.detail
    memento = f"{archived}/web/{OCTOBER}/{source}/victims"
    assert victims.baseline_note is not None and memento in victims.baseline_note
    assert "2020-10-12" in victims.baseline_note and victims.to_json()["notes"] == [victims.baseline_note]
    # What it said when cited is shown from the memento, linked to it and to our copy of it.
    shown = victims.then_now
    assert shown is not None and "40 million" in shown.then and shown.now is not None and "50 million" in shown.now
    assert (shown.then_time, shown.memento_url) == ("2020-10-11T09:30:00Z", memento)
    assert shown.snapshot is not None and shown.snapshot.time == "2020-10-11T09:30:00Z"
    # RFC 7089: the date cited, as an HTTP-date, and the raw bytes of the memento (`id_`), not the replay.
    assert (f"{source}/victims", "Mon, 12 Oct 2020 23:59:59 GMT") in archive.asked
    assert f"{OCTOBER}id_/{source}/victims" in archive.served
    assert not any(path.startswith(f"{OCTOBER}/") for path in archive.served)
    # The memento is kept as a capture of the source itself, dated when the archive took it.
    kept = [r for r in _records(tmp_path / "state") if r.get("WARC-Source-URI")]
    assert {r["WARC-Target-URI"] for r in kept} == {f"{source}/victims", f"{source}/steady"}
    then = next(r for r in kept if r["WARC-Target-URI"] == f"{source}/victims")
    assert then["WARC-Date"] == "2020-10-11T09:30:00Z"
    assert then["WARC-Source-URI"] == f"{archived}/web/{OCTOBER}id_/{source}/victims"
    assert "40 million victims" in then["body"] and "wm-banner" not in then["body"]
    assert then["WARC-Creation-Date"] > "2024"


async def test_a_page_unchanged_since_its_memento_is_ok(sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    _, source, archived = sites
    steady = (await _check(tmp_path, source, (f"{archived}/web/",)))["steady"]
    assert (steady.verdict, steady.reason) == (Verdict.OK, Reason.OK)
    assert steady.figures_found == ("77%",) and steady.figures_lost == ()
    assert steady.baseline_note is not None and "2020-10-11T09:30:00Z" in steady.baseline_note


async def test_each_source_is_looked_up_once(sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    archive, source, archived = sites
    await _check(tmp_path, source, (f"{archived}/none/", f"{archived}/web/"))
    asked = len(archive.asked)
    assert asked == 4  # two sources, each asked of the archive without it, then of the one with it
    again = await _check(tmp_path, source, (f"{archived}/none/", f"{archived}/web/"))
    assert len(archive.asked) == asked
    # The memento stays the baseline: the revised figure is still judged against it.
    victims = again["victims"]
    assert (victims.verdict, victims.reason) == (Verdict.CHANGED, Reason.FIGURE_MISSING)
    assert "2020-10-11T09:30:00Z" in victims.detail and victims.baseline_note is None
    assert victims.then_now is not None and victims.then_now.memento_url == f"{archived}/web/{OCTOBER}/{source}/victims"


async def test_an_archive_without_a_capture_changes_no_verdict_and_is_not_asked_again(
        sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    archive, source, archived = sites
    results = await _check(tmp_path, source, (f"{archived}/none/",))
    victims = results["victims"]
    assert (victims.verdict, victims.reason) == (Verdict.OK, Reason.OK)
    assert victims.figures_not_found == ("40 million",)
    assert victims.baseline_note is not None and "no archived capture" in victims.baseline_note
    asked = len(archive.asked)
    await _check(tmp_path, source, (f"{archived}/none/",))
    assert len(archive.asked) == asked


async def test_a_timegate_that_hangs_changes_no_verdict_within_the_deadline(
        sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    archive, source, archived = sites
    without = await _check(tmp_path, source, (), state="without")
    started = time.monotonic()
    hanging = await _check(tmp_path, source, (f"{archived}/hang/",), memento_deadline=1.0)
    assert time.monotonic() - started < 4.0
    assert archive.asked, "the hanging TimeGate was asked"
    for name in ("victims", "steady"):
        assert (hanging[name].verdict, hanging[name].reason, hanging[name].detail) == (
            without[name].verdict, without[name].reason, without[name].detail)
        assert without[name].baseline_note is None
        note = hanging[name].baseline_note
        assert note is not None and note.startswith("not compared with an archived capture")


async def test_a_broken_source_points_to_the_memento_before_the_citation(
        sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    _, source, archived = sites
    config = Config(references=(Reference("gone", f"{source}/gone", accessed="2020-10-12"),))
    settings = Settings(timeout=2.0, retries=0, allow_private=True, memento_timegates=(f"{archived}/web/",))
    for _ in range(2):  # found by the lookup, then remembered
        report = await run_check(config, settings=settings, state_dir=tmp_path / "state")
        (gone,) = report.results
        assert gone.verdict is Verdict.BROKEN
        assert gone.archived_url == f"{archived}/web/{SEPTEMBER}/{source}/gone"


def test_link_headers_and_memento_addresses() -> None:
    header = ('<http://a.example/>; rel="original", <https://w.example/web/timemap/link/http://a.example/>; '
              'rel="timemap"; type="application/link-format", '
              '<https://w.example/web/20201011093000/http://a.example/>; rel="memento first"; '
              'datetime="Sun, 11 Oct 2020 09:30:00 GMT"')
    parsed = links(header)
    assert [uri for uri, _ in parsed] == ["http://a.example/", "https://w.example/web/timemap/link/http://a.example/",
                                          "https://w.example/web/20201011093000/http://a.example/"]
    assert parsed[2][1] == {"rel": "memento first", "datetime": "Sun, 11 Oct 2020 09:30:00 GMT"}
    assert raw("https://w.example/web/20201011093000/http://a.example/x") == (
        "https://w.example/web/20201011093000id_/http://a.example/x")
    assert raw("https://w.example/web/20201011093000im_/http://a.example/x") == (
        "https://w.example/web/20201011093000id_/http://a.example/x")
    assert human("https://w.example/web/20201011093000id_/http://a.example/x") == (
        "https://w.example/web/20201011093000/http://a.example/x")
    assert raw("https://archive.example/memento/abc") == "https://archive.example/memento/abc"


@pytest.mark.parametrize("make", [
    pytest.param(lambda n: "<" * (4 * n), id="open-brackets"),
    pytest.param(lambda n: '<https://w.example/a>; rel="memento", ' + "<x" * n, id="links-never-closed"),
])
def test_a_link_header_is_read_in_linear_time(make: Callable[[int], str]) -> None:
    """A Wayback answer's Link header may run to 64 KiB: one of `<` alone took 18 s to read."""
    assert growth_ratio(links, make) < 8


def test_a_link_whose_address_holds_a_bracket_is_read_from_the_bracket_on() -> None:
    assert [uri for uri, _ in links('<a<https://w.example/a>; rel="memento"')] == ["https://w.example/a"]


async def test_a_private_host_is_never_named_to_an_archive(sites: tuple[Archive, str, str], tmp_path: Path) -> None:
    archive, source, archived = sites
    results = await _check(tmp_path, source, (f"{archived}/web/",), private_hosts=(r"^127\.0\.0\.1$",))
    assert archive.asked == []
    assert results["victims"].verdict is Verdict.OK and results["victims"].baseline_note is None


def test_the_timegates_and_their_deadline_are_settings(tmp_path: Path) -> None:
    register = tmp_path / "references.yaml"
    register.write_text("version: 1\nsettings:\n  memento_timegates: [https://archive.example/tg/]\n"
                        "  memento_deadline: 5\n", encoding="utf-8")
    settings = load_config(register).settings
    assert (settings.memento_timegates, settings.memento_deadline) == (("https://archive.example/tg/",), 5)
    assert Settings().memento_timegates[0] == "https://web.archive.org/web/"
    register.write_text("version: 1\nsettings:\n  memento_timegates: [ftp://archive.example/]\n", encoding="utf-8")
    with pytest.raises(InputError, match="references.yaml:3"):
        load_config(register)
