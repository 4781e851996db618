"""A changed source shown as it was cited beside what it says now: report.json, Markdown, HTML and the digest."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.figures import Figure, find_figures, stand_in
from linkcheck.model import Reason, Result, Snapshot, Verdict
from linkcheck.thennow import ThenAndNow, closest_sentence, for_figure, for_quote
from tests.server import serving

BEFORE = ("Modern slavery. An estimated 40 million victims of modern slavery live in the world today. "
          "Our work began in 1997.")
AFTER = ("Modern slavery. An estimated 50 million victims of modern slavery live in the world today. "
         "Our work began in 1997.")


def test_a_lost_figure_is_shown_in_its_sentence_then_and_in_the_sentence_of_the_number_now() -> None:
    claim = Figure("40 million", Decimal(40_000_000))
    now = stand_in(claim, BEFORE, AFTER)
    assert now is not None and now.text == "50 million"
    shown = for_figure(claim, BEFORE, AFTER, now)
    assert shown == ThenAndNow("An estimated 40 million victims of modern slavery live in the world today.",
                               "An estimated 50 million victims of modern slavery live in the world today.")
    # With no number in its place, today's sentence most like the cited one.
    gone = for_figure(claim, BEFORE, "Modern slavery. Victims of modern slavery live in every country.", None)
    assert gone is not None and gone.now == "Victims of modern slavery live in every country."
    # A figure the earlier text does not hold has no sentence to show.
    assert for_figure(Figure("7 million", Decimal(7_000_000)), BEFORE, AFTER, None) is None


def test_a_missing_quote_is_shown_beside_the_closest_sentence_now() -> None:
    shown = for_quote("77 per cent of businesses see a risk", "Intro. 60 per cent of businesses see a risk. Bye.")
    assert (shown.then, shown.now) == ("77 per cent of businesses see a risk", "60 per cent of businesses see a risk.")
    assert closest_sentence("nothing shared", "Entirely other words here.") is None


def test_a_sentence_of_a_page_without_full_stops_is_cut_around_the_figure() -> None:
    text = "word " * 400 + "there are 40 million victims " + "word " * 400
    claim = next(f for f in find_figures(text) if f.text == "40 million")
    shown = for_figure(claim, text, "", None)
    assert shown is not None
    assert "40 million victims" in shown.then and shown.then.startswith("…") and shown.then.endswith("…")
    assert len(shown.then) <= 302 and shown.now is None


def test_then_and_now_survive_report_json_and_mask_credentials() -> None:
    shown = ThenAndNow("then 40 million.", "now 50 million.", "2020-10-12T00:00:00Z",
                       "https://archive.test/web/2020/https://u:secret@site.test/p?token=abc",
                       Snapshot("archive/a.warc.gz", "ab" * 32, 120, "2020-10-12T00:00:00Z"))
    result = Result("https://site.test/p", Verdict.CHANGED, Reason.FIGURE_MISSING, "d", then_now=shown)
    data = json.loads(json.dumps(result.to_json()))
    assert "secret" not in json.dumps(data) and "abc" not in json.dumps(data)
    assert data["then_and_now"]["then"] == "then 40 million."
    back = Result.from_json(data)
    assert back.then_now is not None and back.then_now.snapshot == shown.snapshot
    assert (back.then_now.then, back.then_now.now, back.then_now.then_time) == (shown.then, shown.now, shown.then_time)
    assert back.then_now.when_cited == "when cited (archived 2020-10-12)"


class Source:
    """Two pages that say one thing, then another: a figure revised, a sentence reworded."""

    def __init__(self) -> None:
        self.phase = 1
        self.app = web.Application()
        self.app.router.add_get("/{name}", self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        if request.match_info["name"] == "victims":
            count = "50 million" if self.phase == 2 else "40 million"
            text = f"An estimated {count} victims of modern slavery live in the world today."
        else:
            share = "60 per cent" if self.phase == 2 else "77 per cent"
            text = f"{share} of British businesses see modern slavery in their supply chains."
        page = (f"<!doctype html><html><head><title>Evidence</title></head><body><main><h1>Evidence</h1>"
                f"<p>{text}</p><p>The register was first published in 1997 with 3 offices.</p></main></body></html>")
        return web.Response(text=page, content_type="text/html")


@pytest.fixture
async def source() -> AsyncIterator[tuple[Source, str]]:
    site = Source()
    async with serving(site.app) as base:
        yield site, base


def _project(tmp_path: Path, base: str) -> Path:
    (tmp_path / "paper.md").write_text(
        f"An estimated [40 million victims]({base}/victims) live in slavery.\n\n"
        f"Most firms see a risk ([Business survey]({base}/survey)).\n", encoding="utf-8")
    register = tmp_path / "references.yaml"
    register.write_text(
        "version: 1\ndocuments: [paper.md]\nsettings:\n  allow_private: true\n  timeout: 2\n  retries: 0\n"
        "references:\n"
        f"  - id: survey\n    url: {base}/survey\n    quote: 77 per cent of British businesses see modern slavery\n",
        encoding="utf-8")
    return register


def _cli(tmp_path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--references", str(tmp_path / "references.yaml"),
                                       "--state-dir", str(tmp_path / "state"), "--report-dir",
                                       str(tmp_path / "reports")])
    assert result.exit_code in (0, 1), result.output
    return result.output


async def test_a_changed_source_is_shown_then_and_now_in_every_report_and_the_digest(
        source: tuple[Source, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, base = source
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, base)
    await asyncio.to_thread(_cli, tmp_path, "check", "--format", "json")
    site.phase = 2
    await asyncio.to_thread(_cli, tmp_path, "check", "--format", "json,markdown,html")

    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    by_url = {r["url"].rsplit("/", 1)[-1]: r for r in report["results"]}
    victims, survey = by_url["victims"], by_url["survey"]
    assert (victims["verdict"], victims["reason"]) == ("changed", "figure_missing")
    shown = victims["then_and_now"]
    assert shown["then"] == "An estimated 40 million victims of modern slavery live in the world today."
    assert shown["now"] == "An estimated 50 million victims of modern slavery live in the world today."
    assert shown["then_time"] and shown["snapshot"]["warc"].endswith(".warc.gz")
    assert (survey["verdict"], survey["reason"]) == ("changed", "quote_missing")
    assert survey["then_and_now"]["then"] == "77 per cent of British businesses see modern slavery"
    assert survey["then_and_now"]["now"] == "60 per cent of British businesses see modern slavery in their supply chains."

    md = (tmp_path / "reports" / "report.md").read_text(encoding="utf-8")
    section = md[md.index("## What the sources said when cited, and say now"):]
    assert "“An estimated 40 million victims of modern slavery live in the world today.”" in section
    assert "| now | “An estimated 50 million victims" in section
    assert "our snapshot: " in section and "when cited (our snapshot of " in section

    html = (tmp_path / "reports" / "report.html").read_text(encoding="utf-8")
    assert 'class="thennow"' in html and "“60 per cent of British businesses" in html

    (tmp_path / "reports" / "email").mkdir()
    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "email", "--dry-run", "--to", "team@example.org", "--references", str(tmp_path / "references.yaml"),
        "--state-dir", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports" / "email")])
    assert result.exit_code == 0, result.output
    eml = next((tmp_path / "reports" / "email").glob("email-*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    plain, rich = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and rich is not None
    text = plain.get_content()
    assert "when cited (our snapshot of " in text
    assert "now: “An estimated 50 million victims of modern slavery live in the world today.”" in text
    assert "“77 per cent of British businesses see modern slavery”" in text
    assert "nothing like it" not in text
    assert "“An estimated 40 million victims" in rich.get_content()
