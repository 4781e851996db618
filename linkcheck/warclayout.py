"""A capture's WARC/1.1 records laid out as bytes, each its own gzip member: what warcio's writer
would write, without a record object, a header list searched on every change and a UUID object per
record. What the records say (headers kept, secrets redacted, digests) is decided here too."""
from __future__ import annotations

import hashlib
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

from .model import FetchOutcome
from .redact import redact

__all__ = ["EMPTY_DIGEST", "PLAIN_URL", "REDACTED", "STORED_MAX", "TOUCHED", "capture_records", "clean", "gzip_member",
           "payload_digest", "payload_digests"]

REDACTED = "[redacted]"
_SECRET_REQUEST = frozenset({"authorization", "proxy-authorization", "cookie"})
_SECRET_RESPONSE = frozenset({"set-cookie", "set-cookie2"})
_URL_RESPONSE = frozenset({"location", "content-location", "link", "refresh"})  # may repeat a URL's token
_REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
# A URL that is its own WARC-Target-URI, as nearly every URL a run archives is: http(s) in lower
# case, an ASCII host and a port (group 1), a path of characters kept as written, "%" not among
# them (group 2), and no userinfo, query or fragment. Neither split nor joined again.
PLAIN_URL = re.compile(r"https?://([A-Za-z0-9.-]+(?::[0-9]*)?)(/[A-Za-z0-9._~!$&'()*+,/:;=@-]*)?")
# The record types laid out here, with the Content-Type warcio gives each.
_CONTENT_TYPES = {"response": "application/http; msgtype=response", "revisit": "application/http; msgtype=response",
                  "request": "application/http; msgtype=request"}
# WARC headers the writer sets itself (lower case), never a caller's.
TOUCHED = frozenset({"warc-type", "warc-record-id", "warc-target-uri", "warc-date", "content-type", "content-length"})


# A sha256 spelt in base32 (RFC 4648) ten bits at a time, two letters a lookup: its 256 bits and
# 4 zero bits make 26 pairs, then the 4 "=" padding its last group of 40 bits. base64.b32encode
# loops in Python over 5-byte groups, and three digests are spelt for every capture.
_B32_PAIRS = tuple(a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_B32_SHIFTS = tuple(range(250, -1, -10))
# A version 4 UUID's fixed bits (RFC 4122), for two UUIDs side by side in one 256-bit number.
_UUID_MASK = int("ffffffffffff0fff3fffffffffffffff" * 2, 16)
_UUID_V4 = int("00000000000040008000000000000000" * 2, 16)


def _spelt(raw: bytes) -> str:
    """A sha256 digest (32 bytes) as a WARC-*-Digest spells it: `sha256:` and its base32."""
    bits = int.from_bytes(raw, "big") << 4
    return "sha256:" + "".join([_B32_PAIRS[bits >> shift & 0x3FF] for shift in _B32_SHIFTS]) + "===="


def payload_digests(body: bytes) -> tuple[str, str]:
    """(WARC-Payload-Digest, sha256 hex) of a body from one hash: each capture needs both."""
    raw = hashlib.sha256(body).digest()
    return _spelt(raw), raw.hex()


def _block_digest(head: bytes, payload: bytes) -> str:
    """The WARC-Block-Digest of an HTTP head and its payload, without a copy of the payload."""
    sha = hashlib.sha256(head)
    sha.update(payload)
    return _spelt(sha.digest())


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest of a body, spelt as warcio spells digests (base32, upper case)."""
    return payload_digests(body)[0]


EMPTY_DIGEST = payload_digest(b"")  # a request record's payload, every time


def clean(value: str) -> str:
    # A CR or LF inside a value would start a header of its own in the stored block.
    return value.replace("\r", " ").replace("\n", " ")


def _response_headers(headers: Sequence[tuple[str, str]], stored: int, coded: bool) -> list[tuple[str, str]]:
    """Headers that describe the stored bytes, since replay serves them as they are: the body is
    de-chunked, and kept with its content coding when `coded` (as sent); a decoded body has its
    original coding and length only noted."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lname, value = name.lower(), clean(value)
        if lname == "content-encoding" and not coded:
            out.append(("X-Archive-Orig-Content-Encoding", value))
        elif lname == "content-length":
            if value.strip() != str(stored):
                out.append(("X-Archive-Orig-Content-Length", value))
        elif lname in _URL_RESPONSE:
            out.append((name, redact(value)))
        elif lname != "transfer-encoding":
            out.append((name, REDACTED if lname in _SECRET_RESPONSE else value))
    out.append(("Content-Length", str(stored)))
    return out


def capture_records(outcome: FetchOutcome, uri: str, date: str, digest: str, *, revisit_of: tuple[str, str, str] | None,
                    fields: Mapping[str, str] | None) -> list[bytes]:
    """The response record of a GET answer with a body (a revisit of (URI, date, digest) when
    `revisit_of` is given), then its request record. `fields`, further WARC headers of the first,
    may name none of TOUCHED."""
    status = outcome.status or 0
    stored = (outcome.body or b"") if outcome.wire_body is None else outcome.wire_body
    protocol = "HTTP/" + (outcome.http_version or "1.1").removeprefix("HTTP/")
    reason = outcome.reason_phrase or (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "")
    head = _http_block(protocol, f"{status} {clean(reason)}".strip(),
                       _response_headers(outcome.headers, len(stored), outcome.wire_body is not None))
    main_id, request_id = _record_ids()
    truncated = {"WARC-Truncated": "length"} if outcome.body_truncated else {}
    target = {"WARC-Target-URI": uri} if uri else {}
    if revisit_of is not None:
        original_uri, original_date, original_digest = revisit_of
        main = _layout("revisit", {
            "WARC-Type": "revisit", "WARC-Record-ID": main_id, "WARC-Date": date, **target,
            "WARC-Profile": _REVISIT_PROFILE, "WARC-Refers-To-Target-URI": original_uri,
            "WARC-Refers-To-Date": original_date, "WARC-Payload-Digest": original_digest, **(fields or {}),
            **truncated, "WARC-Block-Digest": payload_digest(head)}, head, b"")
    else:
        main = _layout("response", {
            "WARC-Type": "response", "WARC-Record-ID": main_id, "WARC-Date": date, **target,
            "WARC-Payload-Digest": digest, **(fields or {}), **truncated,
            "WARC-Block-Digest": _block_digest(head, stored)}, head, stored)
    netloc, path = _request_target(uri)
    headers = [(name, REDACTED if name.lower() in _SECRET_REQUEST else clean(value))
               for name, value in outcome.request_headers]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", netloc))
    request = _http_block(outcome.method.upper(), f"{path} {protocol}", headers)
    return [main, _layout("request", {
        "WARC-Type": "request", "WARC-Record-ID": request_id, "WARC-Date": date, **target,
        "WARC-Concurrent-To": main_id, "WARC-Block-Digest": payload_digest(request),
        "WARC-Payload-Digest": EMPTY_DIGEST}, request, b"")]


def _request_target(uri: str) -> tuple[str, str]:
    """(host and port, path and query) of a WARC-Target-URI, as its request line and Host name them."""
    plain = PLAIN_URL.fullmatch(uri)
    if plain is not None:
        return plain[1], plain[2] or "/"
    parts = urlsplit(uri)
    return parts.netloc, f"{parts.path or '/'}{'?' if parts.query else ''}{parts.query}"


def _record_ids() -> tuple[str, str]:
    """Two `<urn:uuid:...>` of random (version 4) UUIDs, as warcio makes them, from one draw of
    the system's randomness: a capture's response and request."""
    bits = int.from_bytes(os.urandom(32), "big") & _UUID_MASK | _UUID_V4
    h = f"{bits:064x}"
    return (f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}>",
            f"<urn:uuid:{h[32:40]}-{h[40:44]}-{h[44:48]}-{h[48:52]}-{h[52:]}>")


