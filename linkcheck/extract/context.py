"""The words around each citation in its document: its sentence, the figures it states, its access date."""
from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from linkcheck.dates import ACCESSED, find_accessed
from linkcheck.figures import claims_of, may_state_figures
from linkcheck.model import Citation
from linkcheck.sentences import sentence_around

__all__ = ["annotate", "anchor_claims", "plain", "sentence_around"]

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")  # a Markdown link: its text stays
_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_TAG = re.compile(r"<[^>]*>")
_MARK = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")
# A line opening a block of its own: a list item, heading, quote or table row.
_BLOCK = re.compile(r"\s*(?:[-*+>|#]|\d+[.)])\s")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ACCESS = re.compile("accessed", re.IGNORECASE)
# How many lines of a paragraph are read either side of the citation's own.
_REACH = 8
# How far either side of the anchor a sentence is looked for (a long sentence is some 300
# characters): a "sentence" of a megabyte (a document of one line) is cut there, so that each
# citation costs the same, however long the line.
_SPAN = 600
# Citations either side (in document order) that a citation's sentence is searched for.
_NEIGHBOURS = 64


def plain(raw: str) -> str:
    """A source line as a reader sees it: Markdown link syntax, tags and emphasis marks dropped."""
    text = _REF_LINK.sub(r"\1", _LINK.sub(r"\1", raw))
    text = html.unescape(_TAG.sub(" ", text))
    return " ".join(_MARK.sub("", text).split())


def _bounds(lines: Sequence[str], index: int) -> tuple[int, int]:
    """The first and last line (0-based) of the paragraph around line `index`, at most `_REACH` away."""
    first = index
    while (first > 0 and index - first < _REACH and lines[first - 1].strip()
           and not _BLOCK.match(lines[first])):
        first -= 1
    last = index
    while (last + 1 < len(lines) and last - index < _REACH and lines[last + 1].strip()
           and not _BLOCK.match(lines[last + 1])):
        last += 1
    return first, last


def _paragraph(lines: Sequence[str], index: int, plain_line: Callable[[int], str]) -> tuple[str, int]:
    """The plain text of the paragraph around line `index` (0-based), and where that line starts in it."""
    first, last = _bounds(lines, index)
    before = " ".join(plain_line(i) for i in range(first, index))
    text = " ".join(plain_line(i) for i in range(first, last + 1))
    return text, len(before) + (1 if before else 0)


def _locate(text: str, anchor: str, start: int, folded: str | None = None) -> tuple[int, int]:
    """Where the anchor text stands in `text`, looked for from `start` (its line) on."""
    words = " ".join(plain(anchor).split())
    if words:
        folded = text.casefold() if folded is None else folded
        at = folded.find(words.casefold(), start)
        if at < 0:
            at = folded.find(words.casefold())
        if at >= 0:
            return at, at + len(words)
    return start, start


def context(citation: Citation, lines: Sequence[str],
            paragraph_of: Callable[[int], tuple[str, int, int, str]] | None = None) -> tuple[str, str, int] | None:
    """(the citation's line, its sentence, where the anchor stands in the line) as plain text, each
    cut to `_SPAN` characters either side of the anchor. `paragraph_of`: a line's paragraph (plain
    text, where the line starts and ends in it, the text casefolded), remembered across a document's
    citations."""
    if citation.line is None or not 1 <= citation.line <= len(lines):
        return None
    index = citation.line - 1
    if paragraph_of is None:
        text, offset = _paragraph(lines, index, lambda i: plain(lines[i]))
        whole = (text, offset, offset + len(plain(lines[index])), text.casefold())
        paragraph_of = lambda _: whole  # noqa: E731 - one citation, one paragraph
    paragraph, offset, line_end, folded = paragraph_of(index)
    start, end = _locate(paragraph, citation.text, offset, folded)
    cut = max(0, start - _SPAN)
    sentence = sentence_around(paragraph[cut:end + _SPAN], start - cut, end - cut)
    own_start = max(offset, cut)
    own = paragraph[own_start:min(line_end, end + _SPAN)]  # the line's own text, within the same reach
    return own, sentence, max(0, start - own_start)


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
    or in its sentence. Each line and paragraph is made plain once, however many citations it
    holds, each citation reads a bounded stretch of it, and the other citations its sentence may
    hold are looked for among its `_NEIGHBOURS` either side: linear in the document."""
    lines = text.splitlines()

    # Citations come in document order: the lines and paragraphs of the last few are all that is
    # asked again. Kept for every citation, a paragraph of thousands of lines would be held once
    # per line (its window of `_REACH` lines either side moves with each).
    @functools.lru_cache(maxsize=4 * _REACH)
    def plain_line(i: int) -> str:
        return plain(lines[i])

    @functools.lru_cache(maxsize=_NEIGHBOURS)
    def paragraph(first: int, last: int) -> tuple[str, list[int], str]:
        parts = [plain_line(i) for i in range(first, last + 1)]
        starts, at = [], 0
        for part in parts:
            starts.append(at)
            at += len(part) + 1
        joined = " ".join(parts)
        return joined, starts, joined.casefold()

    def paragraph_of(index: int) -> tuple[str, int, int, str]:
        first, last = _bounds(lines, index)
        joined, starts, folded = paragraph(first, last)
        start = starts[index - first]
        return joined, start, start + len(plain_line(index)), folded

    out: list[Citation] = []
    for number, citation in enumerate(citations):
        found = context(citation, lines, paragraph_of)
        if found is None:
            out.extend(anchor_claims([citation]))
            continue
        own, sentence, at = found
        if not (may_state_figures(sentence) or may_state_figures(citation.text) or _ACCESS.search(sentence)
                or _ACCESS.search(own)):
            out.append(citation)  # nothing to find: no amount, no access date
            continue
        accessed = find_accessed(own, at) or find_accessed(sentence)
        near = citations[max(0, number - _NEIGHBOURS):number + _NEIGHBOURS + 1]
        others = [o.text for o in near if o is not citation and o.text and o.text in sentence]
        words = ACCESSED.sub(" ", _URL.sub(" ", sentence))
        claims = claims_of(_anchor(citation), words, others)
        out.append(replace(citation, accessed=accessed or citation.accessed, claims=claims))
    return out
