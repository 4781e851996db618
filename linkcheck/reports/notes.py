"""Where a registered source that no document links to belongs: behind a placeholder, or nowhere yet."""
from __future__ import annotations

from collections.abc import Mapping

from ..model import Citation, Result, RunReport, Verdict

__all__ = ["StandIns", "stand_ins", "uncited"]

StandIns = Mapping[str, tuple[Citation, ...]]


def stand_ins(report: RunReport) -> dict[str, tuple[Citation, ...]]:
    """Reference id -> the placeholder links that stand for it (their anchor text is its `cited_as`)."""
    found: dict[str, list[Citation]] = {}
    for result in report.results:
        if result.verdict is Verdict.PLACEHOLDER and result.reference_id:
            found.setdefault(result.reference_id, []).extend(result.citations)
    return {ref: tuple(citations) for ref, citations in found.items()}


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
