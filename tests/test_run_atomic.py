"""A run is written to history whole at its end or not at all: killed after its last fetch, it
leaves history.sqlite exactly as it was, and the next run counts only the runs that finished."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.server import article, html, serving

ROOT = Path(__file__).resolve().parent.parent
PROC = Path("/proc/self/stat").exists()
STEADY = 40  # pages that stay the same, each fetched, archived and judged every run


class Site:
    """Pages whose answers change from run to run (`phase`), so that a run that counted would show.

    /flip: ok, 404, ok: counted, the middle run would make the third "fixed".
    /late: 404, ok, ok: counted, the middle run would set its baseline.
    /drift: another text in the middle run only: that run would keep main texts for the comparison.
    /gone: 404 always, so that every run asks the availability endpoint for archived copies.

    The availability endpoint is the moment the test waits for: a run asks it once, after every
    page was fetched and judged and before it writes history. In the phase that is killed it
    never answers, so the run is held there."""

    def __init__(self) -> None:
        self.phase = 1
        self.asked = asyncio.Event()     # the held run has reached the availability endpoint
        self.release = asyncio.Event()   # lets a held request end once the run is dead
        self.app = web.Application()
        self.app.router.add_get("/steady/{n}", self.steady)
        self.app.router.add_get("/flip", self.flip)
        self.app.router.add_get("/late", self.late)
        self.app.router.add_get("/drift", self.drift)
        self.app.router.add_get("/gone", self.gone)
        self.app.router.add_get("/wayback/available", self.availability)

    async def steady(self, request: web.Request) -> web.Response:
        return html(article(f"Steady table {request.match_info['n']}", "The figures stay as they were."))

    async def flip(self, request: web.Request) -> web.Response:
        return html(article("Not here"), status=404) if self.phase == 2 else html(article("Flipping page"))

    async def late(self, request: web.Request) -> web.Response:
        return html(article("Not yet"), status=404) if self.phase == 1 else html(article("Published late"))

    async def drift(self, request: web.Request) -> web.Response:
        words = ("The ministry withdrew the series; a new method replaces it from next year." if self.phase == 2
                 else "Rainfall fell in the north and rose in the south over the decade.")
        return html(article("Drifting report", words * 8))

    async def gone(self, request: web.Request) -> web.Response:
        return html(article("Not found"), status=404)

    async def availability(self, request: web.Request) -> web.Response:
        if self.phase == 2:
            self.asked.set()
            await self.release.wait()
        return web.json_response({"url": request.query.get("url", ""), "archived_snapshots": {}})


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, str]]:
    s = Site()
    async with serving(s.app) as base:
        yield s, base


def descendants(pid: int) -> set[int]:
    """The processes under `pid` now (its reading pool's forkserver and workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"}


def dump(db: Path) -> list[str]:
    """Every table's schema and rows, as SQL."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return list(conn.iterdump())
    finally:
        conn.close()


async def check(tmp_path: Path) -> asyncio.subprocess.Process:
    """`linkcheck check` as a process of its own, as a user runs it. Its output goes to a file:
    the reading workers it starts may outlive it a moment, holding a pipe open."""
    with open(tmp_path / "stderr.txt", "wb") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "linkcheck", "check", "doc.md", "--allow-private", "--quiet",
            "--state-dir", "state", "--report-dir", "reports", cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.DEVNULL, stderr=err)


async def finished(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    process = await check(tmp_path)
    await asyncio.wait_for(process.wait(), 120)
    assert process.returncode == 1, (tmp_path / "stderr.txt").read_text()  # /gone is broken
    report: dict = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))  # type: ignore[type-arg]
    return report


async def test_a_run_killed_after_its_last_fetch_leaves_history_exactly_as_before(
        site: tuple[Site, str], tmp_path: Path) -> None:
    """Run 1 finishes. Run 2 is held where it asks for archived copies of its failures (every page
    fetched and judged, nothing of the run written yet) and is killed there with SIGKILL: a real
    process, a real signal, at a moment the test knows rather than guesses. history.sqlite must
    then dump exactly as after run 1, and run 3 must count runs 1 and 3 only."""
    server, base = site
    links = [f"{base}/steady/{n}" for n in range(STEADY)] + [f"{base}/{p}" for p in ("flip", "late", "drift", "gone")]
    (tmp_path / "doc.md").write_text("".join(f"[source {i}]({url})\n" for i, url in enumerate(links)), encoding="utf-8")
    (tmp_path / "references.yaml").write_text(
        f"version: 1\nsettings:\n  archive_availability_url: {base}/wayback/available\n", encoding="utf-8")
    db, archive = tmp_path / "state" / "history.sqlite", tmp_path / "state" / "archive"

    first = await finished(tmp_path)
    after_first = dump(db)

    server.phase = 2
    victim = await check(tmp_path)
    try:
        await asyncio.wait_for(server.asked.wait(), 120)
        assert victim.returncode is None  # alive, past its last fetch, not yet at its end
        pool = descendants(victim.pid)
        victim.send_signal(signal.SIGKILL)
        await asyncio.wait_for(victim.wait(), 30)
    finally:
        server.release.set()
    assert victim.returncode == -signal.SIGKILL
    # Its reading workers and their forkserver leave with it instead of idling on forever (seen
    # through /proc: on Linux, where CI runs).
    assert pool or not PROC, "the run read its drifting page in a worker"
    for _ in range(100):
        if not alive(pool):
            break
        await asyncio.sleep(0.05)
    assert not alive(pool)
    assert dump(db) == after_first
    # Its captures were appended to the archive as it crawled; no index row names them.
    assert len(list(archive.glob("*.warc.gz"))) == 2

    server.phase = 3
    third = await finished(tmp_path)
    by_url = {r["url"]: r for r in third["results"]}
    assert [t for t, _ in third["run"]["previous_runs"]] == [first["run"]["finished"]]
    assert by_url[f"{base}/flip"]["trend"] is None  # ok, ok: the 404 of the killed run never counted
    assert (by_url[f"{base}/gone"]["consecutive_failures"], by_url[f"{base}/gone"]["trend"]) == (2, "still")
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT id, finished FROM runs ORDER BY started").fetchall()
        assert runs == [(first["run"]["id"], first["run"]["finished"]), (third["run"]["id"], third["run"]["finished"])]
        indexed = {warc for (warc,) in conn.execute("SELECT DISTINCT warc FROM snapshots")}
        late = conn.execute("SELECT time FROM baselines WHERE url = ?", (f"{base}/late",)).fetchone()
    finally:
        conn.close()
    assert len(indexed) == 2 and indexed < {p.name for p in archive.glob("*.warc.gz")}
    assert late is not None and late[0] >= third["run"]["started"]  # first good in run 3, not in the killed run

    # The killed run's file is named by no run: a prune keeping the two finished runs removes it.
    prune = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linkcheck", "archive", "prune", "--keep-runs", "2", "--state-dir", "state",
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.DEVNULL)
    assert await asyncio.wait_for(prune.wait(), 60) == 0
    assert {p.name for p in archive.glob("*.warc.gz")} == indexed


async def test_the_warc_is_on_disk_before_history_counts_the_run(
        site: tuple[Site, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index rows a run commits name records in its WARC: that file is synced to disk before
    the commit, so a power cut between the two can never leave history naming records it lost.
    Observed on a real run: each fsync (by the file it syncs) and each commit, in order."""
    from linkcheck.config import load_config
    from linkcheck.history import History
    from linkcheck.pipeline import run_check

    _, base = site
    (tmp_path / "doc.md").write_text("".join(f"[source {n}]({base}/steady/{n})\n" for n in range(3)), encoding="utf-8")
    (tmp_path / "references.yaml").write_text("version: 1\ndocuments:\n  - doc.md\n", encoding="utf-8")
    events: list[str] = []
    fsync, commit_run = os.fsync, History.commit_run

    def synced(fd: int) -> None:
        fsync(fd)
        events.append(f"fsync {os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))}" if PROC else "fsync")

    def committed(self: History, *args: object, **kwargs: object) -> None:
        commit_run(self, *args, **kwargs)  # type: ignore[arg-type]
        events.append("commit")

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(History, "commit_run", committed)
    config = load_config(tmp_path / "references.yaml")
    settings = config.settings.replace(allow_private=True)
    report = await run_check(config, settings=settings, state_dir=tmp_path / "state")

    assert [r.verdict for r in report.results] == ["ok"] * 3
    warc = next((tmp_path / "state" / "archive").glob("*.warc.gz")).name
    wanted = f"fsync {warc}" if PROC else "fsync"
    assert wanted in events and "commit" in events, events
    assert events.index(wanted) < events.index("commit"), events
