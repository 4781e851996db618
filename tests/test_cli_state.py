"""The commands that read the state dir: archive list/show/export, accept, history."""
from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from warcio.archiveiterator import ArchiveIterator

from linkcheck.cli import main
from tests.server import Catalogue


async def cli(*args: str) -> Result:
    # The CLI runs its own event loop, so it goes to a thread while this one serves the site.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


@pytest.fixture
def checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def _check_twice(base: str) -> None:
    Path("doc.md").write_text(f"[brief]({base}/ok) and [handbook]({base}/page) and [gone]({base}/gone)\n")
    Path("references.yaml").write_text(f"version: 1\nsettings:\n  archive_availability_url: {base}/wayback/available\n")
    for _ in range(2):
        assert (await cli("check", "doc.md", "--allow-private", "--quiet")).exit_code == 1


async def test_archive_list_show_and_export(web: tuple[Catalogue, str], checked: Path) -> None:
    _, base = web
    await _check_twice(base)
    listing = (await cli("archive", "list")).output.splitlines()
    assert len(listing) == 4  # two pages, two runs (a 404 is not evidence)
    assert sum("[baseline]" in line for line in listing) == 2 and sum("revisit" in line for line in listing) == 2
    shown = await cli("archive", "show", f"{base}/ok")
    assert shown.exit_code == 0 and "Employment rose by 2 percent." in shown.output
    assert "Home | About" not in shown.output  # main text: the navigation is gone
    raw = await cli("archive", "show", f"{base}/ok", "--raw")
    assert raw.stdout_bytes.startswith(b"<!doctype html>")
    exported = await cli("archive", "export", "all.warc.gz")
    assert exported.exit_code == 0
    with open("all.warc.gz", "rb") as handle:
        kinds = [r.rec_type for r in ArchiveIterator(handle) if r.rec_type in ("response", "revisit")]
    assert sorted(kinds) == ["response", "response", "revisit", "revisit"]


async def test_broken_evidence_gets_an_archived_copy(web: tuple[Catalogue, str], checked: Path) -> None:
    catalogue, base = web
    await _check_twice(base)
    report = json.loads(Path("reports/report.json").read_text())
    gone = next(r for r in report["results"] if r["url"] == f"{base}/gone")
    assert gone["archived_url"] == f"https://web.archive.org/web/20200101000000/{base}/gone"
    assert catalogue.requests_to("/wayback/available") == ["GET", "GET"]  # one lookup per run
    assert all(r["archived_url"] is None for r in report["results"] if r["verdict"] == "ok")


async def test_history_prints_the_timeline(web: tuple[Catalogue, str], checked: Path) -> None:
    _, base = web
    await _check_twice(base)
    lines = (await cli("history", f"{base}/gone")).output.splitlines()
    assert len(lines) == 2 and all("broken" in line and "404" in line for line in lines)


async def test_accept_needs_a_url_or_all_and_knows_the_url(web: tuple[Catalogue, str], checked: Path) -> None:
    _, base = web
    await _check_twice(base)
    assert (await cli("accept")).exit_code == 2
    accepted = await cli("accept", f"{base}/page")
    assert accepted.exit_code == 0 and f"accepted {base}/page" in accepted.output
    unknown = await cli("accept", f"{base}/never-checked")
    assert unknown.exit_code == 2 and "no snapshot" in unknown.output


def test_state_commands_without_history_are_one_line_errors(checked: Path) -> None:
    for args in (["archive", "list"], ["history", "https://a.org/"], ["accept", "--all"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "no history yet" in result.output
        assert len(result.output.strip().splitlines()) == 1


async def test_report_renders_the_last_run_again_without_a_request(web: tuple[Catalogue, str], checked: Path) -> None:
    catalogue, base = web
    await _check_twice(base)
    first = json.loads(Path("reports/report.json").read_text())
    assert Path(".linkcheck/last-report.json").read_text() == Path("reports/report.json").read_text()
    requests = len(catalogue.log)
    shutil.rmtree("reports")
    again = await cli("report", "--format", "html,junit")
    assert again.exit_code == 1 and "BROKEN (1)" in again.output  # the same verdicts, the same exit status
    assert len(catalogue.log) == requests
    assert json.loads(Path("reports/report.json").read_text()) == first
    assert {p.name for p in Path("reports").iterdir()} == {"report.json", "report.html", "junit.xml"}


def test_report_without_a_run_is_a_one_line_error(checked: Path) -> None:
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 2 and "no run kept yet" in result.output
    assert len(result.output.strip().splitlines()) == 1
