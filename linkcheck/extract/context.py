"""The words around each citation in its document: its sentence, the figures it states, its access date."""
from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from operator import itemgetter

from linkcheck.dates import ACCESSED, find_accessed
from linkcheck.figures import claims_of, figure_signals, may_state_figures, signals_state_figures
from linkcheck.markup import without_tags
from linkcheck.model import Citation
from linkcheck.sentences import sentence_around

__all__ = ["annotate", "anchor_claims", "plain", "sentence_around"]

# A Markdown link: its text stays. Its text holds no `[` and its destination no `](` (as
# CommonMark reads `[a [b](c)`: the link is `[b](c)`), so that each `[` and each `](` is read up
# to the next only: read to the end of a line of thousands, they took time quadratic in the line.
_LINK = re.compile(r"!?\[([^\[\]]*)\]\((?:[^)\s\]]|\](?!\())*(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\[\]]*)\]\[[^\]]*\]")
# Emphasis marks: a run of them, of which the part after a non-word character goes, and before it
# the longest part followed by one (`_unmarked` reads each run once).
_MARKS = re.compile(r"[*_`]+")
_WORD_CHAR = re.compile(r"\w")
# What any of the four patterns above or an HTML entity needs: a line without it is only respaced.
_MARKUP = re.compile(r"[\[<&*_`]")
# A link's text in place of the link: the group is taken in C, where a `\1` template is expanded in
# Python once per link.
_TEXT = itemgetter(1)
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
# Lines made plain and joined at once, for the paragraphs within them.
_STRETCH = 256


def plain(raw: str) -> str:
    """A source line as a reader sees it: Markdown link syntax, tags and emphasis marks dropped."""
    if not _MARKUP.search(raw):
        return " ".join(raw.split())  # most lines and anchors: nothing to drop
    text = _LINK.sub(_TEXT, raw) if "[" in raw else raw
    if "[" in text:  # a reference-style link; most lines' links are inline, and gone by now
        text = _REF_LINK.sub(_TEXT, text)
    text = html.unescape(without_tags(text, " "))
    if "*" in text or "_" in text or "`" in text:
        text = _MARKS.sub(_unmarked, text)
    return " ".join(text.split())


def _unmarked(run: re.Match[str]) -> str:
    r"""What `(?<!\w)[*_`]+|[*_`]+(?!\w)` leaves of a run of marks when it replaces each match by
    nothing, found in one reading of the run: the pattern itself, tried from each mark of a run of
    `_` between letters, read the rest of the run each time."""
    text, (at, end) = run.string, run.span()
    after_is_word = _WORD_CHAR.match(text, end) is not None
    kept = []
    while at < end:
        if at == 0 or _WORD_CHAR.match(text, at - 1) is None or not after_is_word:
            break  # the first alternative, or the second to the run's end: the rest goes
        # The second: up to the last non-word mark after this one.
        last = max(text.rfind("*", at + 1, end), text.rfind("`", at + 1, end))
        if last > at:
            at = last
            continue
        # No match from here: the rest is kept, but for all that follows a `*` or a backtick.
        if text[at] == "_":
            kept.append(text[at:end])
        else:
            kept.append(text[at])
        break
    return "".join(kept)


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
    cut, reach = _whole_words(paragraph, max(0, start - _SPAN), end + _SPAN, start, end)
    sentence = sentence_around(paragraph[cut:reach], start - cut, end - cut)
    own_start = max(offset, cut)
    own = paragraph[own_start:min(line_end, reach)]  # the line's own text, within the same reach
    return own, sentence, max(0, start - own_start)


def _whole_words(text: str, low: int, high: int, start: int, end: int) -> tuple[int, int]:
    """`text[low:high]` narrowed to whole words, never past the anchor's [start, end): a reach that
    ends inside a word leaves the word out, since "10 millionaires" cut after "million" states ten
    million. Plain text has single spaces between its words."""
    if 0 < low < len(text) and text[low - 1] != " " and text[low] != " ":
        space = text.find(" ", low, start)
        low = space + 1 if space >= 0 else start
    if 0 < high < len(text) and text[high - 1] != " " and text[high] != " ":
        space = text.rfind(" ", end, high)
        high = space if space >= 0 else end
    return low, high


def _anchor(citation: Citation) -> str:
    """The anchor text as words: an address written out as its own anchor states no figure."""
    text = citation.text.strip()
    return "" if text == citation.url.strip() or _URL.fullmatch(text) else text


def anchor_claims(citations: Sequence[Citation]) -> list[Citation]:
    """The citations with the figures their anchor texts state (for documents without lines)."""
    return [replace(c, claims=claims) if (claims := claims_of(_anchor(c), "")) else c for c in citations]


