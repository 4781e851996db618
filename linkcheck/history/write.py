"""How history rows are written: the shapes of results and captures, and a whole run in one transaction."""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..model import Result, Snapshot
from .mementos import remember as remember_mementos
from .rows import MementoRow, reuse_note
from .schema import check_time, transaction

__all__ = ["FIRST_BASELINE", "INSERT_RESULT", "INSERT_SNAPSHOT", "Capture", "commit_run", "result_row", "save_text",
           "snapshot_rows"]

FIRST_BASELINE = "INSERT INTO baselines VALUES (?, ?, ?) ON CONFLICT (url) DO NOTHING"
INSERT_RESULT = "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_SNAPSHOT = ("INSERT INTO snapshots (url, time, status, sha256, digest, warc, warc_offset, revisit, target_uri) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (warc, warc_offset) DO NOTHING")

# One encoder for every row's citations: json.dumps would build one per call.
_CITATIONS = json.JSONEncoder(ensure_ascii=False)

# A capture to index: (url, snapshot, status, payload digest, revisit, target URI).
Capture = tuple[str, Snapshot, int, str, bool, str | None]


def save_text(conn: sqlite3.Connection, sha256: str, text: str) -> None:
    conn.execute("INSERT INTO texts VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
                 (sha256, zlib.compress(text.encode("utf-8"))))


def snapshot_rows(items: Iterable[Capture]) -> Iterator[tuple[Any, ...]]:
    """Rows made one by one as they are inserted: a bad one raises inside the transaction, which
    then rolls back whole."""
    for url, snapshot, status, digest, revisit, target_uri in items:
        if snapshot.time is None or snapshot.offset is None:
            raise ValueError("a snapshot needs its capture time and WARC offset to be indexed")
        check_time(snapshot.time, "snapshot time")
        yield (url, snapshot.time, status, snapshot.sha256, digest, snapshot.warc, snapshot.offset,
               int(revisit), target_uri)


def _baseline_rows(items: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str, str]]:
    for item in items:
        check_time(item[2], "baseline time")
        yield item


def result_row(run_id: str, r: Result) -> tuple[Any, ...]:
    s = r.snapshot
    # The WARC's file name only: a report shows it with the path to the state dir's archive.
    warc = os.path.basename(s.warc) if s else None
    # A reused verdict is kept as its fetch gave it, with that fetch's time: its detail never grows.
    detail = r.detail.removesuffix(reuse_note(r.checked_at)) if r.checked_at else r.detail
    return (run_id, r.url, r.reference_id or "", str(r.verdict), str(r.reason), detail, r.http_status,
            r.final_url, s.sha256 if s else None, warc, s.offset if s else None,
            s.time if s else None, _CITATIONS.encode([c.to_json() for c in r.citations]), r.checked_at)


def _insert(conn: sqlite3.Connection, statement: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """executemany a few hundred rows at a time: made in a batch and then inserted, rows cost less
    than made and inserted one by one, and a batch bounds what is held at once."""
    rows = iter(rows)
    while batch := list(itertools.islice(rows, _BATCH)):
        conn.executemany(statement, batch)


_BATCH = 512


def commit_run(conn: sqlite3.Connection, run_id: str, started: str, finished: str, summary: dict[str, int], *,
               offline: bool, results: Iterable[Result], snapshots: Iterable[Capture],
               texts: Iterable[tuple[str, str]], baselines: Iterable[tuple[str, str, str]],
               mementos: Sequence[MementoRow] = ()) -> None:
    """Rows are made a batch at a time as they are inserted, never all held at once; a bad one rolls the
    whole run back."""
    check_time(started, "started")
    check_time(finished, "finished")
    with transaction(conn):
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
            raise ValueError(f"run {run_id!r} already exists")
        conn.execute("INSERT INTO runs (id, started, finished, summary, offline) VALUES (?, ?, ?, ?, ?)",
                     (run_id, started, finished, json.dumps(summary, sort_keys=True), int(offline)))
        _insert(conn, INSERT_SNAPSHOT, snapshot_rows(snapshots))
        for sha256, text in texts:
            save_text(conn, sha256, text)
        _insert(conn, INSERT_RESULT, (result_row(run_id, r) for r in results))
        _insert(conn, FIRST_BASELINE, _baseline_rows(baselines))
        remember_mementos(conn, mementos)
