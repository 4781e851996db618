"""The one verdict table: from what happened on the wire to a verdict, a reason and a sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import doi, evidence, fragments
from .figures import Figure
from .model import ErrorKind, FetchOutcome, Reason, Target, Verdict
from .thennow import ThenAndNow
from .urls import odd_ipv4_detail

# What to do about a missing quote: it lives in the register, so accepting a snapshot cannot help.
QUOTE_ADVICE = "update the `quote:` in references.yaml to what the source says now, or restore the cited text"

if TYPE_CHECKING:
    from .reading import Reading

__all__ = ["PERMANENT", "QUOTE_ADVICE", "TEMPORARY", "Comparison", "Judgement", "classify", "placeholder"]

PERMANENT = frozenset({301, 308})
TEMPORARY = frozenset({302, 303, 307})


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with its machine reason, one human sentence and, where one is known, the URL to cite."""

    verdict: Verdict
    reason: Reason
    detail: str
    suggested_url: str | None = None


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


# Failures below HTTP: (verdict, reason, sentence). The sentence says what to do.
_ERRORS: dict[ErrorKind, tuple[Verdict, Reason, str]] = {
    ErrorKind.DNS_NOT_FOUND: (Verdict.BROKEN, Reason.DNS, "the host name does not exist (DNS)"),
    ErrorKind.DNS_FAILURE: (Verdict.ERROR, Reason.CONNECTION, "the host name could not be looked up"),
    ErrorKind.CONNECTION_REFUSED: (Verdict.BROKEN, Reason.CONNECTION_REFUSED,
                                   "nothing accepts connections at this address"),
    ErrorKind.CONNECTION_RESET: (Verdict.ERROR, Reason.CONNECTION, "the server dropped the connection"),
    ErrorKind.CONNECTION: (Verdict.ERROR, Reason.CONNECTION, "the server could not be reached"),
    ErrorKind.TIMEOUT: (Verdict.ERROR, Reason.TIMEOUT, "no answer in time"),
    ErrorKind.HOST_DOWN: (Verdict.ERROR, Reason.CONNECTION, "host not answering"),
    ErrorKind.TLS: (Verdict.ERROR, Reason.TLS, "the server's TLS certificate could not be verified"),
    ErrorKind.PRIVATE_ADDRESS: (Verdict.SKIPPED, Reason.PRIVATE_ADDRESS,
                                "leads to a non-public address; not fetched (use --allow-private to check it)"),
    ErrorKind.REDIRECT_LOOP: (Verdict.BROKEN, Reason.REDIRECT_LOOP, "the redirects go round in a loop"),
    ErrorKind.TOO_MANY_REDIRECTS: (Verdict.BROKEN, Reason.TOO_MANY_REDIRECTS, "too many redirects"),
    ErrorKind.INVALID_URL: (Verdict.BROKEN, Reason.HTTP_STATUS, "a redirect points to an unusable address"),
    ErrorKind.UNSUPPORTED_SCHEME: (Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
                                   "a redirect leads to a scheme that is not fetched"),
    ErrorKind.EXCLUDED: (Verdict.SKIPPED, Reason.EXCLUDED, "a redirect leads to an excluded URL; not fetched"),
}


def _error(outcome: FetchOutcome) -> Judgement:
    assert outcome.error is not None
    verdict, reason, sentence = _ERRORS[outcome.error]
    tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    extra = f": {outcome.error_detail}" if outcome.error_detail else ""
    return Judgement(verdict, reason, f"{sentence}{tries}{extra}")


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


