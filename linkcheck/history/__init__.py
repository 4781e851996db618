"""What earlier runs saw, kept in state-dir/history.sqlite: runs, results, the snapshot index, baselines."""
from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import InputError
from ..model import FAILING, GOOD, Reason, Result, Snapshot, Verdict
from . import write
from .mementos import answers as memento_answers
from .rows import (
    CachedResult,
    MementoRow,
    ResultRow,
    RunRow,
    SnapshotRow,
    TimelineRow,
    TrendInfo,
    result_row_out,
    reuse_note,
    snapshot_row,
)
from .schema import MIGRATIONS, check_time, migrate, parse_time, transaction
from .trend import carried_trend, compute_trend, identity
from .write import FIRST_BASELINE, INSERT_RESULT, INSERT_SNAPSHOT, Capture, result_row, save_text, snapshot_rows

__all__ = ["MIGRATIONS", "CachedResult", "History", "MementoRow", "ResultRow", "RunRow", "SnapshotRow", "TimelineRow",
           "TrendInfo", "carried_trend", "compute_trend", "identity", "reuse_note"]


# A row's baseline flag, per row and by index: a window over every baseline in one CTE made
# each lookup O(all snapshots), which a run pays once per URL.
_BASELINE_ID = """(SELECT s2.id FROM baselines b JOIN snapshots s2 ON s2.url = b.url AND s2.sha256 = b.sha256
                   WHERE b.url = snapshots.url
                   ORDER BY s2.time = b.time DESC, s2.revisit, s2.time, s2.id LIMIT 1)"""
_SNAPSHOT_SELECT = f"""
    SELECT url, time, status, sha256, digest, warc, warc_offset, revisit, id = {_BASELINE_ID}, target_uri
    FROM snapshots
"""

# Runs that count: finished (a crashed run's sample is partial) and not offline.
_COUNTED = "runs.finished IS NOT NULL AND runs.offline = 0"
_LATEST_FIRST = "ORDER BY runs.finished DESC, runs.started DESC, runs.rowid DESC"
_NEWEST = "ORDER BY time DESC, id DESC"
_NO_SNAPSHOT = "snapshot_sha256 = NULL, snapshot_warc = NULL, snapshot_offset = NULL, snapshot_time = NULL"
_SET_BASELINE = ("INSERT INTO baselines VALUES (?, ?, ?) "
                 "ON CONFLICT (url) DO UPDATE SET sha256 = excluded.sha256, time = excluded.time")


