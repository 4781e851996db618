"""Credentials written into URLs (user info, token-like parameters), masked for every output."""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = ["REDACTED", "SECRET_PARAMETERS", "has_secret", "is_redacted", "redact", "shareable"]

REDACTED = "REDACTED"

# Query (and fragment) parameters whose value is a credential, matched on the name without
# regard to case. README.md lists them: keep the two in step.
SECRET_PARAMETERS = (
    "token", "access_token", "refresh_token", "id_token", "auth_token", "any name ending in token",
    "key", "api_key", "apikey", "api-key", "any name ending in _key or -key",
    "secret", "client_secret", "any name ending in secret",
    "password", "passwd", "pwd", "pass", "auth", "authorization", "credential", "credentials",
    "signature", "sig", "session", "sessionid", "sid", "any name ending in sessionid or sessid (jsessionid, phpsessid)",
    "jwt", "awsaccesskeyid",
    "X-Amz-* (Signature, Credential, Security-Token, ...)", "X-Goog-* (Signature, Credential, ...)",
)
_NAME = (r"(?:[\w.-]*(?:token|secret|passw(?:or)?d|signature|credentials?|api_?key|api-key)"
         r"|[\w.-]*[_-]key|key|sig|auth|authorization|pwd|pass|session(?:_?id)?|[\w.-]*sess(?:ion)?_?id|sid|jwt"
         r"|awsaccesskeyid"
         r"|x-(?:amz|goog)-[\w-]+)")
# The value runs to the next separator; quotes and angle brackets end a URL written in text.
_PARAMETER = re.compile(rf"([?&;#]{_NAME}=)[^&;#\s\"'<>]*", re.IGNORECASE)
# `scheme://user:password@`: greedy up to the last "@" before the host ends (a password may hold
# an unescaped "@"); the scheme is bounded so that a long run of letters is not rescanned.
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]{0,31}://)[^/?#\s\"'<>]*@", re.IGNORECASE)


@functools.lru_cache(maxsize=8192)  # one URL is redacted for its result, its citations, its history row
def redact(text: str) -> str:
    """`text` (a URL, or prose holding URLs) with user names, passwords and token-like parameter
    values replaced by REDACTED. Idempotent; the request itself keeps using the real URL."""
    if "@" not in text and "=" not in text:
        return text  # nearly every URL and detail: nothing to look for
    if "://" in text and "@" in text:
        text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    if "=" in text:
        text = _PARAMETER.sub(rf"\1{REDACTED}", text)
    return text


def has_secret(url: str) -> bool:
    """Whether a URL carries user info or a token-like parameter (redacted or not)."""
    return ("@" in url and _USERINFO.search(url) is not None) or ("=" in url and _PARAMETER.search(url) is not None)


def is_redacted(url: str) -> bool:
    """Whether a URL had credentials masked: never to be written back into a document or register."""
    return REDACTED in url and has_secret(url)


def shareable(url: str, private_hosts: Sequence[re.Pattern[str]] = ()) -> bool:
    """Whether a URL may be sent to a third party (an archive's lookup or Save Page Now): no
    credential in it, and not on a host the register marks private."""
    if has_secret(url):
        return False
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return not any(p.search(host) for p in private_hosts)
