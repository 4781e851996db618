"""The history database: migrations, round trips, the snapshot index, baselines, trends, crash safety."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from linkcheck import history as hist
from linkcheck.errors import InputError
from linkcheck.history import History, TrendInfo, compute_trend, identity, schema, write
from linkcheck.model import Reason, Result, Snapshot, Verdict

P = pytest.param
ROOT = Path(__file__).resolve().parent.parent
URL = "https://stats.example.org/table"


def t(day: int, hour: int = 0) -> str:
    return f"2024-01-{day:02d}T{hour:02d}:00:00Z"


def ok(url: str = URL, ref: str | None = "r1", snapshot: Snapshot | None = None) -> Result:
    return Result(url, Verdict.OK, Reason.OK, "200 OK", http_status=200, final_url=url,
                  reference_id=ref, snapshot=snapshot)


def broken(url: str = URL, ref: str | None = "r1") -> Result:
    return Result(url, Verdict.BROKEN, Reason.HTTP_STATUS, "404 Not Found", http_status=404, reference_id=ref)


def run(h: History, run_id: str, started: str, finished: str | None, *results: Result) -> None:
    h.start_run(run_id, started)
    h.record_results(run_id, results)
    if finished is not None:
        h.finish_run(run_id, finished, {"ok": sum(r.verdict == Verdict.OK for r in results)})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.sqlite"


@pytest.fixture
def h(db: Path):
    with History(db) as opened:
        yield opened


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# --------------------------------------------------------------------------- migrations and setup

def test_fresh_database_is_migrated_and_tuned(db: Path) -> None:
    with History(db) as h:
        conn = h._conn
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(hist.MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.IntegrityError):  # the foreign key is enforced
            conn.execute("INSERT INTO results (run_id, url, verdict, reason, detail) "
                         "VALUES ('nope', 'u', 'ok', 'ok', '')")
    assert db.parent.is_dir()
    assert raw(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent


def test_reopening_keeps_schema_and_data(db: Path) -> None:
    with History(db) as h:
        run(h, "a", t(1), t(1, 1), ok())
    schema = raw(db).execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    with History(db) as h:
        assert [r.id for r in h.runs()] == ["a"]
    conn = raw(db)
    assert conn.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(hist.MIGRATIONS)


def test_database_from_a_newer_version_is_refused(db: Path) -> None:
    History(db).close()
    raw(db).execute(f"PRAGMA user_version = {len(hist.MIGRATIONS) + 7}")
    with pytest.raises(InputError) as info:
        History(db)
    assert info.value.path == str(db)
    assert f"made by a newer linkcheck (schema {len(hist.MIGRATIONS) + 7})" in str(info.value)


def test_garbage_file_is_refused_and_left_alone(db: Path) -> None:
    db.parent.mkdir(parents=True)
    garbage = b"this is a spreadsheet, honest\n" * 200
    db.write_bytes(garbage)
    with pytest.raises(InputError) as info:
        History(db)
    assert str(db) in str(info.value)
    assert db.read_bytes() == garbage


def test_a_failing_migration_is_rolled_back_whole(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    History(db).close()
    bad = "CREATE TABLE extra (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, "CREATE TABLE fine (y);", bad])
    with pytest.raises(InputError):
        History(db)
    conn = raw(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) - 2
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {"extra", "fine"} & tables


def test_migrations_apply_in_order(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    History(db).close()
    extra = "CREATE TABLE notes (n TEXT); -- a comment; with a semicolon\nINSERT INTO notes VALUES ('a;b');"
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, extra])
    History(db).close()
    History(db).close()  # already applied: nothing runs twice
    conn = raw(db)
    assert conn.execute("SELECT n FROM notes").fetchall() == [("a;b",)]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)


# --------------------------------------------------------------------------- runs and results

def test_results_round_trip(h: History) -> None:
    shown = Snapshot("state/archive/2024.warc.gz", "ab" * 32, 1234, t(1))  # as a report shows it
    run(h, "one", t(1), t(1, 1), ok(snapshot=shown), broken("https://gone.example/", None))
    cached = h.cached_ok(URL, 3600, t(1, 1))
    stored = Snapshot("2024.warc.gz", "ab" * 32, 1234, t(1))  # history keeps the WARC's file name
    assert cached == hist.CachedResult(Verdict.OK, Reason.OK, "200 OK", 200, URL, stored, t(1, 1))
    [row] = h.timeline("https://gone.example/")
    assert row == hist.TimelineRow(t(1, 1), "broken", "http_status", 404, "404 Not Found", None, "")
    assert h.timeline(URL)[0].sha256 == "ab" * 32
    assert h.runs() == [hist.RunRow("one", t(1), t(1, 1), {"ok": 1})]


def test_runs_newest_first_with_crashed_ones(h: History) -> None:
    run(h, "a", t(1), t(1, 1), ok())
    run(h, "b", t(2), None, ok())
    run(h, "c", t(3), t(3, 1), ok())
    assert [(r.id, r.finished) for r in h.runs()] == [("c", t(3, 1)), ("b", None), ("a", t(1, 1))]
    assert [r.id for r in h.runs(limit=2)] == ["c", "b"]
    assert h.runs()[1].summary == {}


def test_unknown_or_duplicate_runs_and_bad_times_are_refused(h: History) -> None:
    with pytest.raises(ValueError, match="start_run"):
        h.record_results("never", [ok()])
    h.start_run("a", t(1))
    with pytest.raises(ValueError, match="already exists"):
        h.start_run("a", t(2))
    with pytest.raises(ValueError, match="no run"):
        h.finish_run("never", t(2), {})
    with pytest.raises(ValueError, match="YYYY"):
        h.finish_run("a", "2024-1-2T00:00:00Z", {})
    assert h.runs()[0].finished is None


def test_every_call_commits_so_another_handle_sees_it(h: History, db: Path) -> None:
    with History(db) as other:
        run(h, "a", t(1), t(1, 1), ok())
        assert [r.id for r in other.runs()] == ["a"]
        other.start_run("b", t(2))  # no lock left behind by the first handle
        assert [r.id for r in h.runs()] == ["b", "a"]


def test_a_batch_is_all_or_nothing(h: History) -> None:
    h.start_run("a", t(1))
    with pytest.raises(AttributeError):
        h.record_results("a", [ok("https://one.example/"), "not a result"])  # type: ignore[list-item]
    assert h.timeline("https://one.example/") == []
    h.finish_run("a", t(1, 1), {})
    assert h.timeline("https://one.example/") == []


def test_recent_verdicts_follow_each_url_through_finished_runs(h: History) -> None:
    placeholder = Result("#", Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "no URL", reference_id="p1")
    other = "https://other.example.org/"
    run(h, "1", t(1), t(1, 1), ok(), placeholder, ok(other, ref=None))
    run(h, "2", t(2), t(2, 1), broken(), ok(other, ref="r2"))
    run(h, "3", t(3), None, ok())  # crashed: not history
    run(h, "4", t(4), t(4, 1), broken(), broken(other, ref="r2"))
    h.start_run("now", t(5))
    recent = h.recent_verdicts()
    assert recent[(URL, "")] == [(t(1), "ok"), (t(2), "broken"), (t(4), "broken")]  # dated by their start
    # The reference named it first, then none did, then another: one history all the same.
    assert recent[(other, "")] == [(t(1), "ok"), (t(2), "ok"), (t(4), "broken")]
    assert recent[("#", "p1")] == [(t(1), "placeholder")]  # placeholders: told apart by reference
    assert ("#", "p2") not in recent and (URL, "r1") not in recent
    info = compute_trend(recent[(URL, "")], "broken", t(5))
    assert info == TrendInfo(t(2), 3, t(1), "still")


def test_a_renamed_reference_keeps_its_history(h: History) -> None:
    """`refs sync` renamed the reference: the weeks-old failure is still the same failure."""
    run(h, "1", t(1), t(1, 1), ok(ref="ons-table"))
    run(h, "2", t(2), t(2, 1), broken(ref="ons-table"))
    run(h, "3", t(3), t(3, 1), broken(ref="ons-2020-table"))
    h.start_run("now", t(4))
    previous = h.recent_verdicts()[identity(URL, "ons-2020-table")]
    info = compute_trend(previous, "broken", t(4))
    assert info == TrendInfo(t(2), 3, t(1), "still")
    digest_rows = h.results_between(t(1), t(3, 2))
    assert [r.first_failed for r in digest_rows if r.run_id == "3"] == [t(2)]  # as the reports date it


def test_streaks_count_every_run_not_only_the_last_twenty(h: History) -> None:
    run(h, "0", t(1), t(1, 1), ok())
    for day in range(2, 28):  # 26 failing runs in a row
        run(h, f"r{day}", t(day), t(day, 1), broken(ref="r1" if day % 2 else "renamed"))
    h.start_run("now", t(28))
    previous = h.recent_verdicts()[(URL, "")]
    info = compute_trend(previous, "broken", t(28))
    assert info.consecutive_failures == 27 and info.first_failed == t(2) and info.last_ok == t(1)


def test_timeline_is_finished_runs_oldest_first(h: History) -> None:
    run(h, "1", t(1), t(1, 1), ok(ref="a"), broken(ref="b"))
    run(h, "2", t(2), None, broken(ref="a"))
    run(h, "3", t(3), t(3, 1), ok(ref=None))
    rows = h.timeline(URL)
    assert [(r.time, r.verdict, r.reference_id) for r in rows] == [
        (t(1, 1), "ok", "a"), (t(1, 1), "broken", "b"), (t(3, 1), "ok", "")]


# --------------------------------------------------------------------------- cached_ok

def test_cached_ok_honours_age(h: History) -> None:
    run(h, "1", t(1), t(1, 1), ok())
    assert h.cached_ok(URL, 3600, t(1, 2)) is not None
    assert h.cached_ok(URL, 3600, t(1, 3)) is None  # two hours old
    assert h.cached_ok("https://never.example/", 3600, t(1, 2)) is None


@pytest.mark.parametrize("results, expected", [
    P([ok()], True, id="ok"),
    P([broken()], False, id="broken"),
    P([Result(URL, Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT, "301")], False, id="redirected"),
    P([ok(ref="a"), Result(URL, Verdict.CHANGED, Reason.QUOTE_MISSING, "", reference_id="b")], False,
      id="one-citation-changed"),
])
def test_cached_ok_only_for_ok(h: History, results: list[Result], expected: bool) -> None:
    run(h, "1", t(1), t(1, 1), *results)
    assert (h.cached_ok(URL, 86400, t(1, 2)) is not None) is expected


def test_cached_ok_uses_the_latest_finished_run_only(h: History) -> None:
    run(h, "1", t(1), t(1, 1), ok())
    run(h, "2", t(1, 2), None, broken())  # crashed: ignored
    assert h.cached_ok(URL, 86400, t(1, 3)).checked_at == t(1, 1)
    run(h, "3", t(1, 4), t(1, 5), broken())  # the latest finished run says broken
    assert h.cached_ok(URL, 86400, t(1, 6)) is None
    run(h, "4", t(1, 6), None, ok("https://only-crashed.example/"))
    assert h.cached_ok("https://only-crashed.example/", 86400, t(1, 7)) is None


# --------------------------------------------------------------------------- snapshot index

def snap(url: str, sha: str, time: str, h: History, revisit: bool = False, text: str | None = None,
         status: int = 200) -> Snapshot:
    s = Snapshot(f"w-{time[:10]}.warc.gz", sha, 100 + int(time[8:10]), time)
    h.add_snapshot(url, s, status, f"sha256:{sha}", text, revisit)
    return s


def test_snapshot_index_round_trip_and_order(h: History) -> None:
    other = "https://other.example/"
    snap(URL, "x" * 64, t(1), h)
    snap(URL, "x" * 64, t(2), h, revisit=True)
    snap(URL, "x" * 64, t(2), h, revisit=True)  # the same WARC record again: kept once
    snap(other, "z" * 64, t(4), h, status=404)
    snap(URL, "y" * 64, t(3), h)
    rows = h.snapshots(URL)
    assert [(r.time, r.sha256, r.revisit) for r in rows] == [
        (t(3), "y" * 64, False), (t(2), "x" * 64, True), (t(1), "x" * 64, False)]
    assert rows[0] == hist.SnapshotRow(URL, t(3), 200, "y" * 64, "sha256:" + "y" * 64,
                                       "w-2024-01-03.warc.gz", 103, False, False)
    assert rows[0].snapshot == Snapshot("w-2024-01-03.warc.gz", "y" * 64, 103, t(3))
    assert [(r.url, r.status) for r in h.snapshots()][:2] == [(other, 404), (URL, 200)]
    assert len(h.snapshots()) == 4


def test_captures_in_the_same_second_are_all_kept(h: History) -> None:
    for warc in ("run-a.warc.gz", "run-b.warc.gz"):  # two quick runs, one payload, one second
        h.add_snapshot(URL, Snapshot(warc, "a" * 64, 0, t(1)), 200, "sha256:a", None, warc == "run-b.warc.gz")
    assert [(r.warc, r.revisit) for r in h.snapshots(URL)] == [("run-b.warc.gz", True), ("run-a.warc.gz", False)]
    assert h.snapshot_at(URL, t(1)).warc == "run-b.warc.gz"  # the later record wins a tie


@pytest.mark.parametrize("at, expected", [
    P(None, t(3), id="latest"),
    P(t(3), t(3), id="exactly-at"),
    P(t(2, 12), t(2), id="between"),
    P(t(1), t(1), id="first"),
    P("2023-12-31T23:59:59Z", None, id="before-any"),
])
def test_snapshot_at(h: History, at: str | None, expected: str | None) -> None:
    for day in (1, 2, 3):
        snap(URL, f"{day}" * 64, t(day), h)
    row = h.snapshot_at(URL, at)
    assert (row.time if row else None) == expected


def test_original_for_is_the_earliest_non_revisit(h: History) -> None:
    sha = "c" * 64
    snap(URL, sha, t(1), h, revisit=True)            # a revisit never holds the body
    snap("https://mirror.example/", sha, t(2), h)    # the original, under another URL
    snap(URL, sha, t(3), h)
    original = h.original_for(sha)
    assert (original.url, original.time, original.revisit) == ("https://mirror.example/", t(2), False)
    assert h.original_for("d" * 64) is None


def test_text_is_stored_once_per_payload_compressed(h: History, db: Path) -> None:
    text = "Population estimates, mid-2023 — England & Wales. " * 200
    snap(URL, "e" * 64, t(1), h, text=text)
    snap(URL, "e" * 64, t(2), h, revisit=True, text="something else")
    assert h.text_for("e" * 64) == text
    assert h.text_for("f" * 64) is None
    h.save_text("f" * 64, "extracted later")
    h.save_text("f" * 64, "extracted again")
    assert h.text_for("f" * 64) == "extracted later"
    [(blob,)] = raw(db).execute("SELECT text FROM texts WHERE sha256 = ?", ("e" * 64,)).fetchall()
    assert len(blob) < len(text.encode()) / 10


def test_snapshot_without_time_is_refused(h: History) -> None:
    with pytest.raises(ValueError, match="time"):
        h.add_snapshot(URL, Snapshot("w.warc.gz", "a" * 64), 200, "sha256:a", None, False)
    assert h.snapshots() == []


# --------------------------------------------------------------------------- baselines

def test_first_capture_becomes_baseline_then_accept_moves_it(h: History) -> None:
    other = "https://other.example/"
    assert h.baseline(URL) is None
    first = snap(URL, "1" * 64, t(1), h)
    assert h.ensure_baseline(URL, first.sha256, first.time) is True
    later = snap(URL, "2" * 64, t(2), h)
    assert h.ensure_baseline(URL, later.sha256, later.time) is False
    assert h.baseline(URL).time == t(1)
    assert [r.baseline for r in h.snapshots(URL)] == [False, True]

    snap(other, "3" * 64, t(1), h)
    snap(other, "4" * 64, t(3), h)
    assert h.accept(URL) == [URL]
    assert h.baseline(URL).sha256 == "2" * 64
    assert h.baseline(other) is None
    assert h.accept(None) == [other, URL]
    assert h.baseline(other).sha256 == "4" * 64
    assert sum(r.baseline for r in h.snapshots()) == 2
    assert h.accept("https://never.example/") == []


def test_set_baseline_replaces(h: History) -> None:
    snap(URL, "1" * 64, t(1), h)
    snap(URL, "2" * 64, t(2), h)
    h.set_baseline(URL, "2" * 64, t(2))
    h.set_baseline(URL, "1" * 64, t(1))
    assert h.baseline(URL).sha256 == "1" * 64
    assert [r.baseline for r in h.snapshots(URL)] == [False, True]


def test_baseline_falls_back_to_the_payloads_original(h: History) -> None:
    snap(URL, "1" * 64, t(1), h)
    snap(URL, "1" * 64, t(2), h, revisit=True)
    h.set_baseline(URL, "1" * 64, t(5))  # no capture at that exact time
    assert (h.baseline(URL).time, h.baseline(URL).revisit) == (t(1), False)


# --------------------------------------------------------------------------- compute_trend (pure)

NOW = "2024-02-01T00:00:00Z"


@pytest.mark.parametrize("previous, current, expected", [
    P([], "broken", TrendInfo(NOW, 1, None, "new"), id="new-without-history"),
    P([(t(1), "ok")], Verdict.BROKEN, TrendInfo(NOW, 1, t(1), "new"), id="new-after-ok"),
    P([(t(1), "ok"), (t(2), "skipped")], "placeholder", TrendInfo(NOW, 1, t(1), "new"),
      id="new-after-skipped"),
    P([(t(1), "ok"), (t(2), "broken"), (t(3), "error")], "blocked", TrendInfo(t(2), 3, t(1), "still"),
      id="still"),
    P([(t(1), "ok"), (t(2), "ok"), (t(3), "ok"), (t(4), "ok")] + [(t(d), "changed") for d in range(5, 9)],
      "broken", TrendInfo(t(5), 5, t(4), "still"), id="still-old-flips-outside-window"),
    P([(t(1), "broken"), (t(2), "changed")], "ok", TrendInfo(None, 0, NOW, "fixed"), id="fixed"),
    P([(t(1), "broken")], "skipped", TrendInfo(None, 0, None, "fixed"), id="fixed-by-skipped"),
    P([(t(1), "ok"), (t(2), "redirected")], Verdict.OK, TrendInfo(None, 0, NOW, None), id="none-ok"),
    P([(t(1), "redirected")], "skipped", TrendInfo(None, 0, t(1), None), id="none-skipped"),
    P([], "ok", TrendInfo(None, 0, NOW, None), id="none-first-ok"),
    P([(t(1), "broken"), (t(2), "ok")], "broken", TrendInfo(NOW, 1, t(2), "flaky"),
      id="flaky-two-flips-beats-new"),
    P([(t(1), "ok"), (t(2), "broken"), (t(3), "ok")], "ok", TrendInfo(None, 0, NOW, "flaky"),
      id="flaky-while-ok"),
    P([(t(1), "ok"), (t(2), "error"), (t(3), "error")], "error", TrendInfo(t(2), 3, t(1), "still"),
      id="one-flip-is-not-flaky"),
])
def test_compute_trend(previous: list[tuple[str, str]], current: str, expected: TrendInfo) -> None:
    assert compute_trend(previous, current, NOW) == expected


# --------------------------------------------------------------------------- crash safety

CRASHER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from linkcheck.history import History
    from linkcheck.model import Reason, Result, Verdict

    class DiesMidway(list):
        # Iterated inside record_results' transaction: the process dies with it open.
        def __iter__(self):
            for i, item in enumerate(list.__iter__(self)):
                if i == len(self) // 2:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield item

    h = History(Path(sys.argv[1]))
    h.start_run("crashed", "2024-01-02T00:00:00Z")
    for batch in range(10):
        results = [Result(f"https://example.org/{batch}/{i}", Verdict.OK, Reason.OK, "", reference_id="r")
                   for i in range(200)]
        h.record_results("crashed", DiesMidway(results) if batch == 3 else results)
    sys.exit("not killed")
""")


