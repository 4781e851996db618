"""Calendar dates as people write them in citations ("12 October 2020", "2020-10-12"), read to ISO form."""
from __future__ import annotations

import re
from datetime import date, datetime

__all__ = ["ACCESSED", "as_date", "find_accessed", "parse_date"]

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
           "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
_DAY_MONTH_YEAR = rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}"
_MONTH_DAY_YEAR = rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
_ISO = r"\d{4}-\d\d-\d\d"
_DATE = rf"(?:{_ISO}|{_DAY_MONTH_YEAR}|{_MONTH_DAY_YEAR})"
# "(accessed 12 October 2020)", "Accessed: 12 October 2020", "accessed on 2020-10-12", "last accessed ...".
# The spaces are taken whole (a date starts with neither a space nor a colon): given back one at
# a time, a run of them after "accessed" took time cubic in its length.
ACCESSED = re.compile(rf"\baccessed(?:\s+on)?\s*+:?\s*+(?P<date>{_DATE})", re.IGNORECASE)
_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y")


def parse_date(text: str) -> str | None:
    """The ISO date (YYYY-MM-DD) `text` names, or None when it names no real date."""
    cleaned = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b", "", text.strip())
    cleaned = " ".join(cleaned.replace(",", " ").replace(".", " ").split())
    cleaned = re.sub(r"\bsept\b", "sep", cleaned, flags=re.IGNORECASE)
    for fmt in _FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def as_date(value: object) -> str | None:
    """A YAML value (a date, or a string in any form parse_date reads) as an ISO date, else None."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return parse_date(value)
    return None


def find_accessed(text: str, near: int = 0) -> str | None:
    """The access date stated in `text` ("accessed 12 October 2020"), the first one at or after
    position `near` (where the citation sits), else the last one before it; None when there is none."""
    found = [(m.start(), parse_date(m.group("date"))) for m in ACCESSED.finditer(text)]
    found = [(at, day) for at, day in found if day]
    after = [day for at, day in found if at >= near]
    before = [day for at, day in found if at < near]
    return after[0] if after else (before[-1] if before else None)
