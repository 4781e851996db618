"""What happened on the wire for one URL: the fetcher's outcome, its redirect hops and the kinds of
failure below HTTP. Facts only, never a verdict: classify decides what they are worth."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ErrorKind", "FetchOutcome", "Hop"]


class ErrorKind(StrEnum):
    """What went wrong below HTTP, as the fetcher saw it (never a verdict: classify decides)."""

    DNS_NOT_FOUND = "dns_not_found"        # the name does not exist (NXDOMAIN)
    DNS_FAILURE = "dns_failure"            # the lookup itself failed (no resolver, SERVFAIL)
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    CONNECTION = "connection"              # unreachable network, disconnect, protocol error
    TIMEOUT = "timeout"
    TLS = "tls"
    PRIVATE_ADDRESS = "private_address"    # the name or a redirect led to a non-public address
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_URL = "invalid_url"            # a Location header we cannot follow
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    EXCLUDED = "excluded"                  # a redirect leads to a URL the settings exclude
    HOST_DOWN = "host_down"                # not tried: the host stopped answering earlier in the run


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a redirect chain: the URL requested and the status it answered."""

    url: str
    status: int

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hop:
        return cls(data["url"], data["status"])


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What happened on the wire for one URL (fragment removed). Never a verdict.

    `hops` lists every redirect answered before the final response; `status` is the final
    response's status, or None when no final response came (`error` says why).
    """

    url: str
    status: int | None = None
    final_url: str | None = None
    hops: tuple[Hop, ...] = ()
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    body_truncated: bool = False
    error: ErrorKind | None = None
    error_detail: str = ""
    retry_after: float | None = None
    attempts: int = 1
    method: str = "GET"
    # What the archive needs to write a faithful WARC request/response pair.
    request_headers: tuple[tuple[str, str], ...] = ()
    reason_phrase: str = ""
    http_version: str = "1.1"
    fetched_at: str = ""  # UTC ISO 8601 (to the microsecond from the fetcher), when the final response arrived
    # The body as the server sent it, when `body` is that body with its content coding removed
    # (the archive keeps this; everything else reads `body`). None: `body` is as sent.
    wire_body: bytes | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None
