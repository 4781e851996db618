"""How a citation fares across runs: new, still, fixed or flaky. Pure, so every rule is tested alone."""
from __future__ import annotations

from collections.abc import Sequence

from ..model import FAILING, GOOD, identity
from .rows import TrendInfo

__all__ = ["carried_trend", "compute_trend", "identity"]

_FLAKY_WINDOW = 5   # verdicts looked at, the current one included
_FLAKY_FLIPS = 2    # failing/not-failing changes within the window that make a URL flaky


def _fails(verdict: str) -> bool:
    """A verdict as history stores it (its text) fails the way the model's group says."""
    return verdict in FAILING


def carried_trend(previous: Sequence[tuple[str, str]]) -> TrendInfo:
    """The history fields of a result an offline run could not check: the streak and last ok
    as the earlier runs left them, no trend, since nothing was learnt about the source."""
    previous = list(previous)
    if not previous:
        return TrendInfo(None, 0, None, None)
    *before, (time, verdict) = previous
    info = compute_trend(before, verdict, time)
    return TrendInfo(info.first_failed, info.consecutive_failures, info.last_ok, None)


def compute_trend(previous: Sequence[tuple[str, str]], current: str, now: str) -> TrendInfo:
    """The history fields for a verdict, from (start time, verdict) of earlier runs, oldest first;
    `now` is this run's start.

    Pure, so every streak and flip rule is tested without a database."""
    previous = list(previous)
    failing = _fails(current)
    streak, streak_start = 0, None
    for time, verdict in reversed(previous):
        if not _fails(verdict):
            break
        streak, streak_start = streak + 1, time
    if current in GOOD:
        last_ok: str | None = now
    else:
        last_ok = next((t for t, v in reversed(previous) if v in GOOD), None)
    window = [_fails(v) for _, v in previous[-(_FLAKY_WINDOW - 1):]] + [failing]
    flips = sum(a != b for a, b in zip(window, window[1:], strict=False))
    previous_failed = bool(previous) and _fails(previous[-1][1])
    if flips >= _FLAKY_FLIPS:
        trend: str | None = "flaky"
    elif failing:
        trend = "still" if previous_failed else "new"
    else:
        trend = "fixed" if previous_failed else None
    if not failing:
        return TrendInfo(None, 0, last_ok, trend)
    return TrendInfo(streak_start if streak else now, streak + 1, last_ok, trend)