class _Stretch:
    """Lines `a`..`b` of a document made plain and joined by spaces, with where each paragraph
    breaks and what each line may state, shared by the citations whose paragraphs lie within: a
    list of links, one per line, has a paragraph per line and its lines in common. A stretch runs up
    to `_STRETCH` lines, no further than the citations ahead can read; each citation then costs a
    few searches and one slice."""

    __slots__ = ("_a", "_b", "_cited", "_count", "_down", "_joined", "_lines", "_loud", "_offsets", "_ratio",
                 "_states", "_up")

    def __init__(self, lines: Sequence[str], cited: Sequence[int]) -> None:
        self._lines, self._cited = lines, cited  # the 0-based lines citations stand on, in order
        self._a, self._b = 0, -1
        self._joined, self._offsets, self._up, self._down = "", [0], "", ""
        # Lines before each one of the stretch (and after its last) with a figure mark, an
        # "accessed" or more than ASCII; with a ratio word; with a count word or a digit.
        self._loud: list[int] = [0]
        self._ratio: list[int] = [0]
        self._count: list[int] = [0]
        self._states: dict[str, bool] = {}  # whether each plain line may state a figure

    def _window(self, index: int) -> tuple[int, int]:
        """What `_bounds` gives for line `index`, found by searching the stretch's breaks."""
        n = len(self._lines)
        low, high = max(0, index - _REACH), min(n - 1, index + _REACH)
        if not (self._a <= low and high <= self._b):
            self._make(low, high)
        a = self._a
        # Up from the line while the one above is not blank and this one opens no block of its
        # own; down while the next line is not blank and opens none.
        first = self._up.rfind("x", low - a, index - a + 1)
        last = self._down.find("x", index - a, high - a + 1)
        return (index - _REACH if first < 0 else first + a), (index + _REACH if last < 0 else last + a)

    def paragraph(self, index: int) -> tuple[str, int, int, str]:
        """What `_paragraph` gives for line `index`: the plain text of its paragraph (within
        `_REACH` lines), where the line starts and ends in it, and the text casefolded."""
        first, last = self._window(index)
        a, offsets = self._a, self._offsets
        begin = offsets[first - a]
        text = self._joined[begin:offsets[last + 1 - a] - 1]
        return text, offsets[index - a] - begin, offsets[index + 1 - a] - 1 - begin, text.casefold()

    def quiet(self, index: int) -> bool:
        """Nothing around line `index` can state a figure or an access date: its paragraph is read
        whole (short enough that no sentence is cut from it mid-word), all ASCII, with no figure
        mark, no ratio word beside a count and no "accessed". Then neither can any sentence in it."""
        first, last = self._window(index)
        i, j = first - self._a, last + 1 - self._a
        if self._offsets[j] - 1 - self._offsets[i] > _SPAN:
            return False
        loud, ratio, count = self._loud, self._ratio, self._count
        return loud[j] == loud[i] and (ratio[j] == ratio[i] or count[j] == count[i])

    def may_state_figures(self, text: str) -> bool:
        """`may_state_figures(text)`, read off the stretch when `text` is one of its plain lines (a
        line that is only a link has its text for anchor)."""
        known = self._states.get(text)
        return may_state_figures(text) if known is None else known

    def _make(self, low: int, high: int) -> None:
        """Lines `low`..`high` at least; ahead in the document, as far as the citations there read."""
        lines, n = self._lines, len(self._lines)
        b = high
        if low >= self._a:
            reach = low + _STRETCH
            at = bisect.bisect_right(self._cited, reach) - 1
            b = max(high, min(n - 1, reach, self._cited[at] + _REACH if at >= 0 else high))
        a = low
        parts = [plain(lines[i]) for i in range(a, b + 1)]
        joined = " ".join(parts)
        offsets = [0]
        for part in parts:
            offsets.append(offsets[-1] + len(part) + 1)
        if _states_nothing(joined):
            # What each line signals is in the whole: no line marks an amount or names a ratio (so
            # its counts are never asked for), none says "accessed" or is more than ASCII.
            loud = ratio = count = [0] * len(offsets)
            states = dict.fromkeys(parts, False)
        else:
            loud, ratio, count, states = [0], [0], [0], {}
            for part in parts:
                marked, ratios, counts = signals = figure_signals(part)
                states[part] = signals_state_figures(signals)
                loud.append(loud[-1] + (marked or not part.isascii() or _ACCESS.search(part) is not None))
                ratio.append(ratio[-1] + ratios)
                count.append(count[-1] + counts)
        # Of lines a-1 .. b+1: has words, opens a block of its own, continues a paragraph (both).
        around = range(max(0, a - 1), min(n, b + 2))
        words = {i: bool(lines[i].strip()) for i in around}
        opens = {i: _BLOCK.match(lines[i]) is not None for i in around}
        flows = {i: words[i] and not opens[i] for i in around}
        self._up = "".join("x" if i == 0 or not (words[i - 1] and not opens[i]) else "." for i in range(a, b + 1))
        self._down = "".join("x" if i + 1 == n or not flows[i + 1] else "." for i in range(a, b + 1))
        self._a, self._b, self._joined, self._offsets = a, b, joined, offsets
        self._loud, self._ratio, self._count, self._states = loud, ratio, count, states


def _states_nothing(joined: str) -> bool:
    """Plain lines joined by spaces hold no figure mark, no ratio word, no "accessed" and nothing but
    ASCII: then neither does any of them, since an ASCII text's figure signals are its words' or-ed."""
    if not joined.isascii() or _ACCESS.search(joined):
        return False
    marked, ratios, _ = figure_signals(joined)
    return not (marked or ratios)


def annotate(citations: Sequence[Citation], text: str) -> list[Citation]:
    """The citations with what their document states next to them: the figures of the anchor
    text, else of the sentence outside other citations; the access date, on the citation's line
    or in its sentence. Each line and paragraph is made plain once, however many citations it
    holds, each citation reads a bounded stretch of it, and the other citations its sentence may
    hold are looked for among its `_NEIGHBOURS` either side: linear in the document."""
    lines = text.splitlines()
    stretch = _Stretch(lines, sorted(c.line - 1 for c in citations if c.line))
    paragraph_of = stretch.paragraph

    out: list[Citation] = []
    for number, citation in enumerate(citations):
        if (citation.line is not None and 1 <= citation.line <= len(lines) and stretch.quiet(citation.line - 1)
                and not stretch.may_state_figures(citation.text)):
            out.append(citation)  # as below, known without reading the sentence
            continue
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
