"""The words around each citation in its document: its sentence, the figures it states, its access date."""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace

from linkcheck.dates import ACCESSED, find_accessed
from linkcheck.figures import claims_of
from linkcheck.model import Citation

__all__ = ["annotate", "anchor_claims", "plain", "sentence_around"]

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")  # a Markdown link: its text stays
_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_TAG = re.compile(r"<[^>]*>")
_MARK = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")
# A sentence ends at . ! or ? followed by space and a capital, a quote or a bracket; "3.5" and
# "U.K. government" stay whole.
_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9£$€])")
# A line opening a block of its own: a list item, heading, quote or table row.
_BLOCK = re.compile(r"\s*(?:[-*+>|#]|\d+[.)])\s")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# How many lines of a paragraph are read either side of the citation's own.
_REACH = 8


def plain(raw: str) -> str:
    """A source line as a reader sees it: Markdown link syntax, tags and emphasis marks dropped."""
    text = _REF_LINK.sub(r"\1", _LINK.sub(r"\1", raw))
    text = html.unescape(_TAG.sub(" ", text))
    return " ".join(_MARK.sub("", text).split())


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of `text` holding the span [start, end)."""
    begin = 0
    for match in _END.finditer(text):
        if match.end() <= start:
            begin = match.end()
        elif match.start() >= end:
            return text[begin:match.start()].strip()
    return text[begin:].strip()


def _paragraph(lines: Sequence[str], index: int) -> tuple[str, int]:
    """The plain text of the paragraph around line `index` (0-based), and where that line starts in it."""
    first = index
    while (first > 0 and index - first < _REACH and lines[first - 1].strip()
           and not _BLOCK.match(lines[first])):
        first -= 1
    last = index
    while (last + 1 < len(lines) and last - index < _REACH and lines[last + 1].strip()
           and not _BLOCK.match(lines[last + 1])):
        last += 1
    before = " ".join(plain(line) for line in lines[first:index])
    text = " ".join(plain(line) for line in lines[first:last + 1])
    return text, len(before) + (1 if before else 0)


def _locate(text: str, anchor: str, start: int) -> tuple[int, int]:
    """Where the anchor text stands in `text`, looked for from `start` (its line) on."""
    words = " ".join(plain(anchor).split())
    if words:
        at = text.casefold().find(words.casefold(), start)
        if at < 0:
            at = text.casefold().find(words.casefold())
        if at >= 0:
            return at, at + len(words)
    return start, start


def context(citation: Citation, lines: Sequence[str]) -> tuple[str, str, int] | None:
    """(the citation's line, its sentence, where the anchor stands in the line) as plain text."""
    if citation.line is None or not 1 <= citation.line <= len(lines):
        return None
    index = citation.line - 1
    paragraph, offset = _paragraph(lines, index)
    own = plain(lines[index])
    start, end = _locate(paragraph, citation.text, offset)
    return own, sentence_around(paragraph, start, end), max(0, start - offset)


def _anchor(citation: Citation) -> str:
    """The anchor text as words: an address written out as its own anchor states no figure."""
    text = citation.text.strip()
    return "" if text == citation.url.strip() or _URL.fullmatch(text) else text


def anchor_claims(citations: Sequence[Citation]) -> list[Citation]:
    """The citations with the figures their anchor texts state (for documents without lines)."""
    return [replace(c, claims=claims) if (claims := claims_of(_anchor(c), "")) else c for c in citations]


def annotate(citations: Sequence[Citation], text: str) -> list[Citation]:
    """The citations with what their document states next to them: the figures of the anchor
    text, else of the sentence outside other citations; the access date, on the citation's line
    or in its sentence."""
    lines = text.splitlines()
    out: list[Citation] = []
    for citation in citations:
        found = context(citation, lines)
        if found is None:
            out.extend(anchor_claims([citation]))
            continue
        own, sentence, at = found
        accessed = find_accessed(own, at) or find_accessed(sentence)
        others = [o.text for o in citations if o is not citation and o.text and o.text in sentence]
        words = ACCESSED.sub(" ", _URL.sub(" ", sentence))
        claims = claims_of(_anchor(citation), words, others)
        out.append(replace(citation, accessed=accessed or citation.accessed, claims=claims))
    return out
