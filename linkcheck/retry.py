"""When to try a URL again, and how long to wait first: pure, so the maths is tested without waiting."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from .wire import ErrorKind, FetchOutcome

__all__ = ["backoff", "parse_retry_after", "retry_delay"]

# 5xx gateways and overloaded servers often recover within seconds; 408/429 ask us to come back.
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# A timeout, a reset or a failed lookup may be the network's passing fault, not the site's.
# Refused connections and NXDOMAIN are definite answers and are not retried.
_TRANSIENT_ERRORS = frozenset({ErrorKind.TIMEOUT, ErrorKind.CONNECTION_RESET, ErrorKind.CONNECTION,
                               ErrorKind.DNS_FAILURE})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff(attempt: int, rng: random.Random, base: float = 0.5, cap: float = 8.0) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, so that many links to
    one struggling host do not come back in lockstep."""
    ceiling = min(cap, base * (2 ** attempt))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


def retry_delay(outcome: FetchOutcome, attempt: int, retries: int, retry_after_cap: float,
                rng: random.Random) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to stop and keep this outcome.

    A Retry-After longer than the cap is not waited for: the link is reported as it stands
    (rate-limited) rather than stalling the whole run."""
    if attempt >= retries:
        return None
    if outcome.error is not None:
        return backoff(attempt, rng) if outcome.error in _TRANSIENT_ERRORS else None
    if outcome.status not in _TRANSIENT_STATUS:
        return None
    if outcome.retry_after is not None:
        return outcome.retry_after if outcome.retry_after <= retry_after_cap else None
    return backoff(attempt, rng)
