"""URL identity: normalisation, fragments, and recognising targets that are not real URLs."""
from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from .model import Reason
from .redact import REDACTED, has_secret, redact, shareable

__all__ = ["REDACTED", "RESERVED_HOSTS", "RESERVED_SUFFIXES", "from_header", "has_secret", "host_is_usable", "host_of",
           "is_mangled", "is_odd_ipv4", "is_relative", "is_root_relative", "normalise", "odd_ipv4_detail",
           "placeholder_reason", "redact", "scheme_and_host", "shareable", "split_fragment", "without_userinfo"]

# RFC 2606 / RFC 6761 names that can never be a published source.
RESERVED_HOSTS = frozenset({"example.com", "example.org", "example.net", "localhost"})
RESERVED_SUFFIXES = (".example.com", ".example.org", ".example.net", ".test", ".example",
                     ".invalid", ".localhost")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
# Characters that may stand unescaped in a path, query or fragment (RFC 3986 pchar + "/?").
_SAFE = frozenset("!$&'()*+,;=:@/?%") | _UNRESERVED
_PLAIN = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")  # _SAFE without "%"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# "https//host/x", "http:/host", "https:\\host": a scheme whose colon or slashes went astray.
_MANGLED_SCHEME = re.compile(r"^(?:https?//|https?:/(?!/)|https?:\\|https?;//|htps?://|htttps?://)", re.I)
# What a host name may hold once percent-decoded: letters, digits, "-", "_" and dots, or any
# non-ASCII character (IDNA maps those). Everything else in ASCII is a WHATWG forbidden domain
# code point (`<`, `|`, `%`, controls ...) or can never resolve (`"`, `*`, `~`).
_HOST = re.compile(r"(?:[A-Za-z0-9._-]|[^\x00-\x7f])+")


def _requote(part: str, keep: str = "") -> str:
    """Percent-encoding in one canonical form: unreserved decoded (but those in `keep`), hex
    upper, the unsafe encoded."""
    if _PLAIN.fullmatch(part):
        return part  # most URLs: nothing escaped and nothing to escape

    def fix(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED and char not in keep else "%" + m.group(1).upper()

    # A "%" not followed by two hex digits was literal: encode it first, so that decoding an
    # escape next to it cannot form a new one (normalise must be idempotent).
    part = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part)
    part = _PCT.sub(fix, part)
    out = []
    for ch in part:
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def _host(parts: SplitResult) -> str:
    host = parts.hostname or ""
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host


# A network URL already in the form `normalise` gives: lower-case scheme and ASCII host, no user
# info, a port in digits, a path, and nothing escaped or to escape (`_PLAIN`); an empty query or
# fragment would be dropped. Nearly every cited URL: it is returned as it is, unparsed.
_NORMAL = re.compile(r"(?P<scheme>https?|ftp)://(?P<host>[a-z0-9._-]+)(?::(?P<port>[1-9][0-9]{0,4}))?"
                     r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+)?"
                     r"(?:#[A-Za-z0-9\-._~!$&'()*+,;=:@/?]+)?")


def normalise(url: str) -> str:
    """The identity of a URL: scheme and host lower-cased, default port dropped, one
    percent-encoding, an empty path made "/". Anything that is not a network URL is returned
    with surrounding space stripped, so that it still groups with its own spelling."""
    normal = _already_normal(url)
    if normal is not None and int(normal["port"] or 0) != _DEFAULT_PORTS[normal["scheme"]]:
        return url
    return _normalised(url.strip())


def _already_normal(url: str) -> re.Match[str] | None:
    """`_NORMAL`'s match, when its port is one a URL may have."""
    normal = _NORMAL.fullmatch(url)
    return normal if normal is not None and int(normal["port"] or 0) <= 65535 else None


def scheme_and_host(url: str) -> tuple[str, str | None]:
    """`urlsplit(url)`'s scheme, lower-cased, and host name (ValueError as urlsplit raises it). A URL
    already normal, nearly every one a run fetches, is read from `_NORMAL`'s match: the gate and
    the host queues ask about every URL, and a parse of each costs more than both of their work."""
    normal = _already_normal(url)
    if normal is not None:
        return normal["scheme"], normal["host"]
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname


