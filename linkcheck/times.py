"""The one spelling of a moment across reports, history and archives: UTC, to the second."""
from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["TIME_FORMAT", "format_time", "parse_time", "utc_now"]

# Sortable as text, which the history database relies on; WARC-Date takes exactly this form too.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(moment: datetime) -> str:
    """`moment` in UTC as YYYY-MM-DDThh:mm:ssZ (a naive datetime is taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=timezone.utc)


def utc_now() -> str:
    return format_time(datetime.now(timezone.utc))
