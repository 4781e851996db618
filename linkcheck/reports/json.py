"""report.json: the versioned, machine-read report (its schema is RunReport.to_json)."""
from __future__ import annotations

import json

from ..model import RunReport

__all__ = ["render"]

_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one, not one per result as json.dumps would make


def render(report: RunReport) -> str:
    """The run and its summary on the first line, then one result per line: easy to grep and to
    diff from run to run, and quick to write (an indented dump takes json's pure-Python path,
    about four times slower on a report of thousands of results)."""
    data = report.to_json()
    results = [_ENCODER.encode(r) for r in data.pop("results")]
    head = _ENCODER.encode(data)[:-1]  # an object: its closing brace comes after the results
    body = "[\n" + ",\n".join(results) + "\n]" if results else "[]"
    return f'{head}, "results": {body}}}\n'
