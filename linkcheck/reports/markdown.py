"""report.md: the summary as a Markdown page, for pull requests and CI job summaries."""
from __future__ import annotations

from ..model import HISTORY_NOTE, Result, RunReport, Verdict
from ..printable import printable
from .notes import StandIns, figure_sources, figures_line, figures_summary, shown_then, stand_ins, uncited

__all__ = ["render"]


def _cell(text: str) -> str:
    """Text from documents and servers, made safe for a table cell (no markup, no row breaks)."""
    text = " ".join(text.split())
    for ch in "\\|`*_[]<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _row(result: Result, behind: StandIns) -> str:
    where = "<br>".join(_cell(f"{c.where} “{c.text}”" if c.text else c.where) for c in result.citations)
    where = where or _cell(uncited(result, behind) or "")
    return f"| {_cell(result.url) or '(empty)'} | {result.reason} | {_cell(result.detail)} | {where or '—'} |"


def _link(label: str, url: str) -> str:
    """A Markdown link to a web address (anything else is shown as text)."""
    if url.lower().startswith(("http://", "https://")):
        return f"[{_cell(label)}](<{url.replace('>', '%3E').replace('<', '%3C').replace(' ', '%20')}>)"
    return _cell(f"{label}: {url}")


def _then_and_now(report: RunReport) -> list[str]:
    """What each changed source said when cited beside what it says now, and where to see the former."""
    changed = shown_then(report)
    if not changed:
        return []
    lines = ["", "## What the sources said when cited, and say now", ""]
    for r in changed:
        shown = r.then_now
        assert shown is not None
        seen = [_link("archived copy", shown.memento_url)] if shown.memento_url else []
        if shown.snapshot is not None:
            at = f" at offset {shown.snapshot.offset}" if shown.snapshot.offset is not None else ""
            seen.append(_cell(f"our snapshot: {shown.snapshot.warc}{at}"))
        now = f"“{_cell(shown.now)}”" if shown.now else "(nothing like it is on the page now)"
        lines += [f"**{_cell(r.url)}**{' (' + _cell(r.reference_id) + ')' if r.reference_id else ''} — {r.reason}", "",
                  "| | |", "|---|---|",
                  f"| {_cell(shown.when_cited)} | “{_cell(shown.then)}” |",
                  f"| now | {now} |"]
        if seen:
            lines += ["", "Seen in: " + " · ".join(seen)]
        lines.append("")
    return lines[:-1]


def render(report: RunReport) -> str:
    summary = report.summary
    behind = stand_ins(report)
    lines = ["# Link check report", "",
             f"Run `{report.id}` · {report.started} → {report.finished} · linkcheck {report.tool_version}", ""]
    if report.offline:
        lines += ["> **The network was down during this run**: nothing was judged broken.", ""]
    if report.history_missing:
        lines += [f"> **{HISTORY_NOTE[0].upper()}{HISTORY_NOTE[1:]}.** Earlier runs were expected in the state "
                  "dir and none was there: every failure counts as new, and drift is measured from today.", ""]
    lines += ["| verdict | count |", "|---|---:|"]
    lines += [f"| {v} | {summary[str(v)]} |" for v in Verdict]
    figures = figures_summary(report)
    if figures:
        lines += ["", f"**{figures[0].upper()}{figures[1:]}.**"]
    for verdict in Verdict:
        group = [r for r in report.results if r.verdict is verdict]
        if not group or verdict is Verdict.OK:
            continue
        lines += ["", f"## {verdict} ({len(group)})", "", "| URL | reason | detail | cited at |", "|---|---|---|---|"]
        lines += [_row(r, behind) for r in group]
    lines += _then_and_now(report)
    ok = summary[str(Verdict.OK)]
    if ok:
        lines += ["", f"<details><summary>{ok} ok</summary>", ""]
        lines += [f"- {_cell(r.url)}" for r in report.results if r.verdict is Verdict.OK]
        lines += ["", "</details>"]
    sources = figure_sources(report)
    if sources:
        lines += ["", "## Figures", "", "The figures the citations state, looked for on their source.", "",
                  "| source | figures |", "|---|---|"]
        lines += [f"| {_cell(r.url)}{' (' + _cell(r.reference_id) + ')' if r.reference_id else ''} "
                  f"| {_cell(figures_line(r))} |" for r in sources]
    return printable("\n".join(lines) + "\n")
