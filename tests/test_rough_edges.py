"""What a new user met on the second day: the cache's clock, stale reports, previews that left traces, a
register out of step after `fix`, sources "cited nowhere" that a placeholder stands for, and the next command."""
from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

from linkcheck.cli import main
from linkcheck.config import Config, Settings
from linkcheck.pipeline import run_check
from linkcheck.times import format_time, parse_time
from tests.server import Catalogue

SHIPPED = Path(__file__).resolve().parent.parent / "submissions" / "ijm-integrated-review.md"


async def cli(*args: str) -> CliResult:
    # The CLI runs its own event loop, so it goes to a thread while this one serves the site.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


def _older(db: Path, minutes: int) -> None:
    """Every time history holds, moved `minutes` into the past: as if that long had passed since."""
    def shift(value: str | None) -> str | None:
        return format_time(parse_time(value) - timedelta(minutes=minutes)) if value else None

    with sqlite3.connect(db) as conn:
        conn.create_function("shift", 1, shift)
        conn.execute("UPDATE runs SET started = shift(started), finished = shift(finished)")
        conn.execute("UPDATE results SET checked_at = shift(checked_at)")


async def test_cache_ttl_counts_from_the_last_real_fetch_and_the_detail_stays(web: tuple[Catalogue, str],
                                                                              tmp_path: Path) -> None:
    catalogue, base = web
    doc = tmp_path / "doc.md"
    doc.write_text(f"See [the brief]({base}/ok).\n")
    config = Config(documents=(doc,), settings=Settings(timeout=2.0, retries=0, allow_private=True))
    state = tmp_path / "state"

    async def run() -> str:
        report = await run_check(config, state_dir=state, cache_ttl=3600.0)
        (result,) = report.results
        assert str(result.verdict) == "ok"
        return result.detail

    fetched = await run()
    assert len(catalogue.requests_to("/ok")) == 1 and "cache" not in fetched
    _older(state / "history.sqlite", 40)  # the fetch was 40 minutes ago: reused
    first_reuse = await run()
    _older(state / "history.sqlite", 10)  # now 50 minutes ago: reused again, the same note
    second_reuse = await run()
    assert len(catalogue.requests_to("/ok")) == 1
    with sqlite3.connect(state / "history.sqlite") as conn:
        fetch_time = conn.execute("SELECT finished FROM runs ORDER BY rowid LIMIT 1").fetchone()[0]
    # One note, naming the fetch (not the reuse before): the detail does not grow run after run.
    assert second_reuse == f"{fetched} (as checked at {fetch_time}; within --cache-ttl)"
    assert re.fullmatch(re.escape(fetched) + r" \(as checked at [^;]+; within --cache-ttl\)", first_reuse)
    # 70 minutes after the fetch, the last reuse only 20 minutes old: fetched again, fresh detail.
    _older(state / "history.sqlite", 20)
    assert await run() == fetched
    assert len(catalogue.requests_to("/ok")) == 2


async def test_reports_of_earlier_runs_in_other_formats_are_removed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text("Poverty rose [sharply](#).\n")
    Path("reports").mkdir()
    Path("reports/notes.txt").write_text("a person's own file\n")
    first = await cli("check", "doc.md", "--format", "html,junit,sarif,text,markdown", "--no-archive")
    assert first.exit_code == 1
    assert sorted(p.name for p in Path("reports").iterdir()) == [
        "junit.xml", "notes.txt", "report.html", "report.json", "report.md", "report.sarif", "report.txt"]
    second = await cli("check", "doc.md", "--format", "markdown", "--no-archive")
    assert sorted(p.name for p in Path("reports").iterdir()) == ["notes.txt", "report.json", "report.md"]
    assert [line for line in second.output.splitlines() if line.startswith("report: ")] == [
        "report: reports/report.json", "report: reports/report.md"]


def _register(tmp_path: Path, base: str, doc: str, references: str) -> None:
    (tmp_path / "references.yaml").write_text(
        f"# Sources of the draft.\nversion: 1\ndocuments: [{doc}]\nsettings: {{allow_private: true, retries: 0}}\n"
        f"references:\n{references}")


