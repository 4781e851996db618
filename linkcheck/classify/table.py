"""The one verdict table: every finding a run can make about a target, and what it is worth.

A finding is what was seen: a failure below HTTP (`ErrorKind`), something an answer or its body
shows (`Answer`), a fact found instead of a fetch (`Refusal`, `Lookup`, `Unreached`), or a citation
with no usable target (`Unusable`). Each row gives the verdict, the machine reason and the sentence
a person reads; the sentence's `{fields}` are filled from what the finding saw."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum, auto

from ..facts import Lookup, Refusal, Unreached
from ..model import ErrorKind, Reason, Verdict

__all__ = ["QUOTE_ADVICE", "VERDICTS", "Answer", "Finding", "Judgement", "Unusable", "judgement"]

# What to do about a missing quote: it lives in the register, so accepting a snapshot cannot help.
QUOTE_ADVICE = "update the `quote:` in references.yaml to what the source says now, or restore the cited text"


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict with its machine reason, one human sentence and, where one is known, the URL to cite."""

    verdict: Verdict
    reason: Reason
    detail: str
    suggested_url: str | None = None


class Answer(Enum):
    """What a server's answer shows, its body read (see classify.answer for the order they are looked for)."""

    ACCEPTED = auto()            # a status the reference's `accept:` lists
    LOGIN = auto()               # 401, 407
    CREDENTIALS = auto()         # 403 asking for credentials (WWW-Authenticate)
    REFUSED_CLIENT = auto()      # any other 403
    RATE_LIMITED = auto()        # 429, still after the retries
    NON_STANDARD = auto()        # above 599: LinkedIn's 999
    SERVER_TIMEOUT = auto()      # 408
    SERVER_ERROR = auto()        # 5xx
    CLIENT_ERROR = auto()        # any other 4xx
    NO_LOCATION = auto()         # 3xx that could not be followed
    UNEXPECTED = auto()          # 1xx, or below 100
    READ_BUDGET = auto()         # reading the body reached a reading budget
    SIGN_IN_PAGE = auto()        # redirected to a login form
    HOME_PAGE = auto()           # redirected to the site's root
    SAYS_NOT_FOUND = auto()      # a 200 page that says "not found"
    NO_ELEMENT = auto()          # `#id` not on the page
    CUT_BEFORE_ELEMENT = auto()  # the page cut at the size cap before `#id` was found
    FRAGMENT_UNREAD = auto()     # `#id` on a body that could not be looked in
    NO_DESTINATION = auto()      # `report.pdf#name`: no such named destination
    NO_PAGE = auto()             # `report.pdf#page=N` beyond its page count
    EVIDENCE_UNREAD = auto()     # the text a failed evidence check needed could not be read
    QUOTE_GONE = auto()          # the reference's quote is no longer on the page
    TEXT_FRAGMENT_GONE = auto()  # a `#:~:text=` fragment is not on the page
    FIGURES_GONE = auto()        # figures the baseline had are no longer on the page
    DRIFTED = auto()             # the page's text drifted from its baseline snapshot
    RETRACTED = auto()           # Crossref says the cited work was taken back
    DOI_RESOLVES = auto()        # a DOI that answers 2xx, wherever its resolver sends a reader
    MOVED = auto()               # a 2xx reached through permanent redirects
    TEMPORARY_REDIRECT = auto()  # a 2xx reached through a temporary redirect
    ARRIVED = auto()             # a 2xx, as cited
    REUSED = auto()              # an ok verdict of an earlier run, fetched within --cache-ttl


class Unusable(Enum):
    """A citation with no real target (see urls.placeholder_reason)."""

    PLACEHOLDER = auto()  # `#`, nothing, `javascript:`, a reserved example host
    INVALID_URL = auto()  # no client could follow it


Finding = ErrorKind | Answer | Refusal | Lookup | Unreached | Unusable

_NOT_FETCHED = "not fetched (use --allow-private to check it)"

