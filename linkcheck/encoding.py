"""The one decoder of the package: bytes to text as a browser would read them (WHATWG encoding sniffing)."""
from __future__ import annotations

import codecs
import functools
import re

import webencodings

__all__ = ["bom", "charset_param", "decode", "decode_html", "decode_text", "lookup", "prescan", "sniff_html"]

# How much of a body the <meta> prescan reads: the HTML standard's advice, and what browsers do.
PRESCAN_BYTES = 1024
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16be"), (codecs.BOM_UTF16_LE, "utf-16le"))
# Files (not web bodies) may also carry UTF-32 BOMs; checked first, since FF FE 00 00 starts both.
_BOMS_32 = ((codecs.BOM_UTF32_BE, "utf-32be"), (codecs.BOM_UTF32_LE, "utf-32le"))
_SPACE = b"\t\n\f\r "
_CHARSET_PARAM = re.compile(r"""[;\s]charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^;\s]*))""", re.IGNORECASE)
_META = re.compile(rb"<meta[\t\n\f\r /]", re.IGNORECASE)
_TAG = re.compile(rb"</?[A-Za-z][^\t\n\f\r >]*")
# The HTML standard's "get an attribute", one attribute per match: `>` (no more attributes), or a
# name with an optional value. Group 6 is a quote never closed: the prescan ran out of bytes.
_ATTRIBUTE = re.compile(
    rb"""[\t\n\f\r /]*(?:(>)|([^\t\n\f\r />][^\t\n\f\r /=>]*)"""
    rb"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|(["'])|([^\t\n\f\r >]*)))?)""")
_CONTENT_CHARSET = re.compile(rb"""charset[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|(["'])|([^\t\n\f\r ;"']+))""",
                              re.IGNORECASE)
# The usual first declaration, `<meta charset="utf-8">`, read in one step when nothing before it
# (a comment, an apostrophe, an open quote) could make it something the prescan would skip.
_PLAIN_META = re.compile(rb"""<meta[\t\n\f\r /]+charset[\t\n\f\r ]*=[\t\n\f\r ]*"?([^\t\n\f\r "'/>;]+)"?[^>]*>""",
                         re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""encoding[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^">]*)"|'([^'>]*)')""")


def _windows_1252_table() -> str:
    """windows-1252 as the Encoding standard has it: the five bytes Python's cp1252 leaves
    undefined are the C1 controls of the same number. A table of its own for the charmap codec,
    rather than an error handler, which would have to be registered for the whole process."""
    def char(byte: int) -> str:
        try:
            return bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            return chr(byte)

    return "".join(char(byte) for byte in range(256))


_WINDOWS_1252 = _windows_1252_table()


@functools.lru_cache(maxsize=256)  # a run meets a handful of labels, on every page
def lookup(label: str | bytes | None) -> str | None:
    """The Encoding standard's name for a label (`latin1`, `ascii`, `iso-8859-1` are all
    windows-1252, as in every browser); None for a label no browser knows."""
    if not label:
        return None
    if isinstance(label, bytes):
        label = label.decode("latin-1")
    if not label.isascii():
        return None  # every label is ASCII; a header's stray bytes (lone surrogates) would stop webencodings
    found = webencodings.lookup(label)
    return str(found.name) if found is not None else None


@functools.lru_cache(maxsize=256)  # asked for every page, of the same few header values
def charset_param(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, as written (quotes removed)."""
    match = _CHARSET_PARAM.search(";" + content_type.partition(";")[2]) if ";" in content_type else None
    if match is None:
        return None
    value = next(g for g in match.groups() if g is not None).strip()
    return value or None


def bom(data: bytes, *, utf32: bool = False) -> tuple[str, int] | None:
    """(encoding, BOM length) when the bytes start with a byte order mark. Web bodies know
    UTF-8 and UTF-16 BOMs only; `utf32` adds UTF-32's, for files."""
    for mark, name in (_BOMS_32 + _BOMS) if utf32 else _BOMS:
        if data.startswith(mark):
            return name, len(mark)
    return None


def _attributes(data: bytes, pos: int) -> tuple[list[tuple[bytes, bytes]], int] | None:
    """A tag's attributes from `pos` to its `>` (lower-cased), and the position of that `>`;
    None when the bytes end first."""
    found: list[tuple[bytes, bytes]] = []
    end = len(data)
    while True:
        match = _ATTRIBUTE.match(data, pos)
        if match is None or match.group(5):
            return None
        if match.group(1):
            return found, match.end() - 1
        if match.end() >= end:
            return None
        name = match.group(2).lower()
        value = next((g for g in (match.group(3), match.group(4), match.group(6)) if g is not None), b"")
        found.append((name, value.lower()))
        pos = match.end()


def _content_charset(content: bytes) -> str | None:
    """The HTML standard's "extracting a character encoding from a meta element"."""
    match = _CONTENT_CHARSET.search(content)
    if match is None or match.group(3):
        return None
    return lookup(next(g for g in (match.group(1), match.group(2), match.group(4)) if g is not None))


def _meta_charset(attributes: list[tuple[bytes, bytes]]) -> str | None:
    seen: set[bytes] = set()
    pragma, need_pragma, charset = False, None, None
    for name, value in attributes:
        if name in seen:
            continue
        seen.add(name)
        if name == b"http-equiv":
            pragma = pragma or value == b"content-type"
        elif name == b"content" and charset is None:
            charset = _content_charset(value)
            need_pragma = True if charset is not None else need_pragma
        elif name == b"charset":
            charset, need_pragma = lookup(value), False
    if need_pragma is None or (need_pragma and not pragma) or charset is None:
        return None
    return _declared(charset)


def _declared(name: str) -> str:
    """A document cannot declare itself UTF-16 in bytes that read as ASCII; x-user-defined is
    windows-1252 when declared."""
    if name in ("utf-16be", "utf-16le"):
        return "utf-8"
    return "windows-1252" if name == "x-user-defined" else name


def _xml_encoding(data: bytes) -> str | None:
    """The HTML standard's "get an XML encoding": `<?xml ... encoding="..."?>` at the very start."""
    if not data.startswith(b"<?xml"):
        return None
    close = data.find(b">")
    match = _XML_ENCODING.search(data, 5, close) if close > 0 else None
    if match is None:
        return None
    name = lookup(match.group(1) if match.group(1) is not None else match.group(2))
    return _declared(name) if name else None


def prescan(data: bytes) -> str | None:
    """The encoding a page declares in its first bytes (`<meta charset>`, `<meta http-equiv>`, an
    XML declaration), found as the HTML standard's prescan finds it: comments and other tags'
    attributes are skipped, so a `charset=` quoted inside them does not count."""
    if data.startswith(b"<\x00?\x00x\x00"):
        return "utf-16le"
    if data.startswith(b"\x00<\x00?\x00x"):
        return "utf-16be"
    # Every declaration but the XML one says "charset": past its last mention there is nothing to find.
    lowered = data.lower()
    last = lowered.rfind(b"charset")
    if last < 0:
        return _xml_encoding(data)
    plain = _PLAIN_META.search(data)
    if plain is not None:
        before = lowered[:plain.start()]
        found = lookup(plain.group(1))
        if found and b"charset" not in before and b"<!--" not in before and b"'" not in before \
                and before.count(b'"') % 2 == 0:
            return _declared(found)
    pos = 0
    while 0 <= (pos := data.find(b"<", pos)) < last:
        if data.startswith(b"<!--", pos):
            close = data.find(b"-->", pos + 2)
            if close < 0:
                break
            pos = close + 3
            continue
        if meta := _META.match(data, pos):
            parsed = _attributes(data, meta.end())
            if parsed is None:
                break
            found = _meta_charset(parsed[0])
            if found is not None:
                return found
            pos = parsed[1] + 1
            continue
        if tag := _TAG.match(data, pos):
            parsed = _attributes(data, tag.end())
            if parsed is None:
                break
            pos = parsed[1] + 1
            continue
        if data.startswith((b"<!", b"</", b"<?"), pos):
            close = data.find(b">", pos)
            if close < 0:
                break
            pos = close + 1
            continue
        pos += 1
    return _xml_encoding(data)


def _undeclared(data: bytes) -> tuple[str, str]:
    """(encoding, text) of bytes nothing declares: UTF-8 when they are valid UTF-8 (a character
    cut at the end, as at the size cap, still is), else windows-1252. Decoded once."""
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(data) - 3 or error.reason != "unexpected end of data":
            return "windows-1252", decode(data, "windows-1252")
        return "utf-8", data.decode("utf-8", errors="replace")


def sniff_html(data: bytes, transport: str | None = None) -> tuple[str, int]:
    """(encoding, BOM length) of an HTML body, in the HTML standard's order: a BOM wins; then the
    charset of the Content-Type (`transport`); then the page's own declaration in its first 1024
    bytes. Without any, the standard lets a browser guess: bytes that are valid UTF-8 are
    UTF-8, anything else windows-1252, the default browsers use for undeclared Western pages."""
    mark = bom(data)
    if mark is not None:
        return mark
    declared = _declaration(data, transport)
    return (declared, 0) if declared is not None else (_undeclared(data)[0], 0)


def _declaration(data: bytes, transport: str | None) -> str | None:
    return lookup(transport) or prescan(data[:PRESCAN_BYTES])


def decode(data: bytes, encoding: str) -> str:
    """The bytes in a named encoding; a byte sequence the encoding has no character for reads as
    U+FFFD, never an exception."""
    found = webencodings.lookup(encoding)
    if found is None:
        raise LookupError(f"unknown encoding {encoding!r}")
    if found.name == "windows-1252":
        # typeshed omits the str decoding table that the standard library's own charmap codecs pass
        return codecs.charmap_decode(data, "strict", _WINDOWS_1252)[0]  # type: ignore[arg-type]
    if found.name == "utf-8":
        return data.decode("utf-8", errors="replace")
    return str(found.codec_info.decode(data, "replace")[0])


def decode_html(data: bytes, transport: str | None = None) -> str:
    """An HTML document's text: `sniff_html`, then decoded without its BOM."""
    mark = bom(data)
    if mark is not None:
        return decode(data[mark[1]:], mark[0])
    declared = _declaration(data, transport)
    return decode(data, declared) if declared is not None else _undeclared(data)[1]


def decode_text(data: bytes, transport: str | None = None) -> str:
    """A plain-text document or body (Markdown, text/*): a BOM (UTF-8, UTF-16 or UTF-32) wins, then
    the declared charset, then UTF-8 when the bytes are valid UTF-8, else windows-1252."""
    mark = bom(data, utf32=True)
    if mark is not None:
        return _decode_bom(data, mark)
    declared = lookup(transport)
    return decode(data, declared) if declared is not None else _undeclared(data)[1]


def _decode_bom(data: bytes, mark: tuple[str, int]) -> str:
    name, length = mark
    if name.startswith("utf-32"):  # not a web encoding: Python's own codec
        return data[length:].decode(name, errors="replace")
    return decode(data[length:], name)
