"""Judging, in one pure step: every verdict of a run comes from here, out of the one table in
classify/table.py. The stages before it report what they found (a fetch's outcome, the gate's
refusal, a local file there or not, a cached verdict, the network down); this package says what
that is worth. No I/O: everything a judgement needs is in its arguments."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import doi
from ..facts import Fact, GateRefusal, LocalFile
from ..history.rows import reuse_note
from ..model import FetchOutcome, Reason, Target, Verdict
from ..urls import odd_ipv4_detail
from .answer import PERMANENT, TEMPORARY, Comparison, judge_answer
from .table import QUOTE_ADVICE, VERDICTS, Answer, Judgement, Unusable, judgement

if TYPE_CHECKING:
    from ..history.rows import CachedResult
    from ..reading import Reading

__all__ = ["PERMANENT", "QUOTE_ADVICE", "TEMPORARY", "VERDICTS", "Comparison", "Judgement", "classify",
           "placeholder", "reused", "unfetched"]


def _error(outcome: FetchOutcome) -> Judgement:
    assert outcome.error is not None
    judged = judgement(outcome.error)
    tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    extra = f": {outcome.error_detail}" if outcome.error_detail else ""
    return replace(judged, detail=f"{judged.detail}{tries}{extra}") if tries or extra else judged


# Verdicts a retraction overrides: the landing page answered (or turned us away), but the
# work itself has been taken back. A DOI that does not resolve stays broken.
_RETRACTABLE = frozenset({Verdict.OK, Verdict.REDIRECTED, Verdict.CHANGED, Verdict.BLOCKED})


def _with_work(target: Target, judged: Judgement, work: doi.Work | None) -> Judgement:
    """What Crossref says of a DOI's work: a retraction changes the verdict, the rest are notes."""
    if work is None:
        return judged
    notice = doi.retraction(work)
    if notice is not None and judged.verdict in _RETRACTABLE:
        return judgement(Answer.RETRACTED, notice=notice.sentence, landing=judged.detail)
    ref = target.reference
    notes = doi.notes(work, ref.title if ref else None, ref.cited_as if ref else None)
    return replace(judged, detail="; ".join((judged.detail, *notes))) if notes else judged


def classify(target: Target, outcome: FetchOutcome, comparison: Comparison | None = None,
             work: doi.Work | None = None, reading: Reading | None = None) -> Judgement:
    """The verdict on a fetched target. Pure: everything it needs is in its arguments
    (`work`: what Crossref says of the target's DOI, when it is one; `reading`: what its body
    says, read under the reading budgets)."""
    if outcome.error is not None:
        return _with_work(target, _error(outcome), work)
    return _with_work(target, judge_answer(target, outcome, comparison, reading), work)


def unfetched(fact: Fact) -> Judgement:
    """The verdict on a target found not to be fetched: refused by the gate, a local file, a path
    from a site's root with no site, or a run whose own network was down."""
    if isinstance(fact, GateRefusal):
        return judgement(fact.kind, subject=fact.subject, scheme=fact.subject or "this")
    if isinstance(fact, LocalFile):
        tree = "the repository (the working folder)" if fact.in_working_folder else "the document's folder"
        return judgement(fact.kind, written=fact.written, path=fact.path, tree=tree)
    return judgement(fact.kind, written=fact.written)


def reused(hit: CachedResult) -> Judgement:
    """The verdict of an earlier run, reused under --cache-ttl: only an ok one is ever reused (a
    cached URL is not fetched again, so nothing else may hide behind it), and it says when it was made."""
    if hit.verdict is not Verdict.OK:
        raise ValueError(f"only an ok verdict is reused, not {hit.verdict}")
    return judgement(Answer.REUSED, detail=hit.detail, when=reuse_note(hit.checked_at))


def _did_you_mean(raw: str) -> str | None:
    fixed = re.sub(r"^(https?)(?::/(?!/)|//|:\\\\|;//)", r"\1://", raw.strip(), flags=re.I)
    return fixed if fixed != raw.strip() and "://" in fixed else None


def placeholder(target: Target, reason: Reason) -> Judgement:
    """The verdict on a citation with no real target (`reason`: urls.placeholder_reason's), pointing
    at the source that belongs there."""
    raw = target.url
    invalid = reason is Reason.INVALID_URL
    guess = _did_you_mean(raw) if invalid else None
    if invalid:
        why = odd_ipv4_detail(raw) or (f"did you mean {guess}?" if guess else "")
        what = f"not a usable URL: {raw!r}" + (f" ({why})" if why else "")
    elif raw in ("", "#"):
        what = "placeholder link with no target" if raw == "" else "placeholder link '#'"
    else:
        what = f"placeholder link {raw!r}"
    finding = Unusable.INVALID_URL if invalid else Unusable.PLACEHOLDER
    ref = target.reference
    if ref is not None and ref.url:
        return judgement(finding, ref.url, what=what, advice=f"use {ref.url} from references.yaml ({ref.id})")
    if ref is not None:
        return judgement(finding, what=what, advice=f"no source is known yet for {ref.cited_as or ref.id!r} "
                                                    f"(references.yaml: {ref.id}): find it and add its url")
    text = target.citations[0].text if target.citations else ""
    hint = f" with cited_as: {text!r}" if text else ""
    return judgement(finding, guess, what=what,
                     advice=f"add the source's URL, or register it in references.yaml{hint}")