def _status(target: Target, outcome: FetchOutcome, comparison: Comparison | None,
            reading: Reading | None) -> Judgement:
    status = outcome.status
    assert status is not None
    accepted = target.reference.accept if target.reference and target.reference.accept else ()
    via = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
    if accepted and status in accepted:
        return Judgement(Verdict.OK, Reason.OK, f"HTTP {status}, accepted for this reference")
    if status == 401 or status == 407:
        return Judgement(Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                         f"HTTP {status}: the page needs a login; a person must check it")
    if status == 403:
        headers = {k.lower(): v for k, v in outcome.headers}
        if "www-authenticate" in headers:
            return Judgement(Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                             "HTTP 403: the page needs credentials; a person must check it")
        challenge = evidence.bot_wall(outcome.body or b"", headers)
        wall = "a bot-protection challenge" if challenge else "an automated client"
        return Judgement(Verdict.BLOCKED, Reason.BOT_BLOCKED,
                         f"HTTP 403: the server refused {wall}; a person must check it in a browser")
    if status == 429:
        return Judgement(Verdict.BLOCKED, Reason.RATE_LIMITED,
                         f"HTTP 429: still rate-limited{via}; check again later")
    if status > 599:
        return Judgement(Verdict.BLOCKED, Reason.BOT_BLOCKED,
                         f"HTTP {status} is no standard status: the server's answer to automated clients "
                         "(LinkedIn answers 999); a person must check it in a browser")
    if status == 408:
        return Judgement(Verdict.ERROR, Reason.TIMEOUT, f"HTTP 408: the server timed out{via}")
    if status >= 500:
        return Judgement(Verdict.ERROR, Reason.HTTP_5XX, f"HTTP {status}: server error{via}; may be temporary")
    if status >= 400:
        gone = {404: "not found", 410: "gone for good", 451: "withheld for legal reasons"}.get(status, "refused")
        return Judgement(Verdict.BROKEN, Reason.HTTP_STATUS, f"HTTP {status}: {gone}")
    if status >= 300:
        return Judgement(Verdict.BROKEN, Reason.HTTP_STATUS, f"HTTP {status} without a usable Location")
    if not 200 <= status < 300:
        return Judgement(Verdict.BROKEN, Reason.HTTP_STATUS, f"unexpected HTTP {status}")
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
    return Judgement(Verdict.ERROR, Reason.UNREADABLE, f"{what} could not be looked for: {comparison.unreadable}")


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
        return Judgement(Verdict.CHANGED, Reason.QUOTE_MISSING,
                         f"the quote {_short(comparison.quote)!r}{whose} is no longer on the page{seen}: "
                         f"{QUOTE_ADVICE}")
    if comparison.texts_missing:
        return Judgement(Verdict.CHANGED, Reason.QUOTE_MISSING,
                         f"the text fragment {_short(comparison.texts_missing[0])!r} of the link is not on the page")
    if comparison.figures_lost:
        return Judgement(Verdict.CHANGED, Reason.FIGURE_MISSING, _figures_lost(comparison))
    if comparison.similarity is not None and comparison.similarity < comparison.threshold:
        return Judgement(Verdict.CHANGED, Reason.CONTENT_DRIFT,
                         f"the page's text is only {comparison.similarity:.0%} similar to the snapshot of "
                         f"{comparison.baseline_time} (threshold {comparison.threshold:.0%}): review it, "
                         "then `linkcheck accept` it if it still supports the citation")
    return None


def _figures_lost(comparison: Comparison) -> str:
    """ "the figure '40 million' ... : 40 million → 50 million", for each figure the baseline had."""
    shifts = "; ".join(f"{was} → {now}" if now else f"{was} → (no figure in its place)"
                       for was, now in comparison.figures_lost)
    named = ", ".join(repr(was) for was, _ in comparison.figures_lost)
    plural = "s" if len(comparison.figures_lost) > 1 else ""
    return (f"the figure{plural} {named} the citation states, in the snapshot of {comparison.figures_baseline}, "
            f"{'are' if plural else 'is'} no longer on the page: {shifts}")


def _pdf_page(fragment: fragments.Fragment, comparison: Comparison | None) -> Judgement | None:
    """`#page=N` on a PDF: within its page count, or missing."""
    pages = comparison.pdf_pages if comparison is not None else None
    if fragment.page is not None and pages is not None and not 1 <= fragment.page <= pages:
        return Judgement(Verdict.BROKEN, Reason.FRAGMENT_MISSING,
                         f"#page={fragment.page}, but the PDF has {pages} page{'s' if pages != 1 else ''}")
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
        return Judgement(Verdict.ERROR, Reason.UNREADABLE, reading.unreadable)
    if reading is not None:
        page = reading.page if html else None
    else:
        page = (evidence.parse_page(html, outcome.content_type, anchors=checkable, sign_in=bool(outcome.hops))
                if html else None)
    if outcome.hops and evidence.sign_in_wall(outcome.url, final, page):
        return Judgement(Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                         f"redirected to a sign-in page, {final}: a person with access must check it")
    if outcome.hops and evidence.redirected_to_root(outcome.url, final):
        return Judgement(Verdict.BROKEN, Reason.SOFT_404,
                         f"redirected to the site's home page {final}: the cited page is gone")
    phrase = evidence.soft_404_phrase(page) if page is not None else None
    if phrase:
        return Judgement(Verdict.BROKEN, Reason.SOFT_404, f"HTTP 200, but the page says {phrase!r}")
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
        return Judgement(Verdict.OK, Reason.OK, f"HTTP {outcome.status}{via}{note}")
    moved_to = _permanent_destination(outcome)
    if moved_to:
        cited = f"#{target.fragment}" if target.fragment else ""
        return Judgement(Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT,
                         f"moved permanently: cite {moved_to}{cited} instead{note}", moved_to + cited)
    if outcome.hops:
        return Judgement(Verdict.OK, Reason.OK, f"HTTP {outcome.status} via a temporary redirect to {final}{note}")
    return Judgement(Verdict.OK, Reason.OK, f"HTTP {outcome.status}{note}")


