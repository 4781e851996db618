"""The command line's one exception boundary: what a person must fix is one line on stderr and exit
status 2 for every command, an interrupt is exit status 130, and neither prints a traceback."""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from linkcheck.cli import boundary, main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_naming(result: Result, name: str) -> str:
    """The run's only stderr line, after checking it names `name` and that the status is 2."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "draft.md").write_text("A [placeholder](#) and [a source](https://example.org/a).\n", encoding="utf-8")
    (tmp_path / "references.yaml").write_text("version: 1\ndocuments: [draft.md]\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    return tmp_path


def test_a_state_dir_that_cannot_be_made_is_one_line(project: Path) -> None:
    line = one_line_naming(run("check", "--quiet", "--state-dir", "a-file/state"), "a-file/state")
    assert "not a directory" in line


def test_a_report_dir_that_cannot_be_written_is_one_line(project: Path) -> None:
    one_line_naming(run("check", "--quiet", "--report-dir", "a-file/reports"), "a-file/reports")


def test_an_unreadable_state_file_is_one_line(project: Path) -> None:
    assert run("check", "--quiet").exit_code == 1  # the placeholder fails the gate
    last = project / ".linkcheck" / "last-report.json"
    last.unlink()
    last.mkdir()  # there, but not a file that can be read
    line = one_line_naming(run("report"), "last-report.json")
    assert "is a directory" in line


@pytest.mark.parametrize("command", [["check", "--quiet"], ["report"], ["history", "https://example.org/a"],
                                     ["email", "--dry-run", "--to", "team@example.org"]])
def test_bad_yaml_is_one_line_naming_file_and_line(project: Path, command: list[str]) -> None:
    (project / "references.yaml").write_text("version: 1\ndocuments: [draft.md\n", encoding="utf-8")
    one_line_naming(run(*command), "references.yaml:3")


def _corrupt(database: Path, table: str) -> None:
    """Overwrite the first page of `table` with garbage: the file still opens, reading that table fails."""
    with sqlite3.connect(database) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    with database.open("r+b") as handle:
        handle.seek((root - 1) * page)
        handle.write(b"\xde\xad\xbe\xef" * (page // 4))


@pytest.mark.parametrize("table,command", [("baselines", ["check", "--quiet"]),
                                           ("snapshots", ["archive", "list"]),
                                           ("results", ["history", "https://example.org/a"])])
def test_a_damaged_history_database_is_one_line_naming_it(project: Path, table: str, command: list[str]) -> None:
    assert run("check", "--quiet").exit_code == 1
    database = project / ".linkcheck" / "history.sqlite"
    _corrupt(database, table)
    line = one_line_naming(run(*command), str(Path(".linkcheck") / "history.sqlite"))
    assert "not a usable history database" in line


def test_a_file_that_is_not_a_database_is_one_line(project: Path) -> None:
    (project / ".linkcheck").mkdir()
    (project / ".linkcheck" / "history.sqlite").write_bytes(b"SQLite format 2\x00" + b"\x00" * 2000)
    for command in (["check", "--quiet"], ["archive", "list"]):
        one_line_naming(run(*command), "history.sqlite")


def test_an_interrupt_exits_130_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(60)
        (tmp_path / "draft.md").write_text(f"[a source](http://127.0.0.1:{silent.getsockname()[1]}/x)\n",
                                           encoding="utf-8")
        process = subprocess.Popen([sys.executable, "-m", "linkcheck", "check", "draft.md", "--allow-private",
                                    "--timeout", "60", "--retries", "0"],
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            connection, _ = silent.accept()  # the run is waiting on the network now
            with connection:
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 130
    assert err == "linkcheck: interrupted\n" and "Traceback" not in out


class _InterruptedConnect:
    """A socket whose connection completes just as Ctrl-C cancels the wait for it: the interrupt's
    handler runs between two steps of asyncio's connect callback, as a signal handler can."""

    def __init__(self, waiting: asyncio.Future[None]) -> None:
        self.waiting = waiting

    def getsockopt(self, *_: object) -> int:
        self.waiting.cancel()
        return 0  # connected


async def _a_connect_completed_too_late() -> None:
    loop = asyncio.get_running_loop()
    waiting: asyncio.Future[None] = loop.create_future()
    loop.call_soon(loop._sock_connect_cb, waiting, _InterruptedConnect(waiting), ("127.0.0.1", 9))  # type: ignore[attr-defined]
    await asyncio.sleep(0.01)


async def _a_callback_that_fails() -> None:
    asyncio.get_running_loop().call_soon(int, "not a number")
    await asyncio.sleep(0.01)


def test_a_connect_given_up_at_an_interrupt_prints_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """The interrupt test above met this now and then: asyncio's own report of the connect callback
    ahead of the one line. The command line's loop keeps it quiet and reports any other failure."""
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(_a_connect_completed_too_late())
        assert ["_sock_connect_cb" in r.getMessage() for r in caplog.records] == [True]  # what asyncio prints
        caplog.clear()
        boundary.run(_a_connect_completed_too_late())
        assert caplog.records == []
        boundary.run(_a_callback_that_fails())
        assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ValueError]


def test_a_reader_that_stops_reading_ends_the_output_quietly(tmp_path: Path) -> None:
    (tmp_path / "long.md").write_text("".join(f"[source {i}](https://example.org/{i})\n" for i in range(5000)),
                                      encoding="utf-8")  # far more than a pipe holds
    process = subprocess.Popen([sys.executable, "-m", "linkcheck", "extract", "long.md"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith("long.md:1\t")
        process.stdout.close()  # as `| head -1` does
        err = process.stderr.read()
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 141 and err == ""
