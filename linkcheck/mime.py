"""A body's media type as a browser takes it: the server's word, else WHATWG MIME sniffing."""
from __future__ import annotations

__all__ = ["effective_type", "needs_sniff"]

# Types that say nothing about the body (WHATWG MIME Sniffing, "identifying an unknown type").
_UNKNOWN = frozenset({"", "unknown/unknown", "application/unknown", "*/*"})
# The standard's resource header: no signature or binary test looks further.
_HEADER_BYTES = 1445


def needs_sniff(content_type: str) -> bool:
    """True when the server gave no usable type: missing, unknown, or not type/subtype."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in _UNKNOWN or "/" not in media


def effective_type(content_type: str, body: bytes | None) -> str:
    """The declared type when there is a usable one, else what the first bytes show, as a
    browser decides (HTML, PDF, image, audio/video and archive signatures, then text or
    binary). A page served without a type is still a page: its fragments can be checked."""
    if body is None or not needs_sniff(content_type):
        return content_type
    from xtractmime import extract_mime  # only for the rare body served without a type

    found = extract_mime(bytes(body[:_HEADER_BYTES]))
    return found.decode("ascii") if isinstance(found, bytes) else "application/octet-stream"
