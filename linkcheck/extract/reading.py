"""A document's bytes as text: BOM-less UTF-16/UTF-32 told by where the NULs fall; binary junk refused."""
from __future__ import annotations

import codecs
import re

from linkcheck.encoding import bom, decode_html, decode_text
from linkcheck.errors import InputError

__all__ = ["html_bytes", "text_of"]

_SAMPLE = 1 << 16
# Characters no text document is made of: C0 and C1 controls other than tab, line breaks, form
# feed and escape, DEL, NUL, and the replacement character of undecodable bytes.
_JUNK = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd]")
_JUNK_SHARE = 0.01  # random bytes read as windows-1252 are about one part in eight such characters


def _nul_lanes(data: bytes) -> str | None:
    """utf-16le/be or utf-32le/be for text without a BOM whose characters are mostly ASCII: the
    NULs then fill one byte in two (or three in four) in a fixed lane."""
    sample = data[:4096]
    size = len(sample) - len(sample) % 4
    if size < 4 or 0 not in sample:
        return None
    share = [sample[lane:size:4].count(0) / (size // 4) for lane in range(4)]
    if min(share[1:]) > 0.9 and share[0] < 0.1:
        return "utf-32le"
    if min(share[:3]) > 0.9 and share[3] < 0.1:
        return "utf-32be"
    even, odd = (share[0] + share[2]) / 2, (share[1] + share[3]) / 2
    if odd > 0.5 and even < 0.05:
        return "utf-16le"
    if even > 0.5 and odd < 0.05:
        return "utf-16be"
    return None


def _check(text: str, path: str) -> str:
    sample = text[:_SAMPLE]
    if len(_JUNK.findall(sample)) > len(sample) * _JUNK_SHARE:
        raise InputError(path, "not a text document in any encoding (binary data?); nothing can be read from it")
    return text


def text_of(data: bytes, path: str) -> str:
    """A Markdown or plain-text file's text: a BOM (UTF-8, UTF-16, UTF-32) wins, then UTF-16/32
    told by its NULs, then UTF-8, else windows-1252. InputError when it is not text at all."""
    if bom(data, utf32=True) is None and (lanes := _nul_lanes(data)) is not None:
        return _check(data.decode(lanes, errors="replace"), path)
    return _check(decode_text(data), path)


def html_bytes(data: bytes, path: str) -> bytes:
    """An HTML file's bytes for the HTML extractor, which reads UTF-8 and UTF-16 BOMs and the page's
    own declaration: UTF-32 and BOM-less UTF-16 are handed over as UTF-8 with a BOM, so they win
    over a declaration. InputError when it is not text at all."""
    mark = bom(data, utf32=True)
    wide = mark[0] if mark is not None and mark[0].startswith("utf-32") else None
    wide = wide or (_nul_lanes(data) if mark is None else None)
    if wide is not None:
        text = _check(data.decode(wide, errors="replace").lstrip("\ufeff"), path)
        return codecs.BOM_UTF8 + text.encode("utf-8", errors="surrogatepass")
    _check(decode_html(data[:_SAMPLE]), path)
    return data
