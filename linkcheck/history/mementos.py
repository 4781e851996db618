"""What the web archives answered for each source and the date it was cited: asked once, remembered."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from .rows import MementoRow

__all__ = ["answers", "remember"]


def answers(conn: sqlite3.Connection) -> dict[tuple[str, str], MementoRow]:
    """{(url, cited date): what the archives answered}: one query, read once a run."""
    rows = conn.execute("SELECT url, cited, asked, memento_url, memento_time, before_url, before_time "
                        "FROM mementos").fetchall()
    return {(row[0], row[1]): MementoRow(*row) for row in rows}


def remember(conn: sqlite3.Connection, rows: Sequence[MementoRow]) -> None:
    """Keep the archives' answers (the latest for a source and date wins), so no later run asks again."""
    conn.executemany("INSERT INTO mementos VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url, cited) DO UPDATE "
                     "SET asked = excluded.asked, memento_url = excluded.memento_url, "
                     "memento_time = excluded.memento_time, before_url = excluded.before_url, "
                     "before_time = excluded.before_time", [tuple(row) for row in rows])
