"""Which row of the verdict table a server's answer is: its status, then what its body shows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from .. import doi, evidence, fragments
from ..coding import left_on
from ..figures import Figure
from ..model import FetchOutcome, Target
from ..thennow import ThenAndNow
from .table import Answer, Judgement, judgement

if TYPE_CHECKING:
    from ..reading import Reading

__all__ = ["PERMANENT", "TEMPORARY", "Comparison", "judge_answer"]

PERMANENT = frozenset({301, 308})
TEMPORARY = frozenset({302, 303, 307})


@dataclass(frozen=True, slots=True)
class Comparison:
    """What the evidence checks found on a reachable page: the reference's quote, the URL's
    text fragments, a PDF's page count, and the page's text against its baseline snapshot.
    None means "not checked". `unreadable` says why the text a failed check needed could not be
    read: then nothing is claimed about the evidence."""

    quote: str | None = None
    quote_found: bool | None = None
    quote_last_seen: str | None = None
    similarity: float | None = None
    threshold: float = 0.6
    baseline_time: str | None = None
    changes: tuple[str, ...] = ()
    texts_missing: tuple[str, ...] = ()  # text fragments (`#:~:text=`) not on the page
    claims: tuple[Figure, ...] = ()  # the figures the citations state, looked for on the page
    figures_found: tuple[str, ...] = ()
    figures_missing: tuple[str, ...] = ()  # not on the page (as written in the citation)
    figures_lost: tuple[tuple[str, str | None], ...] = ()  # of those, the baseline's: (figure, now in its place)
    figures_baseline: str | None = None  # when that baseline was captured
    pdf_pages: int | None = None
    unreadable: str | None = None
    quotes: tuple[tuple[str, str, bool], ...] = ()  # (reference id, quote, found) when several share the URL
    then_now: ThenAndNow | None = None  # the missing quote's or lost figure's sentence, then and now


def _permanent_destination(outcome: FetchOutcome) -> str | None:
    """Where the cited URL moved for good: the end of the leading run of 301/308 hops.

    A temporary hop after it means the moved-to URL is itself the one to cite; a chain that
    starts with a temporary redirect is fine as cited."""
    if not outcome.hops or outcome.hops[0].status not in PERMANENT:
        return None
    for i, hop in enumerate(outcome.hops):
        if hop.status not in PERMANENT:
            return outcome.hops[i].url
    return outcome.final_url


_CLIENT_ERRORS = {404: "not found", 410: "gone for good", 451: "withheld for legal reasons"}


def judge_answer(target: Target, outcome: FetchOutcome, comparison: Comparison | None,
                 reading: Reading | None) -> Judgement:
    """The verdict on an answer with a status: the status's row, or for a 2xx what the body shows."""
    status = outcome.status
    assert status is not None
    accepted = target.reference.accept if target.reference and target.reference.accept else ()
    tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    if accepted and status in accepted:
        return judgement(Answer.ACCEPTED, status=status)
    if status == 401 or status == 407:
        return judgement(Answer.LOGIN, status=status)
    if status == 403:
        headers = {k.lower(): v for k, v in outcome.headers}
        if "www-authenticate" in headers:
            return judgement(Answer.CREDENTIALS)
        challenge = evidence.bot_wall(outcome.body or b"", headers)
        return judgement(Answer.REFUSED_CLIENT,
                         client="a bot-protection challenge" if challenge else "an automated client")
    if status == 429:
        return judgement(Answer.RATE_LIMITED, tries=tries)
    if status > 599:
        return judgement(Answer.NON_STANDARD, status=status)
    if status == 408:
        return judgement(Answer.SERVER_TIMEOUT, tries=tries)
    if status >= 500:
        return judgement(Answer.SERVER_ERROR, status=status, tries=tries)
    if status >= 400:
        return judgement(Answer.CLIENT_ERROR, status=status, meaning=_CLIENT_ERRORS.get(status, "refused"))
    if status >= 300:
        return judgement(Answer.NO_LOCATION, status=status)
    if not 200 <= status < 300:
        return judgement(Answer.UNEXPECTED, status=status)
    return _reachable(target, outcome, comparison, reading)


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _unreadable(comparison: Comparison, fragment: fragments.Fragment) -> Judgement:
    if comparison.quote_found is False and comparison.quote:
        what = f"the quote {_short(comparison.quote)!r}"
    elif comparison.texts_missing:
        what = f"the text fragment {_short(comparison.texts_missing[0])!r}"
    elif comparison.figures_missing:
        what = f"the figure {comparison.figures_missing[0]!r}"
    elif fragment.page is not None and comparison.similarity is None:
        what = f"page {fragment.page} of the PDF"
    else:
        what = "the page's text, to compare with its snapshot,"
    return judgement(Answer.EVIDENCE_UNREAD, what=what, why=comparison.unreadable)