class History:
    """The history database. Every method is one short transaction, committed before it returns,
    so a process killed at any moment leaves only whole batches behind; a run is one batch
    (`commit_run`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(str(self.path), f"cannot open the history database ({exc})") from exc
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, str(self.path))
        except sqlite3.Error as exc:
            conn.close()
            raise InputError(str(self.path), f"not a usable history database ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ runs and results

    def start_run(self, run_id: str, started: str) -> None:
        check_time(started, "started")
        with transaction(self._conn) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise ValueError(f"run {run_id!r} already exists")
            conn.execute("INSERT INTO runs (id, started) VALUES (?, ?)", (run_id, started))

    def finish_run(self, run_id: str, finished: str, summary: dict[str, int], *, offline: bool = False) -> None:
        """Only finished runs count for trends, timelines and the cache: a crashed run's
        results may be a partial, unrepresentative sample. An offline run is kept, but no
        trend, streak, cache or digest counts it: its errors say nothing about the sources."""
        check_time(finished, "finished")
        with transaction(self._conn) as conn:
            cur = conn.execute("UPDATE runs SET finished = ?, summary = ?, offline = ? WHERE id = ?",
                               (finished, json.dumps(summary, sort_keys=True), int(offline), run_id))
            if cur.rowcount != 1:
                raise ValueError(f"no run {run_id!r}")

    def record_results(self, run_id: str, results: Sequence[Result]) -> None:
        """Store a batch atomically; a result recorded again in the same run replaces the earlier one."""
        with transaction(self._conn) as conn:
            if not conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise ValueError(f"no run {run_id!r}: start_run first")
            conn.executemany(INSERT_RESULT, (result_row(run_id, r) for r in results))

    def commit_run(self, run_id: str, started: str, finished: str, summary: dict[str, int], *,
                   offline: bool = False, results: Iterable[Result] = (), snapshots: Iterable[Capture] = (),
                   texts: Iterable[tuple[str, str]] = (), baselines: Iterable[tuple[str, str, str]] = (),
                   mementos: Sequence[MementoRow] = ()) -> None:
        """A whole run in one transaction: its row, finished; its captures indexed; the main texts
        it read (sha256, text); its results; and (url, sha256, time) made baselines where a URL has
        none; what the web archives answered (`mementos`). A process killed before this commits
        leaves history as it was; an `offline` run is kept, but nothing counts it."""
        write.commit_run(self._conn, run_id, started, finished, summary, offline=offline, results=results,
                         snapshots=snapshots, texts=texts, baselines=baselines, mementos=mementos)

    def runs(self, limit: int = 20) -> list[RunRow]:
        """Newest first, unfinished (crashed) runs included."""
        rows = self._conn.execute("SELECT id, started, finished, summary, offline FROM runs "
                                  "ORDER BY started DESC, rowid DESC LIMIT ?", (limit,)).fetchall()
        return [RunRow(run_id, started, finished, json.loads(summary) if summary else {}, bool(offline))
                for run_id, started, finished, summary, offline in rows]

    def recent_verdicts(self, runs: int = 20) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """For every identity (see `identity`), (started, verdict) in the last `runs` counted runs,
        oldest first: what trends are computed from, in one query for the whole run. Each run is
        dated by its start, as its own report dated a failure it found or a good result: the finish
        is not known while results are judged. A streak that fills the whole window is read back to
        its start: streaks count every run."""
        rows = self._conn.execute(
            "SELECT r.url, r.reference_id, runs.started, r.verdict FROM results r JOIN runs ON runs.id = r.run_id "
            f"WHERE r.run_id IN (SELECT id FROM runs WHERE {_COUNTED.replace('runs.', '')} "
            f"{_LATEST_FIRST.replace('runs.', '')} LIMIT ?) ORDER BY runs.finished, runs.started, runs.rowid",
            (runs,)).fetchall()
        found = _by_identity(rows)
        window_start = min((v[0][0] for v in found.values() if v), default=None)
        if window_start is not None and self._conn.execute(
                f"SELECT 1 FROM runs WHERE {_COUNTED} AND runs.started < ? LIMIT 1", (window_start,)).fetchone():
            for key, verdicts in found.items():
                if all(v in FAILING for _, v in verdicts):
                    found[key] = self._whole_streak(key, verdicts)
        return found

    def _whole_streak(self, key: tuple[str, str], recent: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """An identity's verdicts from its last good one (if any) on, when the window holds only failures."""
        url, reference_id = key
        rows = self._conn.execute(
            "SELECT r.url, r.reference_id, runs.started, r.verdict FROM results r JOIN runs ON runs.id = r.run_id "
            f"WHERE r.url = ?1 AND (?2 = '' OR r.reference_id = ?2) AND {_COUNTED} AND runs.finished >= COALESCE(("
            "  SELECT MAX(g.finished) FROM results gr JOIN runs g ON g.id = gr.run_id "
            f"  WHERE gr.url = ?1 AND (?2 = '' OR gr.reference_id = ?2) AND {_COUNTED.replace('runs.', 'g.')} "
            f"  AND gr.verdict NOT IN {_FAILING_SQL}), '') "
            "ORDER BY runs.finished, runs.started, runs.rowid", (url, reference_id)).fetchall()
        return _by_identity(rows).get(key, recent)

    def last_good_snapshot(self, url: str) -> tuple[Snapshot, str] | None:
        """(snapshot, the URL it was captured at) of the latest finished run in which `url` was judged
        ok or redirected: the evidence as it was when it still held (a 200 "not found" page never
        qualifies)."""
        row = self._conn.execute(
            "SELECT r.snapshot_warc, r.snapshot_sha256, r.snapshot_offset, r.snapshot_time, "
            "COALESCE(r.final_url, r.url) "
            "FROM results r JOIN runs ON runs.id = r.run_id "
            f"WHERE r.url = ? AND r.verdict IN {_GOOD_SQL} AND r.snapshot_sha256 IS NOT NULL "
            f"AND {_COUNTED} {_LATEST_FIRST} LIMIT 1", (url,)).fetchone()
        return (Snapshot(*row[:4]), row[4].partition("#")[0]) if row else None

    def cached_ok(self, url: str, max_age_seconds: float, now: str) -> CachedResult | None:
        """The URL's verdict from its latest finished run, if that was ok and its last real fetch
        recent enough: a verdict reused run after run still ages from the fetch that made it.

        Every result for the URL in that run must be ok: a cached URL is not fetched again,
        so one citation's missing quote must not be hidden by another's success."""
        latest = self._conn.execute(
            "SELECT runs.id, runs.finished FROM results r JOIN runs ON runs.id = r.run_id "
            f"WHERE r.url = ? AND {_COUNTED} {_LATEST_FIRST} LIMIT 1", (url,)).fetchone()
        if latest is None:
            return None
        run_id, finished = latest
        rows = self._conn.execute(
            "SELECT verdict, reason, detail, http_status, final_url, snapshot_sha256, snapshot_warc, "
            "snapshot_offset, snapshot_time, checked_at FROM results WHERE run_id = ? AND url = ? "
            "ORDER BY reference_id", (run_id, url)).fetchall()
        if any(row[0] != Verdict.OK for row in rows):
            return None
        verdict, reason, detail, status, final_url, sha256, warc, offset, time, checked_at = rows[0]
        fetched = checked_at or finished
        if (parse_time(now) - parse_time(fetched)).total_seconds() > max_age_seconds:
            return None
        try:
            reason_code = Reason(reason)
        except ValueError:  # a code this version no longer knows: check afresh
            return None
        snapshot = Snapshot(warc, sha256, offset, time) if sha256 is not None else None
        return CachedResult(Verdict.OK, reason_code, detail, status, final_url, snapshot, fetched)

    def timeline(self, url: str) -> list[TimelineRow]:
        """Every finished run's verdict on the URL (all citations of it), oldest first."""
        rows = self._conn.execute(
            "SELECT runs.finished, r.verdict, r.reason, r.http_status, r.detail, r.snapshot_sha256, "
            "r.reference_id FROM results r JOIN runs ON runs.id = r.run_id "
            "WHERE r.url = ? AND runs.finished IS NOT NULL "
            "ORDER BY runs.finished, runs.started, runs.rowid, r.reference_id", (url,)).fetchall()
        return [TimelineRow(*row) for row in rows]

    # ------------------------------------------------------------------ snapshot index

    def add_snapshot(self, url: str, snapshot: Snapshot, status: int, digest: str, text: str | None,
                     revisit: bool, target_uri: str | None = None) -> None:
        """Index one capture; the same WARC record added twice is kept once. The page's main text
        is stored once per payload so that comparisons need not reopen the WARC."""
        self.add_snapshots([(url, snapshot, status, digest, revisit, target_uri)])
        if text is not None:
            self.save_text(snapshot.sha256, text)

    def add_snapshots(self, items: Sequence[Capture]) -> None:
        """Index captures (url, snapshot, status, digest, revisit, target URI) in one transaction."""
        with transaction(self._conn) as conn:
            conn.executemany(INSERT_SNAPSHOT, snapshot_rows(items))

    def _select(self, where: str, params: tuple[Any, ...], tail: str) -> list[SnapshotRow]:
        rows = self._conn.execute(f"{_SNAPSHOT_SELECT} WHERE {where} {tail}", params).fetchall()
        return [snapshot_row(row) for row in rows]

    def snapshots(self, url: str | None = None) -> list[SnapshotRow]:
        """Newest first; every URL's when `url` is None."""
        return self._select("?1 IS NULL OR url = ?1", (url,), _NEWEST)

    def snapshot_at(self, url: str, at: str | None = None) -> SnapshotRow | None:
        """What the archive held for the URL at `at`: the latest capture at or before it."""
        rows = self._select("url = ?1 AND (?2 IS NULL OR time <= ?2)", (url, at), f"{_NEWEST} LIMIT 1")
        return rows[0] if rows else None

    def original_for(self, sha256: str) -> SnapshotRow | None:
        """The capture that holds the body a revisit record points to: the earliest non-revisit."""
        rows = self._select("sha256 = ? AND revisit = 0", (sha256,), "ORDER BY time, id LIMIT 1")
        return rows[0] if rows else None

    def save_text(self, sha256: str, text: str) -> None:
        """Keep a payload's extracted main text; the first text stored for a payload stays."""
        with transaction(self._conn) as conn:
            save_text(conn, sha256, text)

    def text_for(self, sha256: str) -> str | None:
        row = self._conn.execute("SELECT text FROM texts WHERE sha256 = ?", (sha256,)).fetchone()
        return zlib.decompress(row[0]).decode("utf-8") if row else None

    def prune_index(self, dropped: Sequence[tuple[str, int]], moved: dict[str, dict[int, int]],
                    before_commit: Callable[[], None]) -> None:
        """Forget dropped captures (warc, offset) and move kept ones (warc -> old -> new offset) in
        one transaction; `before_commit` puts the rewritten WARC files in place inside it."""
        with transaction(self._conn) as conn:
            conn.executemany("DELETE FROM snapshots WHERE warc = ? AND warc_offset = ?", dropped)
            conn.executemany(f"UPDATE results SET {_NO_SNAPSHOT} WHERE snapshot_warc = ? AND snapshot_offset = ?",
                             dropped)
            for warc, offsets in moved.items():
                # Offsets only shrink, so in ascending order no row lands on one not yet moved.
                for old, new in sorted(offsets.items()):
                    if old != new:
                        conn.execute("UPDATE snapshots SET warc_offset = ? WHERE warc = ? AND warc_offset = ?",
                                     (new, warc, old))
                        conn.execute("UPDATE results SET snapshot_offset = ? "
                                     "WHERE snapshot_warc = ? AND snapshot_offset = ?", (new, warc, old))
            conn.execute("DELETE FROM texts WHERE sha256 NOT IN (SELECT sha256 FROM snapshots) "
                         "AND sha256 NOT IN (SELECT sha256 FROM baselines)")
            before_commit()

    def last_good_of_failing(self) -> list[Snapshot]:
        """The last good capture of every URL failing in the latest counted run: what a broken
        result shows, and what `archive prune` must keep."""
        latest = self._conn.execute(f"SELECT id FROM runs WHERE {_COUNTED} {_LATEST_FIRST} LIMIT 1").fetchone()
        if latest is None:
            return []
        urls = [url for (url,) in self._conn.execute(
            f"SELECT DISTINCT url FROM results WHERE run_id = ? AND verdict IN {_FAILING_SQL}", (latest[0],))]
        return [kept[0] for url in urls if (kept := self.last_good_snapshot(url)) is not None]

    # ------------------------------------------------------------------ mementos

    def memento_answers(self) -> dict[tuple[str, str], MementoRow]:
        return memento_answers(self._conn)

    # ------------------------------------------------------------------ baselines

    def baseline_rows(self) -> list[SnapshotRow]:
        """Every URL's baseline capture."""
        return self._select(f"id = {_BASELINE_ID}", (), "")

    def baseline(self, url: str) -> SnapshotRow | None:
        """The capture the URL is compared against: the one at the baseline's time, else the
        earliest non-revisit capture of the baseline payload."""
        rows = self._select(f"url = ? AND id = {_BASELINE_ID}", (url,), "")
        return rows[0] if rows else None

    def archived_payloads(self) -> set[str]:
        """The sha256 of every payload stored in full: one query, so a run asks original_for
        only about payloads it has seen before."""
        return {sha for (sha,) in self._conn.execute("SELECT DISTINCT sha256 FROM snapshots WHERE revisit = 0")}

    def baseline_urls(self) -> set[str]:
        """Every URL that has a baseline: one query, so a run looks up only those."""
        return {url for (url,) in self._conn.execute("SELECT url FROM baselines")}

    def set_baseline(self, url: str, sha256: str, time: str) -> None:
        check_time(time, "baseline time")
        with transaction(self._conn) as conn:
            conn.execute(_SET_BASELINE, (url, sha256, time))

    def ensure_baseline(self, url: str, sha256: str, time: str) -> bool:
        """Make a URL's first good capture its baseline; later ones change only by accept()."""
        return self.ensure_baselines([(url, sha256, time)]) == 1

    def ensure_baselines(self, items: Sequence[tuple[str, str, str]]) -> int:
        """ensure_baseline for many (url, sha256, time) in one transaction; returns how many were set."""
        for _, _, time in items:
            check_time(time, "baseline time")
        with transaction(self._conn) as conn:
            before = conn.total_changes
            conn.executemany(FIRST_BASELINE, items)
            return conn.total_changes - before

    def latest_reason(self, url: str) -> str | None:
        """The reason of the URL's (with any fragment) result in its latest counted run; a missing
        quote wins over the others of that run."""
        rows = self._conn.execute(
            "SELECT runs.id, r.reason FROM results r JOIN runs ON runs.id = r.run_id "
            f"WHERE (r.url = ?1 OR substr(r.url, 1, length(?1) + 1) = ?1 || '#') AND {_COUNTED} "
            f"{_LATEST_FIRST}", (url,)).fetchall()
        latest = [reason for run_id, reason in rows if run_id == rows[0][0]] if rows else []
        return str(Reason.QUOTE_MISSING) if str(Reason.QUOTE_MISSING) in latest else next(iter(latest), None)

    def accept(self, url: str | None) -> list[str]:
        """Take each URL's latest capture (every URL's when `url` is None) as its new baseline:
        the change was reviewed and is fine. Returns the URLs that have a capture to accept."""
        with transaction(self._conn) as conn:
            rows = conn.execute(
                "SELECT url, sha256, time FROM ("
                "  SELECT url, sha256, time, ROW_NUMBER() OVER ("
                "    PARTITION BY url ORDER BY time DESC, id DESC) AS n"
                "  FROM snapshots WHERE ?1 IS NULL OR url = ?1) "
                "WHERE n = 1 ORDER BY url", (url,)).fetchall()
            conn.executemany(_SET_BASELINE, rows)
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ digests

    def latest_offline(self) -> str | None:
        """When the latest finished run ended, if that run was offline: the digest says so."""
        row = self._conn.execute(f"SELECT finished, offline FROM runs WHERE finished IS NOT NULL "
                                 f"{_LATEST_FIRST} LIMIT 1").fetchone()
        return str(row[0]) if row and row[1] else None

    def latest_results(self, before: str | None = None) -> list[ResultRow]:
        """Every result of the latest counted run (the latest finished before `before`, if given);
        offline runs are passed over."""
        latest = self._conn.execute(
            f"SELECT id FROM runs WHERE {_COUNTED} AND (?1 IS NULL OR finished < ?1) "
            f"{_LATEST_FIRST} LIMIT 1", (before,)).fetchone()
        if latest is None:
            return []
        rows = self._conn.execute(f"{_RESULT_SELECT} WHERE r.run_id = ? ORDER BY r.url, r.reference_id",
                                  (latest[0],)).fetchall()
        return [result_row_out(row) for row in rows]

    def results_between(self, since: str, until: str) -> list[ResultRow]:
        """Every result of every run finished in [since, until], oldest run first."""
        check_time(since, "since")
        check_time(until, "until")
        rows = self._conn.execute(  # runs drive the search: results are found by run id, never scanned
            f"{_RESULT_SELECT} WHERE r.run_id IN (SELECT id FROM runs WHERE finished BETWEEN ? AND ? AND offline = 0) "
            "ORDER BY runs.finished, runs.started, runs.rowid, r.url, r.reference_id", (since, until)).fetchall()
        return [result_row_out(row) for row in rows]


