"""GitHub Actions: workflow-command annotations on the citing lines, and the job summary."""
# No `from __future__ import annotations` here, unlike every other module: the public function
# `annotations` would rebind that name, and Python 3.11 evaluates these hints as they are.
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from ..model import HISTORY_NOTE, QUIET, Citation, Result, RunReport, Verdict
from ..printable import printable
from . import markdown

__all__ = ["annotations", "emit_github", "escape_data", "escape_property", "step_summary"]


def escape_data(text: str) -> str:
    """A workflow command's message, as the runner unescapes it (`%` first, or it would double)."""
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A workflow command property value: `:` and `,` would end it early."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, result: Result, citation: Citation | None) -> str:
    props = []
    if citation is not None:
        props.append(f"file={escape_property(citation.document)}")
        if citation.line is not None:
            props.append(f"line={citation.line}")
    props.append(f"title={escape_property(f'{result.verdict} {result.reason}')}")
    message = f"{result.url or '(empty link)'}: {result.detail}"
    if citation is not None and citation.line is None and citation.page is not None:
        message += f" (page {citation.page})"
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def annotations(report: RunReport, fail_on: frozenset[Verdict]) -> list[str]:
    """One `::error` (verdict in fail_on) or `::warning` command per citation; ok and skipped give none.
    A run that found no history where some was expected leads with a warning saying so."""
    lines = [f"::warning title=linkcheck::{HISTORY_NOTE}"] if report.history_missing else []
    for result in report.results:
        if result.verdict in fail_on:
            level = "error"
        elif result.verdict in QUIET:
            continue
        else:
            level = "warning"
        lines += [_command(level, result, citation) for citation in result.citations or (None,)]
    return lines


def step_summary(report: RunReport) -> str:
    """The job summary: the Markdown report."""
    return markdown.render(report)


def emit_github(report: RunReport, fail_on: frozenset[Verdict], env: Mapping[str, str] | None = None,
                out: TextIO | None = None) -> None:
    """Inside GitHub Actions only: print the annotations (to `out`, stdout by default) and append the
    summary to $GITHUB_STEP_SUMMARY. `env` defaults to os.environ; both are looked up at call time."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") != "true":
        return
    out = sys.stdout if out is None else out
    for line in annotations(report, fail_on):
        print(line, file=out)
    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(step_summary(report))