def _changed(comparison: Comparison | None, fragment: fragments.Fragment) -> Judgement | None:
    """The page answers, but no longer says what was cited (or its text could not be read)."""
    if comparison is None:
        return None
    if comparison.unreadable:
        return _unreadable(comparison, fragment)
    if comparison.quote_found is False and comparison.quote:
        seen = (f"; last seen in the snapshot of {comparison.quote_last_seen}" if comparison.quote_last_seen
                else "; it was not found in any earlier snapshot either")
        gone = [ref for ref, _, found in comparison.quotes if not found]
        whose = f" (reference {', '.join(gone)}; {len(comparison.quotes) - len(gone)} of " \
                f"{len(comparison.quotes)} quotes of this URL still found)" if comparison.quotes else ""
        return judgement(Answer.QUOTE_GONE, quote=_short(comparison.quote), whose=whose, seen=seen)
    if comparison.texts_missing:
        return judgement(Answer.TEXT_FRAGMENT_GONE, text=_short(comparison.texts_missing[0]))
    if comparison.figures_lost:
        return _figures_lost(comparison)
    if comparison.similarity is not None and comparison.similarity < comparison.threshold:
        return judgement(Answer.DRIFTED, similarity=comparison.similarity, baseline=comparison.baseline_time,
                         threshold=comparison.threshold)
    return None


def _figures_lost(comparison: Comparison) -> Judgement:
    """ "the figure '40 million' ... : 40 million → 50 million", for each figure the baseline had."""
    shifts = "; ".join(f"{was} → {now}" if now else f"{was} → (no figure in its place)"
                       for was, now in comparison.figures_lost)
    plural = len(comparison.figures_lost) > 1
    return judgement(Answer.FIGURES_GONE, s="s" if plural else "", are="are" if plural else "is",
                     named=", ".join(repr(was) for was, _ in comparison.figures_lost),
                     baseline=comparison.figures_baseline, shifts=shifts)


def _pdf_page(fragment: fragments.Fragment, comparison: Comparison | None) -> Judgement | None:
    """`#page=N` on a PDF: within its page count, or missing."""
    pages = comparison.pdf_pages if comparison is not None else None
    if fragment.page is not None and pages is not None and not 1 <= fragment.page <= pages:
        return judgement(Answer.NO_PAGE, page=fragment.page, pages=f"{pages} page{'s' if pages != 1 else ''}")
    return None