VERDICTS: dict[Finding, tuple[Verdict, Reason, str]] = {
    # Failures below HTTP: the sentence says what to do (the attempts and the error's words follow).
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
                                f"leads to a non-public address; {_NOT_FETCHED}"),
    ErrorKind.REDIRECT_LOOP: (Verdict.BROKEN, Reason.REDIRECT_LOOP, "the redirects go round in a loop"),
    ErrorKind.TOO_MANY_REDIRECTS: (Verdict.BROKEN, Reason.TOO_MANY_REDIRECTS, "too many redirects"),
    ErrorKind.INVALID_URL: (Verdict.BROKEN, Reason.HTTP_STATUS, "a redirect points to an unusable address"),
    ErrorKind.UNSUPPORTED_SCHEME: (Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
                                   "a redirect leads to a scheme that is not fetched"),
    ErrorKind.EXCLUDED: (Verdict.SKIPPED, Reason.EXCLUDED, "a redirect leads to an excluded URL; not fetched"),
    # The final answer's status.
    Answer.ACCEPTED: (Verdict.OK, Reason.OK, "HTTP {status}, accepted for this reference"),
    Answer.LOGIN: (Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                   "HTTP {status}: the page needs a login; a person must check it"),
    Answer.CREDENTIALS: (Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                         "HTTP 403: the page needs credentials; a person must check it"),
    Answer.REFUSED_CLIENT: (Verdict.BLOCKED, Reason.BOT_BLOCKED,
                            "HTTP 403: the server refused {client}; a person must check it in a browser"),
    Answer.RATE_LIMITED: (Verdict.BLOCKED, Reason.RATE_LIMITED,
                          "HTTP 429: still rate-limited{tries}; check again later"),
    Answer.NON_STANDARD: (Verdict.BLOCKED, Reason.BOT_BLOCKED,
                          "HTTP {status} is no standard status: the server's answer to automated clients "
                          "(LinkedIn answers 999); a person must check it in a browser"),
    Answer.SERVER_TIMEOUT: (Verdict.ERROR, Reason.TIMEOUT, "HTTP 408: the server timed out{tries}"),
    Answer.SERVER_ERROR: (Verdict.ERROR, Reason.HTTP_5XX, "HTTP {status}: server error{tries}; may be temporary"),
    Answer.CLIENT_ERROR: (Verdict.BROKEN, Reason.HTTP_STATUS, "HTTP {status}: {meaning}"),
    Answer.NO_LOCATION: (Verdict.BROKEN, Reason.HTTP_STATUS, "HTTP {status} without a usable Location"),
    Answer.UNEXPECTED: (Verdict.BROKEN, Reason.HTTP_STATUS, "unexpected HTTP {status}"),
    # A 2xx answer's body: still not the evidence when it is a wall, a disguised 404, or lacks what is cited.
    Answer.READ_BUDGET: (Verdict.ERROR, Reason.UNREADABLE, "{why}"),
    Answer.SIGN_IN_PAGE: (Verdict.BLOCKED, Reason.AUTH_REQUIRED,
                          "redirected to a sign-in page, {final}: a person with access must check it"),
    Answer.HOME_PAGE: (Verdict.BROKEN, Reason.SOFT_404,
                       "redirected to the site's home page {final}: the cited page is gone"),
    Answer.SAYS_NOT_FOUND: (Verdict.BROKEN, Reason.SOFT_404, "HTTP 200, but the page says {phrase!r}"),
    Answer.NO_ELEMENT: (Verdict.BROKEN, Reason.FRAGMENT_MISSING,
                        "the page has no element with id or name {fragment!r}"),
    Answer.CUT_BEFORE_ELEMENT: (Verdict.ERROR, Reason.UNREADABLE,
                                "the page was cut at the size cap before an element {fragment!r} was found"),
    Answer.FRAGMENT_UNREAD: (Verdict.ERROR, Reason.UNREADABLE, "#{fragment} could not be checked: {why}"),
    Answer.NO_DESTINATION: (Verdict.BROKEN, Reason.FRAGMENT_MISSING, "the PDF has no named destination {fragment!r}"),
    Answer.NO_PAGE: (Verdict.BROKEN, Reason.FRAGMENT_MISSING, "#page={page}, but the PDF has {pages}"),
    Answer.EVIDENCE_UNREAD: (Verdict.ERROR, Reason.UNREADABLE, "{what} could not be looked for: {why}"),
    Answer.QUOTE_GONE: (Verdict.CHANGED, Reason.QUOTE_MISSING,
                        "the quote {quote!r}{whose} is no longer on the page{seen}: " + QUOTE_ADVICE),
    Answer.TEXT_FRAGMENT_GONE: (Verdict.CHANGED, Reason.QUOTE_MISSING,
                                "the text fragment {text!r} of the link is not on the page"),
    Answer.FIGURES_GONE: (Verdict.CHANGED, Reason.FIGURE_MISSING,
                          "the figure{s} {named} the citation states, in the snapshot of {baseline}, "
                          "{are} no longer on the page: {shifts}"),
    Answer.DRIFTED: (Verdict.CHANGED, Reason.CONTENT_DRIFT,
                     "the page's text is only {similarity:.0%} similar to the snapshot of {baseline} "
                     "(threshold {threshold:.0%}): review it, then `linkcheck accept` it if it still "
                     "supports the citation"),
    Answer.RETRACTED: (Verdict.CHANGED, Reason.RETRACTED,
                       "the cited work was {notice} (Crossref); the landing page: {landing}"),
    Answer.DOI_RESOLVES: (Verdict.OK, Reason.OK, "HTTP {status}{via}{note}"),
    Answer.MOVED: (Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT, "moved permanently: cite {cite} instead{note}"),
    Answer.TEMPORARY_REDIRECT: (Verdict.OK, Reason.OK, "HTTP {status} via a temporary redirect to {final}{note}"),
    Answer.ARRIVED: (Verdict.OK, Reason.OK, "HTTP {status}{note}"),
    Answer.REUSED: (Verdict.OK, Reason.OK, "{detail}{when}"),
    # Facts found instead of a fetch.
    Refusal.EXCLUDED: (Verdict.SKIPPED, Reason.EXCLUDED, "excluded by the pattern {subject!r}"),
    Refusal.SAME_DOCUMENT: (Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME, "a link within the same document; not fetched"),
    Refusal.MAILTO: (Verdict.SKIPPED, Reason.MAILTO, "e-mail address {subject}; syntax checked, not contacted"),
    Refusal.BAD_MAILTO: (Verdict.PLACEHOLDER, Reason.INVALID_URL, "not a valid e-mail address: {subject!r}"),
    Refusal.TELEPHONE: (Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME, "a telephone number; not fetched"),
    Refusal.SCHEME: (Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME, "{scheme}: links are not fetched"),
    Refusal.PRIVATE_ADDRESS: (Verdict.SKIPPED, Reason.PRIVATE_ADDRESS,
                              "{subject} is not a public address; " + _NOT_FETCHED),
    Lookup.OUTSIDE_TREE: (Verdict.PLACEHOLDER, Reason.INVALID_URL, "{written} leads outside {tree}; not looked up"),
    Lookup.EXISTS: (Verdict.SKIPPED, Reason.LOCAL_FILE, "a local file ({path}); not fetched"),
    Lookup.MISSING: (Verdict.BROKEN, Reason.FILE_MISSING,
                     "no such local file: {path} (if it is meant as a web address, begin it with https://)"),
    Unreached.NO_SITE: (Verdict.PLACEHOLDER, Reason.INVALID_URL,
                        "{written!r} is a path from a site's root, and a local document has no site: "
                        "set settings.base_url in references.yaml to the site it will be published on, "
                        "or write the full URL"),
    Unreached.OFFLINE: (Verdict.ERROR, Reason.OFFLINE,
                        "not checked: the checker's own network is down (no name resolved, no server answered)"),
    # No usable target: what belongs there follows the sentence (see classify.placeholder).
    Unusable.PLACEHOLDER: (Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "{what}; {advice}"),
    Unusable.INVALID_URL: (Verdict.PLACEHOLDER, Reason.INVALID_URL, "{what}; {advice}"),
}


def judgement(finding: Finding, suggested_url: str | None = None, **fields: object) -> Judgement:
    """The table's row for a finding, its sentence filled from `fields`."""
    verdict, reason, sentence = VERDICTS[finding]
    # Interned: most results of a run say the same few sentences, kept until its report.
    return Judgement(verdict, reason, sys.intern(sentence.format_map(fields)), suggested_url)