def _fragment(outcome: FetchOutcome, page: evidence.Page | None, fragment: str,
              reading: Reading | None) -> Judgement | None:
    """An element fragment is found, missing, or could not be looked for: never `ok` unseen."""
    if page is not None:
        if evidence.fragment_present(page, fragment):
            return None
        if outcome.body_truncated:
            return Judgement(Verdict.ERROR, Reason.UNREADABLE,
                             f"the page was cut at the size cap before an element {fragment!r} was found")
        return Judgement(Verdict.BROKEN, Reason.FRAGMENT_MISSING,
                         f"the page has no element with id or name {fragment!r}")
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
    return Judgement(Verdict.ERROR, Reason.UNREADABLE, f"#{fragment} could not be checked: {why}")


def _pdf_destination(outcome: FetchOutcome, names: frozenset[str] | None, fragment: str) -> Judgement | None:
    """`report.pdf#name` opens at the PDF's named destination `name`, when it has one (`names`:
    None when the PDF could not be opened)."""
    if names is None:
        why = ("the PDF was cut at the size cap" if outcome.body_truncated
               else "the PDF could not be opened (damaged, or encrypted with a password)")
        return Judgement(Verdict.ERROR, Reason.UNREADABLE, f"#{fragment} could not be checked: {why}")
    if fragment in names or unquote(fragment) in names:
        return None
    return Judgement(Verdict.BROKEN, Reason.FRAGMENT_MISSING, f"the PDF has no named destination {fragment!r}")


# Verdicts a retraction overrides: the landing page answered (or turned us away), but the
# work itself has been taken back. A DOI that does not resolve stays broken.
_RETRACTABLE = frozenset({Verdict.OK, Verdict.REDIRECTED, Verdict.CHANGED, Verdict.BLOCKED})


def _with_work(target: Target, judgement: Judgement, work: doi.Work | None) -> Judgement:
    """What Crossref says of a DOI's work: a retraction changes the verdict, the rest are notes."""
    if work is None:
        return judgement
    notice = doi.retraction(work)
    if notice is not None and judgement.verdict in _RETRACTABLE:
        return Judgement(Verdict.CHANGED, Reason.RETRACTED,
                         f"the cited work was {notice.sentence} (Crossref); the landing page: {judgement.detail}")
    ref = target.reference
    notes = doi.notes(work, ref.title if ref else None, ref.cited_as if ref else None)
    return replace(judgement, detail="; ".join((judgement.detail, *notes))) if notes else judgement


def classify(target: Target, outcome: FetchOutcome, comparison: Comparison | None = None,
             work: doi.Work | None = None, reading: Reading | None = None) -> Judgement:
    """The verdict on a fetched target. Pure: everything it needs is in its arguments
    (`work`: what Crossref says of the target's DOI, when it is one; `reading`: what its body
    says, read under the reading budgets)."""
    if outcome.error is not None:
        return _with_work(target, _error(outcome), work)
    return _with_work(target, _status(target, outcome, comparison, reading), work)


def _did_you_mean(raw: str) -> str | None:
    fixed = re.sub(r"^(https?)(?::/(?!/)|//|:\\\\|;//)", r"\1://", raw.strip(), flags=re.I)
    return fixed if fixed != raw.strip() and "://" in fixed else None


def placeholder(target: Target, reason: Reason) -> Judgement:
    """The verdict on a citation with no real target, pointing at the source that belongs there."""
    raw = target.url
    if reason is Reason.INVALID_URL:
        guess = _did_you_mean(raw)
        why = odd_ipv4_detail(raw) or (f"did you mean {guess}?" if guess else "")
        what = f"not a usable URL: {raw!r}" + (f" ({why})" if why else "")
    elif raw in ("", "#"):
        what = "placeholder link with no target" if raw == "" else "placeholder link '#'"
    else:
        what = f"placeholder link {raw!r}"
    ref = target.reference
    if ref is not None and ref.url:
        return Judgement(Verdict.PLACEHOLDER, reason,
                         f"{what}; use {ref.url} from references.yaml ({ref.id})", ref.url)
    if ref is not None:
        return Judgement(Verdict.PLACEHOLDER, reason,
                         f"{what}; no source is known yet for {ref.cited_as or ref.id!r} "
                         f"(references.yaml: {ref.id}): find it and add its url")
    text = target.citations[0].text if target.citations else ""
    hint = f" with cited_as: {text!r}" if text else ""
    return Judgement(Verdict.PLACEHOLDER, reason,
                     f"{what}; add the source's URL, or register it in references.yaml{hint}",
                     guess if reason is Reason.INVALID_URL and (guess := _did_you_mean(raw)) else None)
