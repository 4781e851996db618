"""The one verdict vocabulary: what a citation's target is worth as evidence, the reason codes each
verdict may carry, and the groups of verdicts that history, trends, the digest and reports count by."""
from __future__ import annotations

from enum import StrEnum

__all__ = ["FAILING", "GOOD", "LOST", "QUIET", "REASONS_BY_VERDICT", "Reason", "Verdict", "identity"]


class Verdict(StrEnum):
    """What a citation's target is worth as evidence. The order is the report's order."""

    BROKEN = "broken"
    PLACEHOLDER = "placeholder"
    CHANGED = "changed"
    REDIRECTED = "redirected"
    BLOCKED = "blocked"
    ERROR = "error"
    SKIPPED = "skipped"
    OK = "ok"


class Reason(StrEnum):
    """Machine code explaining a verdict; stable, scripts match on it."""

    OK = "ok"
    PERMANENT_REDIRECT = "permanent_redirect"
    QUOTE_MISSING = "quote_missing"
    FIGURE_MISSING = "figure_missing"
    CONTENT_DRIFT = "content_drift"
    RETRACTED = "retracted"
    HTTP_STATUS = "http_status"
    DNS = "dns"
    CONNECTION_REFUSED = "connection_refused"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    SOFT_404 = "soft_404"
    FRAGMENT_MISSING = "fragment_missing"
    FILE_MISSING = "file_missing"
    PLACEHOLDER = "placeholder"
    INVALID_URL = "invalid_url"
    AUTH_REQUIRED = "auth_required"
    BOT_BLOCKED = "bot_blocked"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    HTTP_5XX = "http_5xx"
    TLS = "tls"
    CONNECTION = "connection"
    OFFLINE = "offline"
    UNREADABLE = "unreadable"
    EXCLUDED = "excluded"
    PRIVATE_ADDRESS = "private_address"
    MAILTO = "mailto"
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    LOCAL_FILE = "local_file"


REASONS_BY_VERDICT: dict[Verdict, tuple[Reason, ...]] = {
    Verdict.OK: (Reason.OK,),
    Verdict.REDIRECTED: (Reason.PERMANENT_REDIRECT,),
    Verdict.CHANGED: (Reason.QUOTE_MISSING, Reason.FIGURE_MISSING, Reason.CONTENT_DRIFT, Reason.RETRACTED),
    Verdict.BROKEN: (Reason.HTTP_STATUS, Reason.DNS, Reason.CONNECTION_REFUSED, Reason.REDIRECT_LOOP,
                     Reason.TOO_MANY_REDIRECTS, Reason.SOFT_404, Reason.FRAGMENT_MISSING, Reason.FILE_MISSING),
    Verdict.PLACEHOLDER: (Reason.PLACEHOLDER, Reason.INVALID_URL),
    Verdict.BLOCKED: (Reason.AUTH_REQUIRED, Reason.BOT_BLOCKED, Reason.RATE_LIMITED),
    Verdict.ERROR: (Reason.TIMEOUT, Reason.HTTP_5XX, Reason.TLS, Reason.CONNECTION, Reason.OFFLINE,
                    Reason.UNREADABLE),
    Verdict.SKIPPED: (Reason.EXCLUDED, Reason.PRIVATE_ADDRESS, Reason.MAILTO, Reason.UNSUPPORTED_SCHEME,
                      Reason.LOCAL_FILE),
}


# The verdict groups, spelt here only: history, trends, the digest, the store and the archive
# lookups use them, and history's SQL builds its IN-lists from them. Every verdict is good,
# failing or `skipped` (not checked, on purpose: it counts neither way).
GOOD = frozenset({Verdict.OK, Verdict.REDIRECTED})  # the evidence is there (a moved page still says it)
# The evidence is not there, or could not be seen to be: these count against a URL in its streak.
FAILING = frozenset({Verdict.BROKEN, Verdict.CHANGED, Verdict.PLACEHOLDER, Verdict.BLOCKED, Verdict.ERROR})
# The evidence was there and is gone or altered: the last good snapshot, or an archived copy, can stand in.
LOST = frozenset({Verdict.BROKEN, Verdict.CHANGED})
# Nothing for a reader to act on: annotations and SARIF leave these out (a redirect asks for an edit).
QUIET = frozenset({Verdict.OK, Verdict.SKIPPED})


def identity(url: str, reference_id: str) -> tuple[str, str]:
    """What history follows from run to run: a URL, whichever reference names it (a reference
    renamed by `refs sync` keeps its history). Placeholders (`#`, `javascript:`), which are not
    URLs, are told apart by the reference they stand for."""
    return (url, "") if "://" in url else (url, reference_id)
