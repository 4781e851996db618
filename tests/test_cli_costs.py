"""What a run spends beside judging: a progress line drawn a tenth of a second, not once per link;
the collector's threshold raised while the command's run lasts, and given back after it; the time
of each response spelled once a second; a program that ends without collecting what it hands back whole."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.cli.options import Progress
from linkcheck.times import format_time, parse_time, utc_now
from tests.server import Catalogue, serving

ROOT = Path(__file__).resolve().parent.parent


def test_a_fast_run_draws_its_progress_a_few_times_and_always_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(enabled=True)
    for done in range(1, 5001):
        progress(done, 5000)
    drawn = capsys.readouterr().err.split("\r")[1:]
    assert 2 <= len(drawn) < 100  # the first one and the last one, and a few as time passes
    assert drawn[0].endswith(" 1/5000") and drawn[-1].endswith(" 5000/5000")


def test_a_disabled_progress_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(enabled=False)
    progress(1, 2)
    progress(2, 2)
    assert capsys.readouterr().err == ""


@pytest.fixture()
def threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


@pytest.mark.parametrize("first", [1234, 0], ids=["set", "collection-off"])
def test_check_gives_the_collector_threshold_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 threshold: tuple[int, int, int], first: int) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.md").write_text("A draft cites [a source](#) still to be found.\n", encoding="utf-8")
    gc.set_threshold(first, *threshold[1:])
    result = CliRunner().invoke(main, ["check", "doc.md", "--quiet", "--report-dir", "r", "--state-dir", "s"])
    assert result.exit_code == 1, result.output  # the placeholder fails the check
    assert gc.get_threshold() == (first, *threshold[1:])


def test_the_time_stamped_on_responses_is_this_second() -> None:
    for _ in range(3):  # the first spells the second, the others reuse it
        before = format_time(datetime.now(timezone.utc))
        now = utc_now()
        after = format_time(datetime.now(timezone.utc))
        assert before <= now <= after and format_time(parse_time(now)) == now


# `python -m linkcheck`, telling at its very end (the first exit handler runs last) what the
# collector holds frozen: objects the interpreter's last collections no longer walk.
_PROGRAM = """
import atexit, gc, os, runpy, sys
atexit.register(lambda: os.write(2, f"frozen {gc.get_freeze_count()}\\n".encode()))
sys.argv[0] = "linkcheck"
runpy.run_module("linkcheck", run_name="__main__", alter_sys=True)
"""


def test_the_program_ends_without_the_last_collections_and_keeps_its_output(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text("A draft cites [a source](#) still to be found.\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _PROGRAM, "check", "doc.md", "--report-dir", "r", "--state-dir", "s"],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr  # the placeholder fails the check
    assert int(proc.stderr.split("frozen ")[-1]) > 1000, proc.stderr
    assert proc.stdout.rstrip().endswith("report: r/report.json")  # the output is whole, written before the end
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert [r["verdict"] for r in report["results"]] == ["placeholder"]
    assert json.loads((tmp_path / "s" / "last-report.json").read_text(encoding="utf-8")) == report


def test_main_called_in_process_leaves_the_collector_unfrozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.md").write_text("[a source](#)\n", encoding="utf-8")
    before = gc.get_freeze_count()
    result = CliRunner().invoke(main, ["check", "doc.md", "--quiet", "--report-dir", "r", "--state-dir", "s"])
    assert result.exit_code == 1, result.output
    assert gc.get_freeze_count() == before
    with pytest.raises(SystemExit):  # called as a function, not as the program: the exit is the caller's to take
        main(["check", "doc.md", "--quiet", "--report-dir", "r", "--state-dir", "s"], standalone_mode=False)
    assert gc.get_freeze_count() == before


# `python -m linkcheck`, naming at its very end every module the run imported.
_IMPORTED = """
import atexit, os, runpy, sys
atexit.register(lambda: os.write(2, ("imported " + " ".join(sorted(sys.modules)) + "\\n").encode()))
sys.argv[0] = "linkcheck"
runpy.run_module("linkcheck", run_name="__main__", alter_sys=True)
"""
# What a check of a Markdown file without HTML in it, whose one page needs no parse, never uses: the
# HTML parser, the other commands' code, and the renderers and readers of formats it does not write or meet.
_UNUSED = ("lxml", "linkcheck.pagetree", "linkcheck.extract.html", "linkcheck.fix", "linkcheck.refs",
           "linkcheck.notify", "linkcheck.prune", "linkcheck.reports.html", "linkcheck.reports.sarif",
           "linkcheck.reports.junit", "jinja2", "ruamel", "trafilatura", "pypdf", "docx", "multiprocessing")


@pytest.mark.parametrize("cited", ["/ok", "/page#chapter-3"], ids=["page-not-parsed", "page-parsed-for-its-anchors"])
async def test_a_markdown_check_imports_only_what_it_uses(tmp_path: Path, cited: str) -> None:
    async with serving(Catalogue().app) as base:
        (tmp_path / "doc.md").write_text(f"A draft cites [the brief]({base}{cited}).\n", encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _IMPORTED, "check", "doc.md", "--allow-private", "--format", "markdown",
            "--report-dir", "r", "--state-dir", "s", cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), 120)
    imported = set(err.decode().rsplit("imported ", 1)[-1].split())
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert process.returncode == 0 and [r["verdict"] for r in report["results"]] == ["ok"], err.decode()
    assert (tmp_path / "r" / "report.md").exists() and "linkcheck.reports.markdown" in imported
    unused = {name for name in imported if name.split(".")[0] in _UNUSED or name in _UNUSED}
    if "#" in cited:  # the anchors are read from the parsed page: the probe sees what a parse loads
        assert {"lxml", "linkcheck.pagetree", "linkcheck.extract.html"} <= unused
        unused -= {name for name in unused if name.split(".")[0] == "lxml"} | {"linkcheck.pagetree",
                                                                                "linkcheck.extract.html"}
    assert unused == set()
