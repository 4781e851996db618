"""The end of a run writes the same bytes and rows as the plain ways of writing them: report.json as
the json module encodes each result, a few hundred at a time; history rows in one transaction as
rows recorded one run step at a time."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkcheck.history import History
from linkcheck.model import Citation, Reason, Result, RunReport, Snapshot, Verdict
from linkcheck.reports import json as report_json


def _result(i: int, shape: int) -> Result:
    """Results that differ in every field history keeps or leaves empty (None), by `shape`'s bits."""
    url = f"https://example.org/{i % 7}" if shape & 64 else f"https://example.org/é/{i}"
    snapshot = Snapshot(f"r-{i}.warc.gz", f"{i:064x}", i if shape & 2 else None,
                        "2024-01-02T03:04:05Z" if shape & 4 else None) if shape & 1 else None
    return Result(url, Verdict.BROKEN if shape & 8 else Verdict.OK, Reason.OK, f"HTTP {i}\u2028",
                  http_status=200 + i if shape & 16 else None, final_url=url if shape & 32 else None,
                  citations=(Citation("doc.md", i if shape & 128 else None, f"text {i} \"q\"", url),),
                  reference_id=f"r{i % 3}" if shape & 256 else None, snapshot=snapshot,
                  checked_at="2024-01-01T00:00:00Z" if shape & 512 else None, similarity=i / 7 if shape & 8 else None)


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT rowid, * FROM results ORDER BY rowid").fetchall()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1023), max_size=40), st.sampled_from([1, 3, 600]))
def test_a_run_commits_the_rows_binding_every_value_makes(shapes: list[int], repeat: int) -> None:
    """Rows committed with the run are the rows recorded on their own, with the same rowids (a URL
    and reference given twice replaces the first row), across batches."""
    results = [_result(i, shape) for i, shape in enumerate(shapes * repeat)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with History(folder / "fast.sqlite") as fast:
            fast.commit_run("run", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", {}, results=results)
        with History(folder / "plain.sqlite") as plain:
            plain.start_run("run", "2024-01-01T00:00:00Z")
            plain.record_results("run", results)
        assert _rows(folder / "fast.sqlite") == _rows(folder / "plain.sqlite")


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 600])
def test_report_json_is_each_result_as_the_json_module_encodes_it(n: int) -> None:
    """Written a few hundred results at a time, report.json is byte for byte the run line and one
    line per result, each as json.dumps writes it."""
    report = RunReport(id="r", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:01Z", tool_version="1",
                       results=tuple(_result(i, (i * 37) % 1024) for i in range(n)), documents=("doc.md",))
    head = json.dumps(report.to_json(results=False), ensure_ascii=False)[:-1] + ', "results": '
    lines = [json.dumps(r.to_json(), ensure_ascii=False) for r in report.results]
    expected = head + ("[\n" + ",\n".join(lines) + "\n]}\n" if lines else "[]}\n")
    assert report_json.render(report) == expected
