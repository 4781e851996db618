"""Find citations in Markdown source: every link a reader could follow, as written, with its line."""
from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Iterator
from copy import copy
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_core.linkify import linkify as core_linkify
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from linkcheck.extract.blockrules import without_idle_rules
from linkcheck.extract.text import URL_START, find_bare_urls
from linkcheck.model import Citation

__all__ = ["LINK_REACH", "extract_markdown"]

_LINE_BREAK = re.compile(r"\r\n?|\n")
_HTML_A_OPEN = re.compile(r"<a[\s>]", re.IGNORECASE)
_HTML_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_HTML_EMBED = re.compile(r"<(?:img|source|audio|video)[\s/>]", re.IGNORECASE)
# How far below the counted line a link's URL is looked for: wrapped constructs drift a few
# lines at most, and an unbounded look would read the rest of the block for every link.
_LOOKAHEAD = 50


def _extract_html(text: str, document: str) -> list[Citation]:
    """The links of HTML written in the Markdown."""
    from linkcheck.extract.html import extract_html  # lxml, for a document that holds HTML: most hold none

    return extract_html(text, document)


def _keep(url: str) -> str:
    return url


def _accept(url: str) -> bool:
    return True


def _make_parser() -> MarkdownIt:
    """CommonMark + linkify + footnotes, with link normalisation and validation switched off.

    markdown-it percent-encodes destinations and drops `javascript:` links; the checker
    must see the destination as the author wrote it, placeholders included.
    """
    md = MarkdownIt("commonmark", {"linkify": True}).enable("linkify").use(footnote_plugin)
    md.normalizeLink = _keep  # type: ignore[method-assign]
    md.normalizeLinkText = _keep  # type: ignore[method-assign,assignment]
    md.validateLink = _accept  # type: ignore[method-assign]
    for rule in md.inline.ruler.__rules__:
        if rule.name in ("link", "image", "footnote_inline"):
            md.inline.ruler.at(rule.name, _within_reach(rule.fn))
    md.inline.ruler.at("linkify", _linkify_within_reach)
    md.core.ruler.at("linkify", _linkify_where_cited)
    return md


def _linkify_where_cited(state: StateCore) -> None:
    """markdown-it's linkify rule, on the blocks where a bare URL can start: its own pretest reads
    each block with a pattern of all of Unicode's punctuation, nearly half the cost of a page of
    prose. Elsewhere its fuzzy links (`example.org`, `a@b.org`) yield no citation: a bare URL is
    one `find_bare_urls` finds in the link's text, which is part of the block's text."""
    blocks = [token for token in state.tokens if token.type == "inline" and URL_START.search(token.content)]
    if blocks:
        core_linkify(StateCore("", state.md, state.env, blocks))


# How far a link's `[text](destination)` may stretch. markdown-it looks for the closing `]` of
# every `[` as far as the paragraph goes, token by token: on some bracket patterns that is
# quadratic in the paragraph. Within this reach each `[` costs a bounded scan; a longer
# construct is read as text, and a bare URL in it is still found.
LINK_REACH = 512
# How long a bare address may be.
_URL_REACH = 8192


_SCHEME_AT_END = re.compile(r"(?:^|[^a-z0-9.+-])([a-z][a-z0-9.+-]*)$", re.IGNORECASE)


