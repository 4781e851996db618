"""The history database's schema: numbered migrations, transactions, and the shape of its times."""
from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InputError
from ..times import TIME_FORMAT, parse_time

__all__ = ["MIGRATIONS", "TIME_FORMAT", "check_time", "migrate", "parse_time", "transaction"]

_TIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

# Migration N (1-based) takes a database from user_version N-1 to N. Append, never edit:
# databases in the field have already run the old ones.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, started TEXT NOT NULL,
        finished TEXT,                  -- NULL: crashed, or still going
        summary TEXT                    -- JSON {verdict: count}, set when finished
    );
    CREATE TABLE results (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        reference_id TEXT NOT NULL DEFAULT '',  -- '' when none; placeholders all have url '#'
        verdict TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL,
        http_status INTEGER, final_url TEXT,
        snapshot_sha256 TEXT, snapshot_warc TEXT, snapshot_offset INTEGER, snapshot_time TEXT,
        PRIMARY KEY (run_id, url, reference_id)
    );
    CREATE INDEX results_by_identity ON results (url, reference_id);
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL, time TEXT NOT NULL, status INTEGER NOT NULL,
        sha256 TEXT NOT NULL,           -- of the payload, hex
        digest TEXT NOT NULL,           -- WARC-Payload-Digest as written
        warc TEXT NOT NULL, warc_offset INTEGER,
        revisit INTEGER NOT NULL CHECK (revisit IN (0, 1)),
        UNIQUE (warc, warc_offset)      -- a capture is its WARC record; times are only to the second
    );
    CREATE INDEX snapshots_by_url ON snapshots (url, time);
    CREATE INDEX snapshots_by_payload ON snapshots (sha256, revisit, time);
    -- zlib-compressed UTF-8 main text, once per payload
    CREATE TABLE texts (sha256 TEXT PRIMARY KEY, text BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE baselines (url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, time TEXT NOT NULL) WITHOUT ROWID;
    """,
    """
    -- the WARC-Target-URI of the capture, which a revisit record must name
    ALTER TABLE snapshots ADD COLUMN target_uri TEXT;
    """,
    """
    -- JSON [{document, line, text[, page]}]: where the documents cite the URL (NULL before this column)
    ALTER TABLE results ADD COLUMN citations TEXT;
    """,
    """
    -- 1 when the run found its own network down: no trend, streak or digest counts it
    ALTER TABLE runs ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
    """,
    """
    -- a verdict reused under --cache-ttl: when it was last fetched (NULL: fetched in its own run)
    ALTER TABLE results ADD COLUMN checked_at TEXT;
    """,
    """
    -- what the web archives (Memento TimeGates) answered for a source and the date it was cited:
    -- the capture that became its baseline, and the latest one at or before the date (a broken
    -- source's archived copy); NULL: they hold none. Asked once per source and date.
    CREATE TABLE mementos (
        url TEXT NOT NULL, cited TEXT NOT NULL, asked TEXT NOT NULL,
        memento_url TEXT, memento_time TEXT, before_url TEXT, before_time TEXT,
        PRIMARY KEY (url, cited)
    ) WITHOUT ROWID;
    """,
]


def check_time(value: str, what: str) -> None:
    """Refuse times in any other shape: the queries compare them as strings."""
    if not isinstance(value, str) or not _is_time(value):
        raise ValueError(f"{what} must be YYYY-MM-DDThh:mm:ssZ, not {value!r}")


@functools.lru_cache(maxsize=1024)  # a run's rows share a few seconds: each is parsed once
def _is_time(value: str) -> bool:
    if not _TIME_SHAPE.fullmatch(value):
        return False
    parse_time(value)  # and a real date (ValueError names what is wrong with it)
    return True




def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements, so it runs inside our transaction
    (executescript would commit first)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer
            buffer = ""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, where: str) -> None:
    """Bring the schema up to date, all pending migrations in one transaction."""
    target = len(MIGRATIONS)
    if _user_version(conn) == target:
        return
    with transaction(conn):
        version = _user_version(conn)  # another process may have migrated while we waited
        if version > target:
            raise InputError(where, f"made by a newer linkcheck (schema {version})")
        for number in range(version + 1, target + 1):
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
