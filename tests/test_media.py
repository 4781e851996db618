"""Embedded images and media are citations: extracted where they are written, checked for reachability."""
from __future__ import annotations

import html as html_text
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
from aiohttp import web as aioweb
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.config import Config, Settings
from linkcheck.extract.html import srcset_urls
from linkcheck.pipeline import run_check
from linkcheck.reports import html as report_html
from linkcheck.reports import markdown as report_md
from linkcheck.reports import text as report_text
from tests.conftest import InstantClock
from tests.server import article, html, serving

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "media"
FAST = Settings(timeout=1.0, retries=1, allow_private=True, concurrency=16, per_host=4)
# What a browser fetches to show a page's images and media, enumerated straight from the tree.
_EMBEDDED_XPATH = {
    "image": ["//img/@src", "//video/@poster"],
    "srcset": ["//img/@srcset", "//picture//source/@srcset"],
    "audio": ["//audio/@src", "//audio//source/@src"],  # libxml2 nests a `source` in the one before
    "video": ["//video/@src", "//video//source/@src"],
}


def _independent(path: Path) -> set[tuple[str, str]]:
    """(kind, absolute-or-as-written URL) of every embedded resource, by XPath over the file."""
    root = lxml.html.parse(str(path)).getroot()
    canonical = root.xpath("//link[@rel='canonical']/@href")
    base = canonical[0] if canonical else None

    def resolve(url: str) -> str:
        url = url.strip()
        if base:
            return urljoin(base, url)
        return "https:" + url if url.startswith("//") else url

    found: set[tuple[str, str]] = set()
    for kind, queries in _EMBEDDED_XPATH.items():
        for query in queries:
            for value in root.xpath(query):
                # A srcset is "url descriptor, url descriptor": these fixtures have no comma in a URL.
                urls = ([c.split()[0] for c in value.split(",") if c.strip()] if kind == "srcset" else [value])
                found |= {("image" if kind == "srcset" else kind, resolve(u)) for u in urls
                          if u.strip() and not u.startswith("data:")}
    return found


