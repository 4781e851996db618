"""The progress line costs a terminal write a tenth of a second, not one per link, and ends on the total."""
from __future__ import annotations

import pytest

from linkcheck.cli.options import Progress


def test_a_fast_run_draws_its_progress_a_few_times_and_always_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(enabled=True)
    for done in range(1, 5001):
        progress(done, 5000)
    drawn = capsys.readouterr().err.split("\r")[1:]
    assert 2 <= len(drawn) < 100  # the first one and the last one, and a few as time passes
    assert drawn[0].endswith(" 1/5000") and drawn[-1].endswith(" 5000/5000")


def test_a_disabled_progress_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(enabled=False)
    progress(1, 2)
    progress(2, 2)
    assert capsys.readouterr().err == ""
