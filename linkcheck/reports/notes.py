"""Notes beside a verdict: where an uncited source belongs, and what became of the figures cited from it."""
from __future__ import annotations

from collections.abc import Mapping

from ..model import Citation, Result, RunReport, Verdict

__all__ = ["FIGURE_STATES", "StandIns", "figure_sources", "figures_line", "figures_summary", "shown_then", "stand_ins",
           "uncited"]

StandIns = Mapping[str, tuple[Citation, ...]]


def stand_ins(report: RunReport) -> dict[str, tuple[Citation, ...]]:
    """Reference id -> the placeholder links that stand for it (their anchor text is its `cited_as`)."""
    found: dict[str, list[Citation]] = {}
    for result in report.results:
        if result.verdict is Verdict.PLACEHOLDER and result.reference_id:
            found.setdefault(result.reference_id, []).extend(result.citations)
    return {ref: tuple(citations) for ref, citations in found.items()}


FIGURE_STATES = {"found": "on the source", "not_found": "NOT FOUND on the source",
                 "missing": "no longer on the source", "unchecked": "not checked"}


def figure_sources(report: RunReport) -> list[Result]:
    """The results whose citations state figures, each source once: a placeholder standing for a
    registered source is listed under that source's own result."""
    return [r for r in report.results
            if r.claims and not (r.verdict is Verdict.PLACEHOLDER and r.reference_id)]


def figures_line(result: Result) -> str:
    """ "40 million (on the source), 77% (NOT FOUND on the source)" """
    return ", ".join(f"{f.text} ({FIGURE_STATES[result.claim_state(f)]})" for f in result.claims)


def figures_summary(report: RunReport) -> str | None:
    n = report.figures_not_found
    return f"figures not found on their source: {n}" if n else None


def uncited(result: Result, behind: StandIns) -> str | None:
    """The note for a reference's own result that no document links to: a placeholder that stands for it
    is where it is meant to be cited, so "cited in no document" would send the reader the wrong way."""
    if result.citations or not result.reference_id:
        return None
    places = behind.get(result.reference_id)
    if places:
        return (f"behind the placeholder{'s' if len(places) > 1 else ''} at "
                + ", ".join(dict.fromkeys(c.location for c in places)))
    return f"listed in references.yaml as {result.reference_id}, cited in no document"


def shown_then(report: RunReport) -> list[Result]:
    """The results that show a cited sentence then and now (a missing quote, a lost figure)."""
    return [r for r in report.results if r.then_now is not None]

