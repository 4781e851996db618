"""`linkcheck archive prune`: real runs, WARC files read back with warcio, a real SQLite file, pywb replay."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from linkcheck.archive import read_capture, sha256_hex, warc_name
from linkcheck.cli import main
from linkcheck.config import Config, Settings
from linkcheck.history import History, SnapshotRow
from linkcheck.model import Reference, RunReport
from linkcheck.pipeline import run_check
from linkcheck.store import archive_dir, history_path, last_report_path
from linkcheck.times import to_second
from tests.server import article, html
from tests.test_archive import REPLAY_BIN, _free_port, _get, run_warcio_check

SETTINGS = Settings(timeout=2.0, retries=0, allow_private=True, archive_lookup=False)


@pytest.fixture
async def site() -> AsyncIterator[tuple[dict[str, int], str]]:
    """Three sources: one never changes (later captures are revisits of the first), one changes a
    little once, in the second run (later captures are revisits of that one), one dies in the third."""
    run = {"n": 1}

    async def stable(request: web.Request) -> web.Response:
        return html(article("Labour force brief", "Employment rose by 2 percent."))

    async def changing(request: web.Request) -> web.Response:
        words = " ".join(f"finding {i} of the survey holds." for i in range(40))
        return html(article("Survey", f"{words} Edition {min(run['n'], 2)}."))

    async def dying(request: web.Request) -> web.Response:
        if run["n"] >= 3:
            return html(article("Not here", "Nothing at this address."), status=404)
        return html(article("Housing need", f"Need rose in edition {run['n']}."))

    app = web.Application()
    for path, handler in (("/stable", stable), ("/changing", changing), ("/dying", dying)):
        app.router.add_get(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield run, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _check(state: Path, base: str) -> RunReport:
    refs = tuple(Reference(id=name, url=f"{base}/{name}") for name in ("stable", "changing", "dying"))
    return await run_check(Config(documents=(), settings=SETTINGS, references=refs), state_dir=state,
                           archived_copies=True)


async def _four_runs(site: tuple[dict[str, int], str], state: Path) -> None:
    run, base = site
    for n in range(1, 5):
        run["n"] = n
        await _check(state, base)


def _prune(state: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["archive", "prune", "--state-dir", str(state), *args], catch_exceptions=False)
    return out.exit_code, out.output


def _captures(folder: Path) -> dict[tuple[str, str, str], tuple[str, tuple[str, str, str] | None]]:
    """Every capture in the WARC files, read back with warcio: (file, URI, date+digest) -> type, original."""
    found = {}
    for path in sorted(folder.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                get = record.rec_headers.get_header
                if record.rec_type in ("response", "revisit"):
                    digest = get("WARC-Payload-Digest")
                    # To the second, as history keeps them (WARC-Date has microseconds).
                    refers = ((get("WARC-Refers-To-Target-URI"), to_second(get("WARC-Refers-To-Date")), digest)
                              if record.rec_type == "revisit" else None)
                    found[(path.name, get("WARC-Target-URI"), to_second(get("WARC-Date")) + " " + digest)] = (
                        record.rec_type, refers)
    return found


def _index(state: Path) -> list[SnapshotRow]:
    with History(history_path(state)) as h:
        return h.snapshots()


def _by_run(state: Path) -> dict[tuple[str, int], SnapshotRow]:
    """(source, run number 1..) -> the index row of its capture in that run (runs may share a second)."""
    with History(history_path(state)) as h:
        order = [warc_name(r.id, r.started) for r in reversed(h.runs())]
        rows = h.snapshots()
    return {(r.url.rsplit("/", 1)[1], order.index(r.warc) + 1): r for r in rows}


async def test_prune_keeps_baselines_last_good_and_revisit_originals(site: tuple[dict[str, int], str],
                                                                    tmp_path: Path) -> None:
    state = tmp_path / "state"
    await _four_runs(site, state)
    folder = archive_dir(state)
    before_rows = _index(state)
    by = _by_run(state)
    assert len(by) == len(before_rows) == 10  # a 404 page is no evidence: not archived
    assert by[("stable", 4)].revisit and by[("changing", 4)].revisit and not by[("changing", 2)].revisit
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    raw = {p.name: p.read_bytes() for p in folder.iterdir()}

    code, out = _prune(state, "--keep-runs", "1", "--dry-run")
    assert code == 0, out
    assert "would drop 3 captures" in out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == raw and _index(state) == before_rows

    code, out = _prune(state, "--keep-runs", "1")
    assert code == 0, out
    dropped = {("stable", 2), ("stable", 3), ("changing", 3)}
    assert sorted(line.split()[2] for line in out.splitlines() if line.startswith("dropped  ")) == sorted(
        by[key].url for key in dropped)
    freed = sum(sizes.values()) - sum(p.stat().st_size for p in folder.iterdir())
    assert freed > 0 and f"dropped 3 captures (1 WARC files rewritten, 1 removed): {freed} bytes freed" in out
    assert ("kept though old: 3 baselines, 1 last good captures of failing sources, "
            "1 originals of kept revisits") in out
    assert by[("stable", 3)].warc not in {p.name for p in folder.iterdir()}  # run 3 kept nothing
    assert not list(folder.glob(".*.tmp"))

    # Read back with warcio: exactly the dropped captures are gone.
    after = _captures(folder)
    left = {(name, uri, date.split()[0]) for name, uri, date in after}
    for key, row in by.items():
        assert ((row.warc, row.target_uri, row.time) in left) is (key not in dropped), key
    # Never drop: each baseline, the failing source's last good capture, a kept revisit's original.
    with History(history_path(state)) as h:
        for name in ("stable", "changing", "dying"):
            baseline = h.baseline(by[(name, 1)].url)
            assert baseline is not None and (baseline.warc, baseline.time) == (by[(name, 1)].warc, by[(name, 1)].time)
            stored = read_capture(folder, baseline.warc, baseline.offset)
            assert sha256_hex(stored.body) == baseline.sha256
        good = h.last_good_snapshot(by[("dying", 1)].url)
        assert good is not None and good[0].warc == by[("dying", 2)].warc
        assert sha256_hex(read_capture(folder, good[0].warc, good[0].offset or 0).body) == by[("dying", 2)].sha256
    originals = {(name, uri, date) for name, uri, date in after if after[(name, uri, date)][0] == "response"}
    for (_, _, _), (kind, refers) in after.items():
        if kind == "revisit":
            assert refers is not None
            assert any((uri, date) == (refers[0], refers[1] + " " + refers[2]) for _, uri, date in originals)
    # The index points at the new offsets: every row reads back as the capture it names.
    rows = _index(state)
    assert len(rows) == len(before_rows) - 3
    for row in rows:
        stored = read_capture(folder, row.warc, row.offset)
        assert (stored.url, to_second(stored.date)) == (row.target_uri, row.time)
    for name in {r.warc for r in rows}:
        assert run_warcio_check(folder / name).returncode == 0

    # The last run's kept report points at the moved record too (`linkcheck report` renders it).
    kept = json.loads(last_report_path(state).read_text(encoding="utf-8"))
    shown = next(r["snapshot"] for r in kept["results"] if r["reference_id"] == "dying")
    assert shown["sha256"] == by[("dying", 2)].sha256
    assert sha256_hex(read_capture(folder, os.path.basename(shown["warc"]), shown["offset"]).body) == shown["sha256"]

    # And the next run goes on from the pruned state: the broken source shows its last good capture.
    run, base = site
    run["n"] = 5
    report = await _check(state, base)
    dying = next(r for r in report.results if r.reference_id == "dying")
    assert str(dying.verdict) == "broken" and dying.snapshot is not None
    assert dying.snapshot.sha256 == by[("dying", 2)].sha256
    changing = next(r for r in report.results if r.reference_id == "changing")
    assert str(changing.verdict) == "ok" and changing.similarity is not None  # compared with its baseline


async def test_prune_options_combine_and_one_is_needed(site: tuple[dict[str, int], str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    await _four_runs(site, state)
    before = _index(state)
    code, out = _prune(state, "--keep-runs", "1", "--older-than", "30d")  # nothing is that old
    assert code == 0 and "dropped 0 captures" in out and _index(state) == before
    code, out = _prune(state)
    assert code == 2 and "--keep-runs" in out
    by = _by_run(state)
    await asyncio.sleep(1.1)  # times are to the second: now every capture is older than now
    code, out = _prune(state, "--older-than", "0s")  # only the protected stay; no revisit does
    assert code == 0, out
    assert "dropped 6 captures (1 WARC files rewritten, 2 removed)" in out  # runs 3 and 4 kept nothing
    kept = {(r.warc, r.offset) for r in _index(state)}
    assert len(kept) == 4
    assert {(by[k].warc, by[k].time, by[k].sha256) for k in (("stable", 1), ("changing", 1), ("dying", 1),
            ("dying", 2))} == {(r.warc, r.time, r.sha256) for r in _index(state)}
    assert sorted(p.name for p in archive_dir(state).glob("*.warc.gz")) == sorted({by[("stable", 1)].warc,
                                                                                   by[("dying", 2)].warc})


@pytest.mark.skipif(not (REPLAY_BIN / "wayback").exists(),
                    reason=f"pywb is not installed in {REPLAY_BIN} (make test installs it): replay untested")
async def test_pruned_archive_still_replays_in_pywb(site: tuple[dict[str, int], str], tmp_path: Path) -> None:
    state, (run, base) = tmp_path / "state", site
    for n in range(1, 5):
        run["n"] = n
        await _check(state, base)
        await asyncio.sleep(1.05)  # one capture of a URL per second, so each replays by its own time
    assert _prune(state, "--keep-runs", "1")[0] == 0
    folder = archive_dir(state)
    rows = _index(state)
    assert any(r.revisit for r in rows) and len(rows) == 7
    expected = {}
    with History(history_path(state)) as h:
        for row in rows:
            source = h.original_for(row.sha256) if row.revisit else row
            assert source is not None
            expected[(row.target_uri, row.time)] = read_capture(folder, source.warc, source.offset).body
    env = {**os.environ, "PATH": f"{REPLAY_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    warcs = [str(p) for p in sorted(folder.glob("*.warc.gz"))]
    for args in (["init", "coll"], ["add", "coll", *warcs]):
        await asyncio.to_thread(subprocess.run, [str(REPLAY_BIN / "wb-manager"), *args], cwd=tmp_path, env=env,
                                check=True, capture_output=True, timeout=60)
    port = _free_port()
    with open(tmp_path / "wayback.log", "wb") as log:
        server = subprocess.Popen([str(REPLAY_BIN / "wayback"), "--port", str(port), "--bind", "127.0.0.1"],
                                  cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if (await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/"))[0] == 200:
                        break
                except OSError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "wayback.log").read_text(errors="replace")
                await asyncio.sleep(0.2)
            for (url, when), body in expected.items():
                got = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/coll/{re.sub(r'[^0-9]', '', when)}id_/{url}")
                assert (url, when, got) == (url, when, (200, body))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