def _http_block(protocol: str, status: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP head as warcio stores it: ASCII, or with non-ASCII values percent-encoded its way.
    Where that fails (a value not ASCII before its first `;`, or holding bytes that are not UTF-8,
    which aiohttp keeps as lone surrogates), the values are stored in the bytes they came in: a
    server's stray byte must never stop a run from archiving."""
    text = f"{protocol} {status}\r\n" + "".join([f"{name}: {value}\r\n" for name, value in headers])
    try:
        return text.encode("ascii") + b"\r\n"
    except UnicodeEncodeError:
        pass
    head = StatusAndHeaders(status, headers, protocol=protocol)
    try:
        head.compute_headers_buffer()
    except UnicodeError:
        return text.encode("utf-8", errors="surrogateescape") + b"\r\n"
    return bytes(head.headers_buff or b"")


def _layout(kind: str, fields: Mapping[str, str], head: bytes, payload: bytes) -> bytes:
    """A record with its WARC `fields` in order, then its Content-Type and Content-Length, the
    HTTP `head` and, but for a revisit, the payload."""
    lines = "".join([f"{name}: {value}\r\n" for name, value in fields.items()])
    size = len(head) + (0 if kind == "revisit" else len(payload))
    header = f"WARC/1.1\r\n{lines}Content-Type: {_CONTENT_TYPES[kind]}\r\nContent-Length: {size}\r\n\r\n"
    return b"".join((header.encode("utf-8"), head, b"" if kind == "revisit" else payload, b"\r\n\r\n"))


STORED_MAX = 1024  # bytes: a record this small is stored in its gzip member, not deflated


def gzip_member(record: bytes) -> bytes:
    """One record as one gzip member. A smaller hash table (memLevel 4) than zlib's default makes
    a compressor three times cheaper to set up, which is most of the cost for a page-sized record;
    the window stays 32 KiB, so large pages compress as well as ever. A record of at most
    STORED_MAX bytes (every request record but one sending many headers, the answer of a tiny
    page) is stored as it is: its record ids and digests do not repeat, so deflating it saves
    about a third of its bytes, for ten times the time storing takes."""
    compressor = zlib.compressobj(6 if len(record) > STORED_MAX else 0, zlib.DEFLATED, 31, 4)
    return compressor.compress(record) + compressor.flush()
