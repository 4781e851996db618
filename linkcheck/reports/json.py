"""report.json: the versioned, machine-read report (its schema is RunReport.to_json)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..jsontext import ENCODER, result
from ..model import RunReport

__all__ = ["chunks", "render"]

_LINES = 256  # results joined into one piece: fewer, larger writes, and still never the whole report


def render(report: RunReport) -> str:
    """The run and its summary on the first line, then one result per line: easy to grep and to
    diff from run to run, and quick to write (an indented dump takes json's pure-Python path,
    about four times slower on a report of thousands of results)."""
    return "".join(chunks(report))


def chunks(report: RunReport) -> Iterator[str]:
    """`render` piece by piece, a few hundred results at a time: written as it goes, a report of
    100,000 results never exists whole in memory. Each result's line is `jsontext.result`, its to_json() as
    the encoder would spell it."""
    data = report.to_json(results=False)
    yield ENCODER.encode(data)[:-1] + ', "results": '  # an object: its closing brace comes after the results
    if not report.results:
        yield "[]}\n"
        return
    sep = "[\n"
    results = iter(report.results)
    while batch := list(itertools.islice(results, _LINES)):
        yield sep + ",\n".join(map(result, batch))
        sep = ",\n"
    yield "\n]}\n"