def _linkify_within_reach(state: StateInline, silent: bool) -> bool:
    """markdown-it's linkify rule, reading a bounded stretch: the stock rule hands linkify-it the
    whole rest of the paragraph at every `://` and scans all pending text for the scheme, which
    is quadratic on a paragraph of many run-together addresses."""
    pos = state.pos
    if state.linkLevel > 0 or state.src[pos:pos + 3] != "://":
        return False
    found = _SCHEME_AT_END.search(state.pending[-64:])
    if not found or state.md.linkify is None:
        return False
    scheme = found.group(1)
    link = state.md.linkify.match_at_start(state.src[pos - len(scheme):min(state.posMax, pos + _URL_REACH)])
    if not link:
        return False
    url: str = link.url.rstrip("*")  # a trailing `*` closes emphasis, as in the stock rule
    if not state.md.validateLink(state.md.normalizeLink(url)):
        return False
    if not silent:
        state.pending = state.pending[:-len(scheme)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": state.md.normalizeLink(url)}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - len(scheme)
    return True


def _within_reach(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    def bounded(state: StateInline, silent: bool) -> bool:
        end = state.posMax
        state.posMax = min(end, state.pos + LINK_REACH)
        try:
            return rule(state, silent)
        finally:
            state.posMax = end
    return bounded


_MD = _make_parser()
# Core rules that work on one inline token at a time, after the block rules.
_PER_BLOCK = ("inline", "linkify", "text_join")


def _parse(text: str, env: dict[str, Any]) -> Iterator[Token]:
    """`_MD.parse(text, env)`'s tokens, each block's inline children parsed just before it is handed
    out and let go once the next is asked for: a paragraph of thousands of links (a whole list
    without blank lines) is otherwise held as tokens of hundreds of bytes each, all at once.
    Footnote definitions move to the end only once every reference is known, so a document that
    has any is parsed whole, as markdown-it does."""
    md = without_idle_rules(_MD, text)
    state = StateCore(text, md, env)
    rules = [(rule.name, rule.fn) for rule in _MD.core.ruler.__rules__ if rule.enabled]
    names = [name for name, _ in rules]
    split = names.index("block") + 1
    for _, fn in rules[:split]:
        fn(state)
    later = rules[split:]
    if "footnotes" in env or any(name not in (*_PER_BLOCK, "footnote_tail") for name, _ in later):
        for _, fn in later:
            fn(state)
        yield from state.tokens
        return
    # footnote_tail only gathers definitions (none here); inline footnotes are walked where they are cited.
    per_block = [fn for name, fn in later if name in _PER_BLOCK]
    for token in state.tokens:
        if token.type != "inline":
            yield token
            continue
        for piece in _pieces(token):
            one = StateCore("", md, env, [piece])
            for fn in per_block:
                fn(one)
            yield piece
            piece.children = None


# A paragraph longer than this is read in pieces of about this size, where that cannot change a link.
_PIECE = 65536
# What may carry a link's meaning across a line end without a bracket: code spans, raw HTML and
# autolinks, escapes. A paragraph holding any is read whole.
_ACROSS_LINES = re.compile(r"[`<\\]")
_BRACKETS = re.compile(r"[\[\]()]")


def _pieces(token: Token) -> list[Token]:
    """A long paragraph's inline token cut at line ends where no link can straddle the cut: every
    `[` and `(` before it closed (a link, its destination and title, a footnote, all sit within
    brackets; a closing one with nothing open closes nothing). Emphasis may pair across a cut,
    but it never makes or unmakes a link. Each piece starts at its own source line."""
    content = token.content
    if token.map is None or len(content) <= _PIECE or _ACROSS_LINES.search(content):
        return [token]
    pieces: list[Token] = []
    open_ = {"[": 0, "(": 0}
    start, line, scanned = 0, token.map[0], 0
    while start < len(content):
        cut = content.find("\n", max(scanned, start + _PIECE))
        if cut < 0:
            cut = len(content)
        for bracket in _BRACKETS.finditer(content, scanned, cut):
            mark = bracket.group()
            if mark in open_:
                open_[mark] += 1
            else:
                side = "[" if mark == "]" else "("
                open_[side] = max(0, open_[side] - 1)
        scanned = cut
        if cut < len(content) and any(open_.values()):
            scanned += 1  # past this line end: the next one may do
            continue
        pieces.append(_piece(token, content[start:cut], line))
        line += content.count("\n", start, cut + 1)
        start = scanned = cut + 1
    return pieces


def _piece(whole: Token, content: str, line: int) -> Token:
    piece = copy(whole)
    piece.content, piece.map, piece.children = content, [line, whole.map[1] if whole.map else line + 1], []
    return piece


class _InlineWalker:
    """Walks one block's inline tokens, tracking the source line each token sits on.

    markdown-it gives lines per block only; inside a block we count soft/hard breaks and
    newlines in raw HTML. Constructs that swallow newlines (a code span or link destination
    wrapped over two lines) are caught by re-anchoring on the URL's text in the source.
    """

    def __init__(self, lines: list[str], start: int, end: int, document: str, env: dict[str, Any]) -> None:
        self.lines = lines
        self.line = start  # 0-based
        self.end = end
        self.document = document
        self.footnotes: dict[int, dict[str, Any]] = env.get("footnotes", {}).get("list", {})
        self.found: list[Citation | None] = []  # None: an HTML fragment's place, filled by `finish`
        self._fragments: list[tuple[int, str, int]] = []  # (place in found, raw HTML, line)
        self._cursor = (start, 0)  # (line, column) just past the last URL anchored on

    def _anchor(self, needle: str, span: int = 0) -> None:
        """Move to the line that really holds `needle` if counting fell behind.

        `span` is how many breaks the link text itself has: the URL may be that far down.
        Each line is searched from just past the last URL found on it, and at most
        `_LOOKAHEAD` lines ahead, so a block of many links is read once, not once per link.
        """
        if not needle:
            return
        last = min(self.end, len(self.lines), self.line + span + 1 + _LOOKAHEAD)
        for number in range(self.line, last):
            column = self._cursor[1] if number == self._cursor[0] else 0
            at = self.lines[number].find(needle, column)
            if at >= 0:
                self._cursor = (number, at + len(needle))
                if number > self.line + span:
                    self.line = number - span
                return

    def _cite(self, text: str, url: str, line: int | None = None, kind: str = "") -> None:
        at = self.line + 1 if line is None else line
        self.found.append(Citation(document=self.document, line=at, text=text, url=url, kind=kind))

    def walk(self, children: list[Token]) -> None:
        closes: list[int] | None = None  # where each `</a>` is, found at the first `<a>`: most blocks have none
        index = 0
        while index < len(children):
            token = children[index]
            kind = token.type
            if kind == "softbreak" or kind == "hardbreak":
                self.line += 1
            elif kind == "link_open":
                close = _closing(children, index)
                self._link(token, children[index + 1:close])
                index = close
            elif kind == "html_inline" and _HTML_A_OPEN.match(token.content):
                # No `</a>`: the tag alone still carries the href.
                closes = _html_closes(children) if closes is None else closes
                close = closes[index] if closes[index] >= 0 else index
                self._html(children[index:close + 1])
                index = close
            elif kind == "html_inline" and _HTML_EMBED.match(token.content):
                self._html([token])
            elif kind == "html_inline":
                self.line += token.content.count("\n")
            elif kind == "image":
                self._image(token)
            elif kind == "footnote_ref":
                note = self.footnotes.get(token.meta.get("id", -1), {})
                self.walk(note.get("tokens", []))  # inline footnote `^[...]`: its text is right here
            index += 1

    def _link(self, token: Token, inner: list[Token]) -> None:
        href = str(token.attrs.get("href", ""))
        label, breaks = _plain_text(inner)
        if token.markup == "linkify":
            # Bare URL: report it only if the shared rule agrees it is one, and as written
            # (linkify would turn `www.x` into `http://www.x` and also links bare emails).
            bare = find_bare_urls(label)
            if bare:
                self._anchor(bare[0][1])
                self._cite(bare[0][1], bare[0][1])
        else:
            self._anchor(href, breaks)
            self._cite(label, href)
            start = self.line
            for child in inner:  # a linked image: `[![chart](chart.png)](report.html)`
                if child.type == "image":
                    self._image(child)
                elif child.type in ("softbreak", "hardbreak"):
                    self.line += 1
            self.line = start
        self.line += breaks

    def _image(self, token: Token) -> None:
        """An image (inline or reference-style): its source is embedded, its alt text spans lines."""
        src = str(token.attrs.get("src", ""))
        alt, breaks = _plain_text(token.children or [])
        self._anchor(src, breaks)
        self._cite(alt, src, line=self.line + 1 + breaks, kind="image")
        self.line += breaks

    def _html(self, tokens: list[Token]) -> None:
        fragment = "".join(_raw(token) for token in tokens)
        self._fragments.append((len(self.found), fragment, self.line))
        self.found.append(None)
        self.line += fragment.count("\n")

    def finish(self) -> list[Citation]:
        """The citations in order, the block's `<a>` and embed fragments parsed together in one
        pass: one parse per fragment would cost a parser per link."""
        if not self._fragments:
            return [c for c in self.found if c is not None]
        starts: list[int] = []
        lines = 0
        for _, fragment, _ in self._fragments:
            starts.append(lines)
            lines += fragment.count("\n") + 1
        joined = "\n".join(fragment for _, fragment, _ in self._fragments)
        placed: list[list[Citation]] = [[] for _ in self._fragments]
        for parsed in _extract_html(joined, self.document):
            offset = (parsed.line or 1) - 1
            which = max(bisect.bisect_right(starts, offset) - 1, 0)
            line = self._fragments[which][2] + 1 + offset - starts[which]
            placed[which].append(Citation(document=self.document, line=line, text=parsed.text, url=parsed.url,
                                          kind=parsed.kind))
        by_place = {place: placed[i] for i, (place, _, _) in enumerate(self._fragments)}
        out: list[Citation] = []
        for place, found in enumerate(self.found):
            out.extend([found] if found is not None else by_place[place])
        return out


def _closing(children: list[Token], start: int) -> int:
    for index in range(start + 1, len(children)):
        if children[index].type == "link_close":
            return index
    return len(children) - 1


def _html_closes(children: list[Token]) -> list[int]:
    """For each token, the index of the first `</a>` after it (-1 for none): one backward pass,
    so a block of unclosed `<a href>` tags is not rescanned to its end once per tag."""
    closes = [-1] * len(children)
    following = -1
    for index in range(len(children) - 1, -1, -1):
        closes[index] = following
        token = children[index]
        if token.type == "html_inline" and _HTML_A_CLOSE.match(token.content):
            following = index
    return closes


def _raw(token: Token) -> str:
    if token.type in ("softbreak", "hardbreak"):
        return "\n"
    if token.type in ("text", "code_inline"):
        return html.escape(token.content, quote=False)  # text, even where it looks like a tag
    if token.type == "html_inline":
        return token.content
    return ""


def _plain_text(tokens: list[Token]) -> tuple[str, int]:
    """A link's visible text (collapsed) and how many line breaks it spans."""
    parts: list[str] = []
    breaks = 0
    for token in tokens:
        if token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
            breaks += 1
        elif token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type == "image":
            parts.append(token.content)  # the alt text stands in for a linked image
            breaks += _plain_text(token.children or [])[1]
        elif token.type == "html_inline":
            breaks += token.content.count("\n")
    return " ".join("".join(parts).split()), breaks


def extract_markdown(text: str, document: str) -> list[Citation]:
    """Citations in Markdown source, in source order, line numbers 1-based.

    Inline, reference-style and autolinks, bare URLs, links in footnotes and `<a href>` in
    raw HTML are citations; so are images (inline and reference-style, and what raw HTML
    embeds), marked as embedded. Anything in code is not. Bare emails are not either: only
    a link the author wrote (`[x](mailto:...)`, `<x@y.org>`, a bare `mailto:x@y.org`) counts.
    Unused reference definitions are not citations: nothing in the text points at them.
    """
    env: dict[str, Any] = {}
    lines = _LINE_BREAK.split(text)
    found: list[Citation] = []
    for token in _parse(text, env):
        if token.map is None:
            continue  # inline footnotes: walked where they are referenced
        start, end = token.map
        if token.type == "html_block":
            for citation in _extract_html(token.content, document):
                line = start + (citation.line or 1)
                found.append(Citation(document=document, line=line, text=citation.text, url=citation.url,
                                      kind=citation.kind))
        elif token.type == "inline":
            walker = _InlineWalker(lines, start, end, document, env)
            walker.walk(token.children or [])
            found.extend(walker.finish())
    # Footnote bodies come out of the parser last; put them back where they were written.
    found.sort(key=lambda citation: citation.line or 0)
    return found
