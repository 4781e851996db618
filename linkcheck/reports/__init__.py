"""Report formats: a registry of renderers from a RunReport to text, and atomic writing."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ..model import RunReport
from . import json as json_format
from . import markdown as markdown_format
from . import text as text_format

__all__ = ["FILENAMES", "FORMATS", "PLANNED", "write_atomic", "write_reports"]

Renderer = Callable[[RunReport], str]

FORMATS: dict[str, Renderer] = {
    "json": json_format.render,
    "markdown": markdown_format.render,
    "text": text_format.render,
}
FILENAMES = {"json": "report.json", "markdown": "report.md", "text": "report.txt",
             "html": "report.html", "junit": "junit.xml"}
# Accepted on the command line already; their renderers are not written yet.
PLANNED = frozenset({"html", "junit"})


def write_atomic(path: Path, data: str) -> None:
    """Write beside the target and rename over it: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(report: RunReport, directory: Path, formats: Iterable[str]) -> list[Path]:
    """report.json always, plus each asked-for format that exists; returns the files written."""
    written = []
    for name in dict.fromkeys(["json", *formats]):
        if name in FORMATS:
            path = directory / FILENAMES[name]
            write_atomic(path, FORMATS[name](report))
            written.append(path)
    return written