def _normalised(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.netloc:
        return url
    host = _host(parts)
    if not host:
        return url  # `http://:/x` names no host: kept as written, so normalising twice changes nothing
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        # Kept, so the request still sends them; every output shows the URL redacted (model.Result).
        netloc = f"{userinfo}@{netloc}"
    path = _requote(parts.path) or "/"
    query = _requote(parts.query)
    # In a text fragment an escaped "-" is text, a bare one marks a prefix or suffix.
    fragment = _requote(parts.fragment, "-" if ":~:" in parts.fragment else "")
    same = urlunsplit((scheme, netloc, path, query, fragment))
    return url if same == url else same  # most URLs are written normal: one string, not two, per URL


def is_mangled(url: str) -> bool:
    """A scheme whose colon or slashes went astray (`https//host/x`): never a relative path."""
    return bool(_MANGLED_SCHEME.match(url.strip()))


def is_relative(url: str) -> bool:
    """A link with no scheme and no host (`data/table.csv`, `../annex.pdf`): a local file."""
    url = url.strip()
    return (bool(url) and not url.startswith(("#", "//")) and not _SCHEME.match(url)
            and placeholder_reason(url) is None)


def is_root_relative(url: str) -> bool:
    """`/about`, `/`: a path from a site's root, which a local document has no site for."""
    url = url.strip()
    return url.startswith("/") and not url.startswith("//")


def without_userinfo(url: str) -> str:
    """The URL without `user:password@`: what exclude patterns are matched against."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def host_is_usable(host: str) -> bool:
    """Could a client connect to this host at all? An IP literal, or a name made of the
    characters names are made of; `http://"` or `http://a<b` never reach the resolver."""
    host = unquote(host)
    if ":" in host:  # only an IPv6 literal holds a colon (urlsplit strips the brackets)
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return False
        return True
    return bool(_HOST.fullmatch(host))


def from_header(value: str) -> str:
    """A URL from a header (Location) as browsers take it. aiohttp reads header bytes as UTF-8 and
    keeps each byte that is not as a lone surrogate (U+DC80 to U+DCFF), which nothing after could
    encode or store: those bytes are percent-encoded. Text that was UTF-8 stays text, for the URL's
    own encoding (IDNA in the host, percent-encoded UTF-8 elsewhere)."""
    if value.isascii():
        return value
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in value)


def split_fragment(url: str) -> tuple[str, str]:
    """(URL without its #fragment, the fragment) — what is fetched, and what is looked for."""
    base, _, fragment = url.partition("#")
    return base, fragment


def host_of(url: str) -> str:
    """The lower-case host of a URL, or "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


# A host whose last label is a number is read as an IPv4 address, and URL parsers disagree on the
# forms other than a.b.c.d: decimal `2852039166`, octal `0251.0376.0251.0376`, hex `0xa9fea9fe`,
# short `169.254.43518` or `127.1` (each of these is 169.254.169.254 or 127.0.0.1 to someone).
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.I)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def is_odd_ipv4(host: str) -> bool:
    """An IPv4 address written any way but four decimal numbers (`0x7f.1`, `2130706433`, `127.1`)."""
    host = host.rstrip(".")
    return (":" not in host and all(_NUMERIC_LABEL.fullmatch(label) for label in host.split("."))
            and _DOTTED_QUAD.fullmatch(host) is None)


def odd_ipv4_detail(raw: str) -> str | None:
    """Why a URL whose host is an IPv4 address in an odd form is refused, or None."""
    host = host_of(raw.strip())
    if not host or not is_odd_ipv4(host):
        return None
    return (f"its host {host} is an IPv4 address written in decimal, octal, hex or short form, which "
            "programs read differently; write it as four decimal numbers, a.b.c.d")


def _is_reserved_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host in RESERVED_HOSTS or host.endswith(RESERVED_SUFFIXES)


@functools.lru_cache(maxsize=1 << 17)  # asked at every stage about each URL of a run
def placeholder_reason(raw: str) -> Reason | None:
    """Why a cited target is no real target (`placeholder`, `invalid_url`), or None.

    Placeholders are what authors leave while drafting: `#`, nothing, `javascript:`,
    `about:blank`, reserved example hosts. Invalid URLs are ones no client could follow."""
    normal = _already_normal(raw)
    if normal is not None and normal["scheme"] != "ftp":
        return _host_reason(normal["host"])  # what the parse below finds of such a URL, unparsed
    url = raw.strip()
    lowered = url.lower()
    if url in ("", "#", "#!", "#0") or lowered.startswith(("javascript:", "about:blank")):
        return Reason.PLACEHOLDER
    if _MANGLED_SCHEME.match(url) or re.search(r"\s", url):
        return Reason.INVALID_URL
    if url.startswith("#"):
        return None  # an in-document anchor: the policy stage decides
    if not _SCHEME.match(url):
        if url.startswith("//"):
            url = "https:" + url
        elif url.lower().startswith("www."):
            return Reason.INVALID_URL  # a web address without its scheme
        else:
            return None  # a relative link: a local file, which the pipeline looks for
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return Reason.INVALID_URL
    return _host_reason(parts.hostname) if parts.scheme.lower() in ("http", "https") else None


@functools.lru_cache(maxsize=4096)  # a run's URLs share a few hosts
def _host_reason(host: str | None) -> Reason | None:
    """What `placeholder_reason` says of a web URL with this host."""
    if not host or not host_is_usable(host):
        return Reason.INVALID_URL
    if _is_reserved_host(host):
        return Reason.PLACEHOLDER
    if is_odd_ipv4(host):
        return Reason.INVALID_URL
    return None
