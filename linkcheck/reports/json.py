"""report.json: the versioned, machine-read report (its schema is RunReport.to_json)."""
from __future__ import annotations

import json
from collections.abc import Iterator

from ..model import RunReport

__all__ = ["chunks", "render"]

_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one, not one per result as json.dumps would make
_BATCH = 256  # results per piece: a write per result costs more than encoding one


def render(report: RunReport) -> str:
    """The run and its summary on the first line, then one result per line: easy to grep and to
    diff from run to run, and quick to write (an indented dump takes json's pure-Python path,
    about four times slower on a report of thousands of results)."""
    return "".join(chunks(report))


def chunks(report: RunReport) -> Iterator[str]:
    """`render` piece by piece, a few hundred results at a time: written as it goes, a report of
    100,000 results never exists whole in memory, nor do the dicts of all its results at once."""
    data = report.to_json(results=False)
    yield _ENCODER.encode(data)[:-1] + ', "results": '  # an object: its closing brace comes after the results
    if not report.results:
        yield "[]}\n"
        return
    sep = "[\n"
    results = report.results
    for start in range(0, len(results), _BATCH):
        yield sep + ",\n".join([_ENCODER.encode(result.to_json()) for result in results[start:start + _BATCH]])
        sep = ",\n"
    yield "\n]}\n"
