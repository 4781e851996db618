"""The register against a real server: every reference's quote, history that follows the URL, advice that helps."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.collect import collect
from linkcheck.config import Config, Settings
from linkcheck.model import Citation, Reference, Result, RunReport
from linkcheck.pipeline import run_check
from linkcheck.reports import html as report_html
from tests.conftest import InstantClock
from tests.server import Catalogue

FAST = Settings(timeout=1.0, retries=0, allow_private=True, concurrency=8, per_host=4)
PRESENT = "Employment rose by 2 percent"  # what /ok says
GONE = "Unemployment fell to a record low"


async def _run(tmp_path: Path, url: str, references: tuple[Reference, ...], clock: InstantClock,
               **kwargs: Any) -> tuple[RunReport, Result]:
    doc = tmp_path / "doc.md"
    doc.write_text(f"Two claims rest on [one source]({url}).\n", encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=FAST, references=references)
    report = await run_check(config, settings=FAST, clock=clock, **kwargs)
    return report, next(r for r in report.results if r.url == url)


def test_two_references_with_one_url_make_one_target_with_both() -> None:
    first = Reference("labour-a", "https://www.ons.gov.uk/brief", quote="one")
    second = Reference("labour-b", "https://WWW.ONS.gov.uk/brief", quote="two")
    lone = Reference("unc", "https://data.worldbank.org/", quote="x")
    twin = Reference("unc-2", "https://data.worldbank.org/", quote="y")
    cited = Citation("d.md", 1, "brief", "https://www.ons.gov.uk/brief")
    targets = collect([cited], [first, second, lone, twin])
    assert [(t.url, [r.id for r in t.references]) for t in targets] == [
        ("https://www.ons.gov.uk/brief", ["labour-a", "labour-b"]),
        ("https://data.worldbank.org/", ["unc", "unc-2"])]  # uncited: still one target, both quotes


async def test_every_reference_with_the_url_has_its_quote_checked(web: tuple[Catalogue, str], tmp_path: Path,
                                                                  clock: InstantClock) -> None:
    catalogue, base = web
    url = base + "/ok"
    refs = (Reference("brief-employment", url, quote=PRESENT), Reference("brief-unemployment", url, quote=GONE))
    report, result = await _run(tmp_path, url, refs, clock)
    assert (str(result.verdict), str(result.reason)) == ("changed", "quote_missing")
    assert "brief-unemployment" in result.detail and GONE in result.detail
    assert "brief-employment" not in result.detail  # the one that failed is named, not the other
    assert "1 of 2 quotes" in result.detail
    assert "`quote:` in references.yaml" in result.detail and "linkcheck accept" not in result.detail
    out = json.loads(json.dumps(report.to_json()))["results"]
    shown = next(r for r in out if r["url"] == url)
    assert shown["quotes"] == [{"reference_id": "brief-employment", "quote": PRESENT, "found": True},
                               {"reference_id": "brief-unemployment", "quote": GONE, "found": False}]
    assert Result.from_json(shown).quotes == result.quotes
    assert catalogue.requests_to("/ok") == ["GET"]  # one fetch for both claims


async def test_both_quotes_present_is_ok(web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    _, base = web
    url = base + "/ok"
    refs = (Reference("a", url, quote=PRESENT), Reference("b", url, quote="Labour force brief"))
    _, result = await _run(tmp_path, url, refs, clock)
    assert (str(result.verdict), str(result.reason)) == ("ok", "ok")
    assert [found for _, _, found in result.quotes] == [True, True]


async def test_a_reference_renamed_by_refs_sync_keeps_its_history(web: tuple[Catalogue, str], tmp_path: Path,
                                                                  clock: InstantClock) -> None:
    _, base = web
    url = base + "/gone"
    state = tmp_path / "state"
    _, first = await _run(tmp_path, url, (Reference("ons-table", url),), clock, state_dir=state)
    _, second = await _run(tmp_path, url, (Reference("ons-2020-table-3", url),), clock, state_dir=state)
    assert (str(second.verdict), str(second.reason)) == ("broken", "http_status")
    assert second.reference_id == "ons-2020-table-3"
    assert (second.consecutive_failures, second.trend) == (2, "still")
    assert second.first_failed == first.first_failed is not None


async def test_accept_on_a_missing_quote_says_what_would_help(web: tuple[Catalogue, str], tmp_path: Path,
                                                              clock: InstantClock) -> None:
    _, base = web
    url = base + "/ok"
    state = tmp_path / "state"
    report, result = await _run(tmp_path, url, (Reference("brief", url, quote=GONE),), clock, state_dir=state)
    assert str(result.reason) == "quote_missing"
    outcome = CliRunner().invoke(main, ["accept", url, "--state-dir", str(state)], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    assert "accepted" not in outcome.output
    assert "the quote is missing" in outcome.output and "`quote:` in references.yaml" in outcome.output
    assert "restore the cited text" in outcome.output
    page = report_html.render(report)
    assert "Update the quote: in references.yaml" in page and "run: linkcheck accept URL" not in page


async def test_accept_still_accepts_a_drifted_page(web: tuple[Catalogue, str], tmp_path: Path,
                                                   clock: InstantClock) -> None:
    _, base = web
    url = base + "/ok"
    state = tmp_path / "state"
    await _run(tmp_path, url, (Reference("brief", url, quote=PRESENT),), clock, state_dir=state)
    outcome = CliRunner().invoke(main, ["accept", url, "--state-dir", str(state)], catch_exceptions=False)
    assert outcome.exit_code == 0 and outcome.output.strip() == f"accepted {url}"