def _reachable(target: Target, outcome: FetchOutcome, comparison: Comparison | None,
               reading: Reading | None) -> Judgement:
    """A 2xx answer: still not the evidence if it is a sign-in wall or a disguised 404, or lacks
    the cited fragment."""
    if target.embedded:
        return _arrived(target, outcome)  # an image or a video: no page to read
    final = outcome.final_url or outcome.url
    fragment = fragments.parse(target.fragment, final)
    checkable = evidence.fragment_checkable(fragment.element)
    html = outcome.body if outcome.body and evidence.is_html(outcome.content_type) else None
    if reading is not None and reading.unreadable:  # a reading budget reached: nothing can be said
        return judgement(Answer.READ_BUDGET, why=reading.unreadable)
    if reading is not None:
        page = reading.page if html else None
    else:
        page = (evidence.parse_page(html, outcome.content_type, anchors=checkable, sign_in=bool(outcome.hops))
                if html else None)
    if outcome.hops and evidence.sign_in_wall(outcome.url, final, page):
        return judgement(Answer.SIGN_IN_PAGE, final=final)
    if outcome.hops and evidence.redirected_to_root(outcome.url, final):
        return judgement(Answer.HOME_PAGE, final=final)
    phrase = evidence.soft_404_phrase(page) if page is not None else None
    if phrase:
        return judgement(Answer.SAYS_NOT_FOUND, phrase=phrase)
    missing = _fragment(outcome, page, fragment.element, reading) if checkable else _pdf_page(fragment, comparison)
    if missing is not None:
        return missing
    changed = _changed(comparison, fragment)
    if changed is not None:
        return changed
    return _arrived(target, outcome, f"; {fragment.unchecked}, which cannot be checked" if fragment.unchecked else "")


def _arrived(target: Target, outcome: FetchOutcome, note: str = "") -> Judgement:
    """A 2xx answer judged on how it was reached: moved for good, or fine."""
    final = outcome.final_url or outcome.url
    if doi.doi_of(target.url) is not None:
        # A DOI is the name to cite; wherever its resolver sends a reader today is not.
        via = f": the DOI resolves to {final}" if outcome.hops else ""
        return judgement(Answer.DOI_RESOLVES, status=outcome.status, via=via, note=note)
    moved_to = _permanent_destination(outcome)
    if moved_to:
        cite = moved_to + (f"#{target.fragment}" if target.fragment else "")
        return judgement(Answer.MOVED, cite, cite=cite, note=note)
    if outcome.hops:
        return judgement(Answer.TEMPORARY_REDIRECT, status=outcome.status, final=final, note=note)
    return judgement(Answer.ARRIVED, status=outcome.status, note=note)


def _fragment(outcome: FetchOutcome, page: evidence.Page | None, fragment: str,
              reading: Reading | None) -> Judgement | None:
    """An element fragment is found, missing, or could not be looked for: never `ok` unseen."""
    coded = left_on(outcome.header("Content-Encoding"))
    if coded:  # the bytes parsed were not the page's: what they lack says nothing
        return judgement(Answer.FRAGMENT_UNREAD, fragment=fragment, why=coded)
    if page is not None:
        if evidence.fragment_present(page, fragment):
            return None
        if outcome.body_truncated:
            return judgement(Answer.CUT_BEFORE_ELEMENT, fragment=fragment)
        return judgement(Answer.NO_ELEMENT, fragment=fragment)
    media = outcome.content_type.split(";", 1)[0].strip().lower()
    if media == "application/pdf" and outcome.body:
        names = reading.pdf_names if reading is not None else (
            None if outcome.body_truncated else evidence.pdf_destinations(outcome.body))
        return _pdf_destination(outcome, names, fragment)
    if not outcome.body:
        why = "the answer had no body"
    elif evidence.is_html(media):
        why = "the HTML could not be parsed"
    else:
        why = f"a {media or 'untyped'} body has no elements to look in"
    return judgement(Answer.FRAGMENT_UNREAD, fragment=fragment, why=why)


def _pdf_destination(outcome: FetchOutcome, names: frozenset[str] | None, fragment: str) -> Judgement | None:
    """`report.pdf#name` opens at the PDF's named destination `name`, when it has one (`names`:
    None when the PDF could not be opened)."""
    if names is None:
        why = ("the PDF was cut at the size cap" if outcome.body_truncated
               else "the PDF could not be opened (damaged, or encrypted with a password)")
        return judgement(Answer.FRAGMENT_UNREAD, fragment=fragment, why=why)
    if fragment in names or unquote(fragment) in names:
        return None
    return judgement(Answer.NO_DESTINATION, fragment=fragment)