def _extract_json(path: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["extract", "--json", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, list)
    return data


@pytest.mark.parametrize("name", ["wikipedia-saved.html", "html5-media.html"])
def test_extract_finds_every_image_and_media_url(name: str) -> None:
    path = FIXTURES / name
    items = _extract_json(path)
    embedded = [item for item in items if item.get("embedded")]
    assert {(str(item["kind"]), str(item["url"])) for item in embedded} == _independent(path)
    assert all(item["kind"] in ("image", "audio", "video") for item in embedded)
    # Every citation's line holds its URL (a tag written over several lines: one of its lines).
    lines = html_text.unescape(path.read_text(encoding="utf-8")).splitlines()
    for item in embedded:
        line = item["line"]
        assert isinstance(line, int)
        raw = str(item["url"]).removeprefix("https:").rsplit("/", 1)[-1]
        assert any(raw in text for text in lines[max(0, line - 6):line]), item
    # Links stay links: not marked embedded.
    assert all(not item.get("embedded") for item in items if str(item["url"]).endswith(("/tables", "/Surrey")))


def test_wikipedia_page_thumbnails_srcset_and_media() -> None:
    items = _extract_json(FIXTURES / "wikipedia-saved.html")
    urls = {str(item["url"]) for item in items if item.get("embedded")}
    thumb = "https://upload.wikimedia.org/wikipedia/commons/thumb/0/0e/Common_Kingfisher_Alcedo_atthis.jpg/"
    assert {thumb + f"{w}px-Common_Kingfisher_Alcedo_atthis.jpg" for w in (250, 375, 500)} <= urls
    assert "https://upload.wikimedia.org/wikipedia/commons/5/5b/Alcedo_atthis_-_song.ogg" in urls
    assert "https://upload.wikimedia.org/wikipedia/commons/e/e4/Alcedo_atthis_fishing.webm" in urls
    assert "https://en.wikipedia.org/static/images/footer/wikimedia-button.svg" in urls  # picture > source
    assert not any(u.startswith("//") for u in urls)  # protocol-relative made absolute
    assert not any("timedtext" in u for u in urls)  # subtitle tracks are not media
    assert len(urls) == 32  # 3 logos, 4 thumbnails x 3 densities, 6 gallery, 1 math, 2 audio, 3 video, 4 footer, 1 pixel


def test_html5_page_picture_sources_and_no_inline_data() -> None:
    items = _extract_json(FIXTURES / "html5-media.html")
    embedded = [(item["line"], item["kind"], item["url"]) for item in items if item.get("embedded")]
    assert (22, "image", "https://cdn.figures.org/maps/region-1600.jpg") in embedded  # the tag's last line
    assert (25, "image", "https://cdn.figures.org/plain.webp") in embedded
    assert (29, "image", "https://img.statsoffice.org/wide/graph@2x.avif") in embedded
    assert (31, "image", "images/graph-narrow-hd.jpg") in embedded
    assert (44, "video", "https://media.lectures.org/lecture-3.mp4") in embedded
    assert (42, "image", "https://media.lectures.org/posters/lecture-3.jpg") in embedded
    assert (56, "audio", "https://podcasts.radio.org/episodes/ep-43.mp3") in embedded
    assert not any(str(url).startswith("data:") or "lazy" in str(url) for _, _, url in embedded)
    # The chart's src and its 1x candidate are one resource: cited once.
    assert [url for _, _, url in embedded].count("img/chart-1x.png") == 1


@pytest.mark.parametrize(("srcset", "urls"), [
    ("a.png 1x, b.png 2x", ["a.png", "b.png"]),
    ("  a.png ,b.png   2x  ", ["a.png", "b.png"]),
    ("a.png 400w,\n  b.png 800w", ["a.png", "b.png"]),
    ("a.png,b.png", ["a.png,b.png"]),  # no space after the comma: one URL, as browsers read it
    ("a.png, b.png,", ["a.png", "b.png"]),
    ("x.png (future-compat, 2x), y.png 3x", ["x.png", "y.png"]),
    ("", []),
])
def test_srcset_is_split_as_the_html_standard_says(srcset: str, urls: list[str]) -> None:
    assert srcset_urls(srcset) == urls


# --- checked against a real server -------------------------------------------------------------

class _Media:
    """Images and videos that answer in the ways embedded resources fail."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.app = aioweb.Application(middlewares=[self._record])
        self.app.router.add_route("*", "/img/ok.png", self.png)
        self.app.router.add_route("*", "/img/gone.png", self.gone)
        self.app.router.add_route("*", "/img/moved.png", self.moved)
        self.app.router.add_route("*", "/img/to-home.png", self.to_home)
        self.app.router.add_route("*", "/", self.home)
        self.app.router.add_route("*", "/notfound-page", self.not_found_page)
        self.app.router.add_route("*", "/video/clip.webm", self.gone)
        self.app.router.add_route("*", "/video/clip.mp4", self.mp4)
        self.streamed: dict[str, bool] = {}

    @aioweb.middleware
    async def _record(self, request: aioweb.Request,
                      handler: object) -> aioweb.StreamResponse:
        self.log.append((request.method, request.path))
        return await handler(request)  # type: ignore[operator,no-any-return]

    async def png(self, request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(body=b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")

    async def mp4(self, request: aioweb.Request) -> aioweb.StreamResponse:
        """A large video streamed in pieces: noted when all of it was sent."""
        response = aioweb.StreamResponse(headers={"Content-Type": "video/mp4"})
        await response.prepare(request)
        self.streamed[request.path] = False
        try:
            for _ in range(256):
                await response.write(b"\0" * 65536)
            self.streamed[request.path] = True
        except (ConnectionError, RuntimeError):
            pass
        return response

    async def gone(self, request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(status=404, text="no such file")

    async def moved(self, request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(status=301, headers={"Location": "/img/ok.png"})

    async def to_home(self, request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(status=302, headers={"Location": "/"})

    async def home(self, request: aioweb.Request) -> aioweb.Response:
        return html(article("Welcome"))

    async def not_found_page(self, request: aioweb.Request) -> aioweb.Response:
        return html(article("Page not found"))


@pytest.fixture
async def media() -> AsyncIterator[tuple[_Media, str]]:
    server_app = _Media()
    async with serving(server_app.app) as base:
        yield server_app, base


async def test_embedded_resources_get_status_and_redirect_checks_only(
        media: tuple[_Media, str], tmp_path: Path, clock: InstantClock) -> None:
    server, base = media
    page = tmp_path / "report.html"
    page.write_text(
        "<html><body>\n"
        f'<img src="{base}/img/ok.png" alt="Chart 1">\n'
        f'<img src="{base}/img/gone.png" alt="Chart 2">\n'
        f'<picture><source srcset="{base}/img/moved.png 2x"><img src="{base}/img/to-home.png" alt="Map"></picture>\n'
        f'<img src="{base}/notfound-page" alt="served as a page">\n'
        f'<video controls><source src="{base}/video/clip.webm"><source src="{base}/video/clip.mp4"></video>\n'
        f'<p><a href="{base}/notfound-page">the same page, linked</a></p>\n'
        "</body></html>\n", encoding="utf-8")
    notes = tmp_path / "notes.txt"
    notes.write_text("Questions to mailto:editor@journal.org please.\n", encoding="utf-8")
    config = Config(path=None, documents=(page, notes), settings=FAST)
    report = await run_check(config, settings=FAST, clock=clock, state_dir=tmp_path / "state")
    results = {r.url: r for r in report.results}
    verdicts = {url.removeprefix(base): (str(r.verdict), str(r.reason)) for url, r in results.items()}
    assert verdicts == {
        "/img/ok.png": ("ok", "ok"),
        "/img/gone.png": ("broken", "http_status"),
        "/img/moved.png": ("redirected", "permanent_redirect"),
        "/img/to-home.png": ("ok", "ok"),  # an image behind a temporary redirect is no soft 404
        "/notfound-page": ("broken", "soft_404"),  # linked too: read as a page
        "/video/clip.webm": ("broken", "http_status"),
        "/video/clip.mp4": ("ok", "ok"),
        "mailto:editor@journal.org": ("skipped", "mailto"),
    }
    assert results[base + "/img/gone.png"].citations[0].line == 3
    assert [c.kind for c in results[base + "/notfound-page"].citations] == ["image", ""]
    # Embedded only: the body is not read, so the server never got to send the whole video.
    assert server.streamed.get("/video/clip.mp4") is False
    assert not (tmp_path / "state" / "archive").exists() or not any(
        b"clip.mp4" in warc.read_bytes() for warc in (tmp_path / "state" / "archive").rglob("*.warc*"))


async def test_reports_mark_embedded_citations(media: tuple[_Media, str], tmp_path: Path,
                                               clock: InstantClock) -> None:
    _, base = media
    doc = tmp_path / "doc.md"
    doc.write_text(f"Figure 1:\n\n![Chart of arrivals][fig]\n\nSee [the source]({base}/img/ok.png).\n\n"
                   f"[fig]: {base}/img/gone.png\n", encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=FAST)
    report = await run_check(config, settings=FAST, clock=clock)
    data = report.to_json()
    gone = next(r for r in data["results"] if r["url"] == base + "/img/gone.png")
    assert (gone["verdict"], gone["reason"]) == ("broken", "http_status")
    assert gone["citations"] == [{"document": str(doc), "line": 3, "text": "Chart of arrivals",
                                  "embedded": True, "kind": "image"}]
    linked = next(r for r in data["results"] if r["url"] == base + "/img/ok.png")
    assert linked["citations"][0].keys() == {"document", "line", "text"}
    mark = f"{doc}:3 (embedded image)"
    assert mark in report_text.render(report)
    assert re.search(re.escape(mark.replace("_", "\\_")), report_md.render(report))
    assert mark in report_html.render(report)