def _sql_in(verdicts: frozenset[Verdict]) -> str:
    """A verdict group of the model as an SQL IN-list, `('broken', 'changed')`: built from the enum's
    values (lower-case words), so no query spells a group by hand."""
    assert all(v.value.isidentifier() for v in verdicts)
    return "(" + ", ".join(f"'{v.value}'" for v in sorted(verdicts)) + ")"


_FAILING_SQL = _sql_in(FAILING)
_GOOD_SQL = _sql_in(GOOD)
# The streak start is one indexed look-up per failing row: the start of the earliest failing run
# after the citation's last non-failing run (both at or before this row's run), as reports date it.
# In SQL, `identity`: a URL's rows whatever their reference; a placeholder's by its reference.
_SAME_IDENTITY = "(instr(r.url, '://') > 0 OR {other}.reference_id = r.reference_id)"
_RESULT_SELECT = f"""
    SELECT runs.id, runs.finished, r.url, r.reference_id, r.verdict, r.reason, r.detail, r.http_status,
           r.final_url, r.citations,
           CASE WHEN r.verdict IN {_FAILING_SQL} THEN (
               SELECT MIN(f.started) FROM results fr JOIN runs f ON f.id = fr.run_id
               WHERE fr.url = r.url AND {_SAME_IDENTITY.format(other="fr")} AND f.finished <= runs.finished
                 AND f.offline = 0 AND f.finished > COALESCE((
                     SELECT MAX(g.finished) FROM results gr JOIN runs g ON g.id = gr.run_id
                     WHERE gr.url = r.url AND {_SAME_IDENTITY.format(other="gr")} AND g.finished <= runs.finished
                       AND g.offline = 0 AND gr.verdict NOT IN {_FAILING_SQL}), ''))
           END
    FROM results r JOIN runs ON runs.id = r.run_id
"""


def _by_identity(rows: Sequence[tuple[str, str, str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(url, reference_id, run time, verdict) rows, oldest first, grouped by identity: one verdict
    per run, a failing one if any (two references with one URL were once two results)."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for url, reference_id, time, verdict in rows:
        verdicts = found.setdefault(identity(url, reference_id), [])
        if verdicts and verdicts[-1][0] == time:
            if verdict in FAILING:
                verdicts[-1] = (time, verdict)
            continue
        verdicts.append((time, verdict))
    return found
