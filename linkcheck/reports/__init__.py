"""Report formats: a registry of renderers from a RunReport to text, and atomic writing."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from ..files import write_atomic
from ..model import RunReport, Verdict
from . import json as json_format

__all__ = ["FILENAMES", "FORMATS", "write_reports"]

Renderer = Callable[[RunReport], str]


class _Renderers(Mapping[str, Renderer]):
    """Each format's `render`, its module imported when the format is first asked for: a run
    that writes report.json alone never loads the HTML, JUnit and SARIF writers."""

    _MODULES = ("html", "json", "junit", "markdown", "sarif", "text")

    def __getitem__(self, name: str) -> Renderer:
        if name not in self._MODULES:
            raise KeyError(name)
        renderer: Renderer = importlib.import_module(f"{__name__}.{name}").render
        return renderer

    def __iter__(self) -> Iterator[str]:
        return iter(self._MODULES)

    def __len__(self) -> int:
        return len(self._MODULES)


# junit here uses the default --fail-on; write_reports(..., fail_on=) renders it with the run's own.
FORMATS: Mapping[str, Renderer] = _Renderers()
# Formats written piece by piece, never held whole: a run's report is as long as its results.
_STREAMED: dict[str, Callable[[RunReport], Iterable[str]]] = {"json": json_format.chunks}
FILENAMES = {"html": "report.html", "json": "report.json", "junit": "junit.xml", "markdown": "report.md",
             "sarif": "report.sarif", "text": "report.txt"}


def write_reports(report: RunReport, directory: Path, formats: Iterable[str], *,
                  fail_on: frozenset[Verdict] | None = None, rendered_json: Path | None = None) -> list[Path]:
    """report.json always, plus each asked-for format that exists; returns the files written.

    A report of another format left in `directory` by an earlier run is removed: next to this run's
    files it would pass for this run's. Only the files named in FILENAMES are ever touched.
    `fail_on` is the run's --fail-on: junit.xml marks those verdicts as failures (default: the
    contract's broken, changed, placeholder). `rendered_json` is a file holding this same report
    already rendered as JSON (the state dir's last-report.json, written by the run): report.json is
    copied from it instead of being rendered twice."""
    written = []
    for name in dict.fromkeys(["json", *formats]):
        if name in FORMATS:
            path = directory / FILENAMES[name]
            if name == "junit" and fail_on is not None:
                from . import junit

                write_atomic(path, junit.render(report, fail_on=fail_on))
            elif name == "json" and rendered_json is not None:
                with rendered_json.open("rb") as rendered:
                    write_atomic(path, iter(lambda: rendered.read(1 << 20), b""))
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
