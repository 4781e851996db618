"""Figures over time: a cited number looked for on its source, run after run, on a live local web."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web as aioweb
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.config import Config, Settings, load_config
from linkcheck.model import Reason, RunReport, Verdict
from linkcheck.pipeline import run_check
from linkcheck.reports import markdown, text
from tests.server import serving

SETTINGS = Settings(timeout=2.0, retries=0, allow_private=True)


def _page(body: str) -> str:
    return (f"<!doctype html><html><head><title>Modern slavery</title></head><body><nav>Home | About</nav>"
            f"<main><h1>Modern slavery</h1><p>{body}</p><p>Our work began in 1997 with 3 offices.</p></main>"
            "</body></html>")


class FigureWeb:
    """Sources in two phases: what was cited, and what the same URLs say later."""

    def __init__(self) -> None:
        self.phase = 1
        self.log: list[str] = []
        self.app = aioweb.Application()
        self.app.router.add_get("/{name}", self.serve)

    async def serve(self, request: aioweb.Request) -> aioweb.Response:
        name = request.match_info["name"]
        self.log.append(name)
        if name == "victims":
            count = "50 million" if self.phase == 2 else "40 million"
            return _html(_page(f"An estimated {count} victims of modern slavery live in the world today."))
        if name == "steady":
            return _html(_page("77 per cent of British businesses think there is modern slavery in their supply "
                               "chains."))
        if name == "never":
            return _html(_page("Thousands of victims are identified in the UK every year."))
        if name == "plain":
            return _html(_page("A page cited for its words, not for a number."))
        if name == "archive":
            return aioweb.Response(body=b"PK\x03\x04" + bytes(200), content_type="application/zip")
        return _html("missing", 404)


def _html(body: str, status: int = 200) -> aioweb.Response:
    return aioweb.Response(text=body, status=status, content_type="text/html")


@pytest.fixture
async def web() -> AsyncIterator[tuple[FigureWeb, str]]:
    site = FigureWeb()
    async with serving(site.app) as base:
        yield site, base


def _document(tmp_path: Path, base: str) -> Path:
    doc = tmp_path / "paper.md"
    doc.write_text(
        "# Submission\n\n"
        f"It is estimated there are [100,000 victims]({base}/never) in the UK, and "
        f"[40 million victims]({base}/victims) around the world.\n\n"
        f"[77% of British businesses]({base}/steady) see a risk in their supply chains.\n\n"
        f"Justice systems [fail the poor]({base}/plain) in many places.\n\n"
        f"The registry lists [£1.2bn of assets]({base}/archive).\n",
        encoding="utf-8")
    return doc


async def _run(doc: Path, state: Path) -> dict[str, object]:
    report = await run_check(Config(), [doc], settings=SETTINGS, state_dir=state)
    return {"report": report, **{r.url.rsplit("/", 1)[-1]: r for r in report.results}}


async def test_a_revised_figure_is_changed_and_names_both_numbers(web: tuple[FigureWeb, str], tmp_path: Path) -> None:
    site, base = web
    doc, state = _document(tmp_path, base), tmp_path / "state"
    first = await _run(doc, state)
    victims = first["victims"]
    assert (victims.verdict, victims.figures_found) == (Verdict.OK, ("40 million",))  # type: ignore[attr-defined]
    site.phase = 2
    second = await _run(doc, state)
    victims = second["victims"]
    assert (victims.verdict, victims.reason) == (Verdict.CHANGED, Reason.FIGURE_MISSING)  # type: ignore[attr-defined]
    assert "40 million → 50 million" in victims.detail  # type: ignore[attr-defined]
    claim = victims.to_json()["claims"]  # type: ignore[attr-defined]
    assert claim == [{"text": "40 million", "value": 40_000_000, "unit": None, "found": False, "in_baseline": True}]
    # The page that still says it is ok; the figure found on it is listed as found.
    steady = second["steady"]
    assert (steady.verdict, steady.reason) == (Verdict.OK, Reason.OK)  # type: ignore[attr-defined]
    assert steady.to_json()["claims"][0]["found"] is True  # type: ignore[attr-defined]
    assert "notes" not in steady.to_json()  # type: ignore[attr-defined]


async def test_a_figure_never_on_the_source_is_a_note_and_a_count(web: tuple[FigureWeb, str], tmp_path: Path) -> None:
    site, base = web
    outcome = await _run(_document(tmp_path, base), tmp_path / "state")
    never, report = outcome["never"], outcome["report"]
    assert isinstance(report, RunReport)
    assert (never.verdict, never.reason) == (Verdict.OK, Reason.OK)  # type: ignore[attr-defined]
    assert never.figures_not_found == ("100,000",)  # type: ignore[attr-defined]
    assert never.to_json()["notes"] == ["the figure '100,000' was not found on the source"]  # type: ignore[attr-defined]
    data = report.to_json()
    assert data["summary"]["figures_not_found"] == 1
    assert "figures not found on their source: 1" in text.render(report)
    assert "Figures not found on their source: 1" in markdown.render(report)
    shown = markdown.render(report)
    assert "40 million (on the source)" in shown and "100,000 (NOT FOUND on the source)" in shown
    # A page read for no figure is not looked at for one.
    assert outcome["plain"].claims == ()  # type: ignore[attr-defined]


async def test_a_source_whose_text_cannot_be_read_is_unreadable_never_changed(
        web: tuple[FigureWeb, str], tmp_path: Path) -> None:
    site, base = web
    doc, state = _document(tmp_path, base), tmp_path / "state"
    for phase in (1, 2):
        site.phase = phase
        archive = (await _run(doc, state))["archive"]
        assert (archive.verdict, archive.reason) == (Verdict.ERROR, Reason.UNREADABLE)  # type: ignore[attr-defined]
        assert "£1.2bn" in archive.detail  # type: ignore[attr-defined]
        assert archive.figures_not_found == ()  # type: ignore[attr-defined]


async def test_pre_publication_lists_figures_and_strict_figures_fails(
        web: tuple[FigureWeb, str], tmp_path: Path) -> None:
    site, base = web
    doc = _document(tmp_path, base)
    register = tmp_path / "references.yaml"
    register.write_text("version: 1\nsettings:\n  allow_private: true\n  timeout: 2\n  retries: 0\n",
                        encoding="utf-8")
    assert load_config(register).settings.allow_private

    def check(*flags: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["check", str(doc), "--references", str(register), "--report-dir",
                                           str(tmp_path / "reports"), "--state-dir", str(tmp_path / "state"),
                                           "--fail-on", "broken,changed,placeholder", *flags])
        return result.exit_code, result.stdout, result.stderr

    code, out, err = await asyncio.to_thread(check, "--pre-publication")
    assert code == 0, out + err
    assert f"paper.md:3: the figure '100,000' is not found on its source {base}/never" in err
    assert "FIGURES" in out and "40 million (on the source)" in out
    code, out, err = await asyncio.to_thread(check, "--pre-publication", "--strict-figures")
    assert code == 1
    assert "--strict-figures fails the check" in err
    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["figures_not_found"] == 1
