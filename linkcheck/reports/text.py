"""The console summary: counts, then every result that needs attention with its locations."""
from __future__ import annotations

from ..model import HISTORY_NOTE, Result, RunReport, Verdict
from ..printable import printable
from .notes import StandIns, figure_sources, figures_line, figures_summary, stand_ins, uncited

__all__ = ["render", "render_result"]


def render_result(result: Result, behind: StandIns | None = None) -> list[str]:
    lines = [f"  {result.url or '(empty link)'}", f"      {result.reason}: {result.detail}"]
    note = uncited(result, behind or {})
    if note:
        lines.append(f"      {note}")
    for citation in result.citations:
        text = f'  "{citation.text}"' if citation.text else ""
        lines.append(f"      cited at {citation.where}{text}")
    if result.claims:
        lines.append(f"      figures: {figures_line(result)}")
    return lines


def render(report: RunReport, *, show_ok: bool = False) -> str:
    summary = report.summary
    counts = ", ".join(f"{summary[v]} {v}" for v in Verdict if summary[str(v)])
    lines = [f"linkcheck: {len(report.results)} targets checked: {counts or 'nothing to check'}"]
    figures = figures_summary(report)
    if figures:
        lines.append(figures)
    behind = stand_ins(report)
    if report.offline:
        lines.append("NOTE: the network seems down here; nothing was judged broken. Run again when online.")
    if report.history_missing:
        lines.append(f"NOTE: {HISTORY_NOTE} (earlier runs were expected in the state dir; none was there).")
    for verdict in Verdict:
        if verdict is Verdict.OK and not show_ok:
            continue
        group = [r for r in report.results if r.verdict is verdict]
        if not group:
            continue
        lines.append("")
        lines.append(f"{verdict.upper()} ({len(group)})")
        for result in group:
            lines.extend(render_result(result, behind))
    sources = figure_sources(report)
    if sources:
        lines += ["", "FIGURES (stated by the citations, looked for on their source)"]
        for result in sources:
            lines += [f"  {result.url}" + (f"  [{result.reference_id}]" if result.reference_id else ""),
                      f"      {figures_line(result)}"]
    return printable("\n".join(lines) + "\n")