async def test_fix_without_apply_records_nothing(web: tuple[Catalogue, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text(f"As [the study]({base}/ok) shows, poverty rose [sharply](#).\n")
    _register(tmp_path, base, "doc.md", f"  - id: poverty\n    url: {base}/page\n    cited_as: sharply\n")

    preview = await cli("fix")
    assert preview.exit_code == 1 and f"+As [the study]({base}/ok) shows, poverty rose [sharply]({base}/page)." \
        in preview.output
    assert not Path(".linkcheck").exists()  # no history, no archive: nothing at all

    assert (await cli("check", "--quiet")).exit_code == 1
    archive = sorted(Path(".linkcheck/archive").iterdir())

    def runs() -> int:
        with sqlite3.connect(".linkcheck/history.sqlite") as conn:
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    assert runs() == 1
    assert (await cli("fix")).exit_code == 1
    assert runs() == 1 and sorted(Path(".linkcheck/archive").iterdir()) == archive
    assert (await cli("fix", "--apply")).exit_code == 0
    assert runs() == 2  # the run that changed the documents is recorded


async def test_fix_apply_moves_the_registers_entry_too(web: tuple[Catalogue, str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions").mkdir()
    doc = Path("submissions/draft.md")
    doc.write_text(f"# Draft\n\nAs [the brief]({base}/moved) says, poverty rose [sharply]({base}/page).\n")
    _register(tmp_path, base, "submissions/draft.md",
              f"  # moved in 2026\n  - id: brief\n    url: '{base}/moved'   # the one we cite\n    cited_as: the brief\n"
              f"  - id: poverty\n    url: {base}/page\n    cited_as: sharply\n")
    before = Path("references.yaml").read_text()
    assert (await cli("check", "--pre-publication", "--quiet")).exit_code == 1  # redirected fails the gate

    preview = await cli("fix")
    assert preview.exit_code == 1 and f"reference brief moved: its url becomes {base}/ok" in preview.output
    assert Path("references.yaml").read_text() == before

    applied = await cli("fix", "--apply")
    assert applied.exit_code == 0, applied.output
    assert "updated the url of 1 reference(s) in references.yaml" in applied.output
    assert doc.read_text() == f"# Draft\n\nAs [the brief]({base}/ok) says, poverty rose [sharply]({base}/page).\n"
    # Only the URL changed: its comment (kept in its column), the quoting, the other entry and the header
    # stay as written.
    after = Path("references.yaml").read_text().splitlines()
    changed = [(old, new) for old, new in zip(before.splitlines(), after, strict=True) if old != new]
    assert len(changed) == 1 and re.fullmatch(rf"    url: '{re.escape(base)}/ok' +# the one we cite", changed[0][1])

    synced = await cli("refs", "sync", "--check", "--no-titles")
    assert synced.exit_code == 0, synced.output
    gate = await cli("check", "--pre-publication")
    assert gate.exit_code == 0, gate.output


async def test_a_source_that_only_a_placeholder_stands_for_is_shown_behind_it(
        web: tuple[Catalogue, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text("# Draft\n\nPoverty rose [sharply](#).\n")
    # Both sources broken, so the console lists them.
    _register(tmp_path, base, "doc.md", f"  - id: poverty\n    url: {base}/gone\n    cited_as: sharply\n"
                                        f"  - id: spare\n    url: {base}/withdrawn\n")
    result = await cli("check", "--format", "markdown,junit,sarif,html,text")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    source = lines.index(f"  {base}/gone")
    assert lines[source + 2] == "      behind the placeholder at doc.md:3"
    spare = lines.index(f"  {base}/withdrawn")
    assert lines[spare + 2] == "      listed in references.yaml as spare, cited in no document"
    for name in ("report.md", "junit.xml", "report.html", "report.txt"):
        text = Path("reports", name).read_text()
        assert "behind the placeholder at doc.md:3" in text, name
        assert "listed in references.yaml as poverty, cited in no document" not in text, name
    assert "listed in references.yaml as spare, cited in no document" in Path("reports/junit.xml").read_text()


async def test_the_summary_ends_with_the_command_that_fills_the_placeholders(
        web: tuple[Catalogue, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run`'s check of the shipped submission, its sources served locally."""
    _, base = web
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions").mkdir()
    shutil.copyfile(SHIPPED, tmp_path / "submissions" / SHIPPED.name)
    import yaml
    shipped = yaml.safe_load((SHIPPED.parent.parent / "references.yaml").read_text(encoding="utf-8"))
    entries = "".join(f"  - id: {r['id']}\n    cited_as: {r['cited_as']!r}\n"
                      + (f"    url: {base}/ok?{r['id']}\n" if r.get("url") else "")
                      for r in shipped["references"] if r.get("cited_as"))
    Path("references.yaml").write_text(f"version: 1\ndocuments: [submissions/{SHIPPED.name}]\n"
                                       f"settings:\n  exclude: ['ijmuk\\.org']\n  allow_private: true\n"
                                       f"references:\n{entries}", encoding="utf-8")
    result = await cli("check", "--format", "markdown")
    assert result.exit_code == 1
    last = result.output.rstrip("\n").splitlines()[-1]
    command = f"linkcheck fix submissions/{SHIPPED.name} --apply"
    assert last.endswith(f"; to put it in: {command}")
    filled = int(last.split(" ", 1)[0])
    assert filled == sum(1 for r in shipped["references"] if r.get("cited_as") and r.get("url")
                         and f"[{r['cited_as']}](#)" in SHIPPED.read_text(encoding="utf-8"))

    applied = await cli(*shlex.split(command)[1:])
    assert applied.exit_code == 0, applied.output
    assert f"fixed {filled} link(s)" in applied.output
    again = await cli("check")
    assert "to put it in" not in again.output  # what is left has no registered source yet
