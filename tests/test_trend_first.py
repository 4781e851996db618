"""A verdict no earlier run gave (every source of a first run) skips the count back over earlier
runs: its history fields are still those the whole rule gives."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from linkcheck.history import trend
from linkcheck.model import Verdict

_VERDICTS = st.sampled_from([str(v) for v in Verdict]) | st.text(max_size=8)


@given(_VERDICTS, st.sampled_from(["2024-01-01T00:00:00Z", "2026-12-04T21:00:00Z"]))
def test_a_first_verdicts_trend_is_the_whole_rules(current: str, now: str) -> None:
    assert trend.compute_trend([], current, now) == trend._trend([], current, now)
    assert trend.compute_trend((), current, now) == trend._trend([], current, now)
