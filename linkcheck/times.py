"""The one spelling of a moment across reports, history and archives: UTC, to the second."""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

__all__ = ["TIME_FORMAT", "format_time", "parse_time", "to_second", "utc_now"]

# Sortable as text, which the history database relies on; WARC-Date takes exactly this form too.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def format_time(moment: datetime) -> str:
    """`moment` in UTC as YYYY-MM-DDThh:mm:ssZ (a naive datetime is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # isoformat, not strftime: it is stamped on every response, and strftime costs ten times more.
    return moment.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_time(value: str) -> datetime:
    """The moment a TIME_FORMAT string names; ValueError for any other shape or an impossible date."""
    if not _SHAPE.fullmatch(value):
        raise ValueError(f"time data {value!r} does not match format {TIME_FORMAT!r}")
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)


_said: tuple[int, str] = (-1, "")  # the last second spelled, and its spelling


def to_second(value: str) -> str:
    """A moment written to the microsecond (a WARC-Date) as TIME_FORMAT; others as they are."""
    return value[:19] + "Z" if len(value) > 20 and value[19] == "." else value


def utc_now(*, precise: bool = False) -> str:
    """Now, to the second, or with `precise` to the microsecond (YYYY-MM-DDThh:mm:ss.ffffffZ, as a
    WARC/1.1 WARC-Date may be). The second is spelled once a second, though every response is
    stamped with it."""
    global _said
    now = time.time()
    second = int(now)
    if second != _said[0]:
        _said = (second, format_time(datetime.fromtimestamp(second, timezone.utc)))
    return f"{_said[1][:-1]}.{int((now - second) * 1_000_000):06d}Z" if precise else _said[1]
