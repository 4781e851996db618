"""Report formats: a registry of renderers from a RunReport to text, and atomic writing."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ..files import write_atomic
from ..model import RunReport, Verdict
from . import html as html_format
from . import json as json_format
from . import junit as junit_format
from . import markdown as markdown_format
from . import sarif as sarif_format
from . import text as text_format

__all__ = ["FILENAMES", "FORMATS", "write_reports"]

Renderer = Callable[[RunReport], str]

# junit here uses the default --fail-on; write_reports(..., fail_on=) renders it with the run's own.
FORMATS: dict[str, Renderer] = {
    "html": html_format.render,
    "json": json_format.render,
    "junit": junit_format.render,
    "markdown": markdown_format.render,
    "sarif": sarif_format.render,
    "text": text_format.render,
}
# Formats written piece by piece, never held whole: a run's report is as long as its results.
_STREAMED: dict[str, Callable[[RunReport], Iterable[str]]] = {"json": json_format.chunks}
FILENAMES = {"html": "report.html", "json": "report.json", "junit": "junit.xml", "markdown": "report.md",
             "sarif": "report.sarif", "text": "report.txt"}


def write_reports(report: RunReport, directory: Path, formats: Iterable[str], *,
                  fail_on: frozenset[Verdict] | None = None) -> list[Path]:
    """report.json always, plus each asked-for format that exists; returns the files written.

    A report of another format left in `directory` by an earlier run is removed: next to this run's
    files it would pass for this run's. Only the files named in FILENAMES are ever touched.
    `fail_on` is the run's --fail-on: junit.xml marks those verdicts as failures (default: the
    contract's broken, changed, placeholder)."""
    written = []
    for name in dict.fromkeys(["json", *formats]):
        if name in FORMATS:
            path = directory / FILENAMES[name]
            if name == "junit" and fail_on is not None:
                write_atomic(path, junit_format.render(report, fail_on=fail_on))
            elif name in _STREAMED:
                write_atomic(path, _STREAMED[name](report))
            else:
                write_atomic(path, FORMATS[name](report))
            written.append(path)
    for name in FILENAMES.values():
        stale = directory / name
        if stale not in written:
            stale.unlink(missing_ok=True)
    return written