def test_sigkill_mid_batch_leaves_a_consistent_database(db: Path) -> None:
    with History(db) as h:
        run(h, "before", t(1), t(1, 1), ok("https://example.org/0/0", ref="r"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(db)], env=env, capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()

    conn = raw(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # Three whole batches committed; the half-written fourth left no trace.
    assert conn.execute("SELECT count(*) FROM results WHERE run_id = 'crashed'").fetchone()[0] == 600
    conn.close()

    with History(db) as h:
        assert [(r.id, r.finished) for r in h.runs()] == [("crashed", None), ("before", t(1, 1))]
        run(h, "after", t(3), t(3, 1), broken("https://example.org/0/0", ref="r"))
        assert h.recent_verdicts()[("https://example.org/0/0", "")] == [(t(1), "ok"), (t(3), "broken")]
        assert h.timeline("https://example.org/3/0") == []
        assert h.runs()[0].id == "after"


# --------------------------------------------------------------------------- recording a run

def test_a_run_writes_nothing_until_it_finishes_and_then_everything_at_once(tmp_path: Path) -> None:
    from linkcheck.store import EvidenceStore, history_path

    state = tmp_path / "state"
    with History(history_path(state)) as earlier:
        run(earlier, "before", t(1), t(1, 1), broken(URL + "/0"))
    before = list(raw(history_path(state)).iterdump())
    store = EvidenceStore(state, "now", t(2), archive=False, drift_threshold=0.6)
    with store:
        noted = [store.note(ok(f"{URL}/{i}")) for i in range(300)]
        assert (noted[0].trend, noted[0].first_failed, noted[0].last_ok) == ("fixed", None, t(2))
        assert list(raw(history_path(state)).iterdump()) == before  # noted, not written
        revised = Result(f"{URL}/0", Verdict.BROKEN, Reason.HTTP_STATUS, "revised after it was noted",
                         http_status=410, reference_id="r1")
        store.finish([revised, *noted[1:]], t(2, 1), {"ok": 299, "broken": 1})
    with History(history_path(state)) as reader:
        latest = reader.latest_results()
        assert [(r.id, r.finished) for r in reader.runs()] == [("now", t(2, 1)), ("before", t(1, 1))]
    assert len(latest) == 300 and {r.run_id for r in latest} == {"now"}
    assert [(r.verdict, r.detail) for r in latest if r.url == URL + "/0"] == [("broken", "revised after it was noted")]


def test_a_run_is_committed_whole_or_not_at_all(h: History) -> None:
    with pytest.raises(ValueError, match="snapshot time"):
        h.commit_run("bad", t(1), t(1, 1), {}, results=[ok()],
                     snapshots=[(URL, Snapshot("w.warc.gz", "a" * 64, 0, "yesterday"), 200, "sha256:a", False, URL)])
    with pytest.raises(AttributeError):
        h.commit_run("bad", t(1), t(1, 1), {}, results=[ok(), "not a result"],  # type: ignore[list-item]
                     baselines=[(URL, "a" * 64, t(1))], texts=[("a" * 64, "text")])
    assert (h.runs(), h.baseline_urls(), h.text_for("a" * 64)) == ([], set(), None)
    h.commit_run("good", t(1), t(1, 1), {"ok": 1}, results=[ok()], texts=[("a" * 64, "text")],
                 snapshots=[(URL, Snapshot("w.warc.gz", "a" * 64, 0, t(1)), 200, "sha256:a", False, URL)],
                 baselines=[(URL, "a" * 64, t(1))])
    with pytest.raises(ValueError, match="already exists"):
        h.commit_run("good", t(2), t(2, 1), {})
    assert [(r.id, r.finished, r.summary) for r in h.runs()] == [("good", t(1, 1), {"ok": 1})]
    assert (h.baseline(URL) is not None, h.text_for("a" * 64), [r.verdict for r in h.latest_results()]) == (
        True, "text", ["ok"])


def test_a_run_of_many_batches_has_the_rows_one_insert_each_would_make(h: History, tmp_path: Path) -> None:
    """A run is inserted a few hundred rows at a time, each distinct time checked once: its rows are
    those of inserting all at once, every one checked; a bad row after many good ones of the same
    second, in a later batch, still rolls the whole run back."""
    n = 2 * write._BATCH + 7
    results = [ok(f"{URL}/{i}", snapshot=Snapshot("w.warc.gz", f"{i:064x}", i, t(1 + i % 3))) for i in range(n)]
    captures = [(r.url, r.snapshot, 200, "sha256:a", False, r.url) for r in results if r.snapshot]
    baselines = [(r.url, r.snapshot.sha256, r.snapshot.time or "") for r in results if r.snapshot]
    late = write._BATCH + 3
    for bad_captures, bad_baselines, what in (
            ([*captures[:late], (URL, Snapshot("w.warc.gz", "b" * 64, n, "2024-01-02T00:00:00"), 200, "sha256:b",
                                 False, URL), *captures[late:]], baselines, "snapshot time"),
            (captures, [*baselines[:late], (URL, "b" * 64, "2024-01-02 00:00:00Z"), *baselines[late:]],
             "baseline time")):
        with pytest.raises(ValueError, match=what):
            h.commit_run("bad", t(1), t(5), {}, results=results, snapshots=bad_captures, baselines=bad_baselines)
    assert (h.runs(), h.baseline_urls(), h.snapshots()) == ([], set(), [])

    def rows(conn: sqlite3.Connection) -> list[list[tuple[object, ...]]]:
        return [conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
                for table in ("results", "snapshots", "baselines")]

    h.commit_run("many", t(1), t(5), {"ok": n}, results=results, snapshots=captures, baselines=baselines)
    assert [len(table) for table in rows(h._conn)] == [n, n, n]
    with History(tmp_path / "at-once.sqlite") as at_once:
        at_once.start_run("many", t(1))
        at_once.record_results("many", results)
        at_once.add_snapshots(captures)
        assert at_once.ensure_baselines(baselines) == n
        assert rows(h._conn) == rows(at_once._conn)
