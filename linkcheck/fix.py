"""Fix what a check found: plan each citation's new URL, then splice it into the source in place."""
from __future__ import annotations

import difflib
import html
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from markdown_it import MarkdownIt

from .collect import anchor_key
from .extract.markdown import LINK_REACH
from .markup import without_tags
from .model import RunReport, Verdict
from .redact import is_redacted
from .urls import normalise

__all__ = ["Edit", "Fixed", "Robust", "apply_to_html", "apply_to_markdown", "fix_html", "fix_markdown",
           "instructions", "plan_edits", "robust_links", "unified_diff"]

# Normalised URL -> (archived copy's URL, YYYY-MM-DD of the snapshot or None): Robust Links data.
Robust = Mapping[str, tuple[str, str | None]]
# (start, end, replacement) in the text being fixed.
_Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class Edit:
    """One citation to re-point: where it is, its anchor text, the URL as written and the one to cite."""

    document: str
    line: int | None
    old_url: str
    new_url: str
    text: str
    why: str
    page: int | None = None
    version_url: str | None = None  # Robust Links: an archived copy of new_url, and its date
    version_date: str | None = None

    @property
    def location(self) -> str:
        """`file:line`, `file: page N` (PDF) or `file: paragraph N` (Word) for people."""
        if self.page is not None or self.line is None:
            return f"{self.document}: " + (f"page {self.page}" if self.page is not None else "(place unknown)")
        word = self.document.lower().endswith(".docx")
        return f"{self.document}: paragraph {self.line}" if word else f"{self.document}:{self.line}"


@dataclass(frozen=True, slots=True)
class Fixed:
    """A document's text after the edits, how many links changed, and the edits left for a person."""

    text: str
    links: int
    skipped: tuple[tuple[Edit, str], ...] = ()
    annotated: int = 0


def _key(url: str) -> str:
    try:
        return normalise(url)
    except ValueError:
        return url


def robust_links(report: RunReport, replay: str | None = None) -> dict[str, tuple[str, str | None]]:
    """Archived copy and snapshot date per normalised URL: the result's archived URL, else, when
    a replay server holds our own WARCs (`replay`, its URL prefix), the run's snapshot there."""
    found: dict[str, tuple[str, str | None]] = {}
    for result in report.results:
        when = result.snapshot.time if result.snapshot and result.snapshot.time else None
        copy = result.archived_url
        if copy is None and replay and when and result.url.startswith(("http://", "https://")):
            copy = f"{replay.rstrip('/')}/{''.join(c for c in when if c.isdigit())}/{result.final_url or result.url}"
        if copy:
            found.setdefault(_key(result.url), (copy, when[:10] if when else None))
    return found


def plan_edits(report: RunReport, registered: Mapping[str, str] | None = None) -> list[Edit]:
    """One Edit per citation of a placeholder whose reference has a URL, or of a permanent redirect.

    A report shows URLs with their credentials masked; `registered` (reference id -> URL as
    written in references.yaml) gives a placeholder its real URL back."""
    robust = robust_links(report)
    edits: list[Edit] = []
    for result in report.results:
        new = result.suggested_url
        if not new:
            continue
        if result.verdict is Verdict.PLACEHOLDER and result.reference_id is not None:
            new = (registered or {}).get(result.reference_id) or new
            why = f"placeholder: references.yaml gives the source ({result.reference_id})"
        elif result.verdict is Verdict.REDIRECTED:
            why = result.detail
        else:
            continue  # e.g. a "did you mean" guess: a person decides that one
        if new == result.suggested_url and is_redacted(new):
            continue  # masked in the report: only a person can write the real one
        version = robust.get(_key(new), (None, None))
        edits.extend(Edit(c.document, c.line, c.url, new, c.text, why, c.page, *version)
                     for c in result.citations if c.url != new)
    # Two identical links on one line are one citation twice: one edit changes both.
    return sorted(dict.fromkeys(edits), key=lambda e: (e.document, e.line or 0, e.page or 0))


# -- locating links ------------------------------------------------------------------------------
_ANY_BREAK = re.compile(r"\r\n?|\n")  # Markdown's line breaks (and the extractor's)
_LF = re.compile(r"\n")  # libxml2 counts only LF, so a lone CR does not start an HTML line
_BRACKET = re.compile(r"[\[\]]|(?:\r\n?|\n)[ \t]*(?=[\r\n])")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BREAK = r"[ \t]*(?:(?:\r\n?|\n)[ \t]*)?"
# An inline link's destination after `](`: <bracketed> (group 1) or raw, parentheses balanced one deep (group 2);
# then an optional title and the closing parenthesis.
_DESTINATION = re.compile(
    _BREAK + r"""(?:<((?:[^<>\\\r\n]|\\.)*)>|((?:[^\s()\\\x00-\x1f]|\\.|\((?:[^\s()\\]|\\.)*\))*))""" + _BREAK
    + r"""(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\))""" + _BREAK + r")?\)", re.S)
_DEFINITION = re.compile(r"^ {0,3}\[((?:[^\[\]\\]|\\.){1,999})\]:" + _BREAK + r"(<[^<>\r\n]*>|\S+)", re.M)
_SECOND = re.compile(r"\[((?:[^\[\]\\]|\\.){0,999})\]")
_A_START = re.compile(r"<a(?=[\s>/])", re.I)
# The rest of an `<a` start tag, to its `>`, quoted values read whole; possessive: never backtracks.
_A_REST = re.compile(r"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")
_HREF = re.compile(r"""(?<=[\s"'/])href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)
_END_A = re.compile(r"</a\s*>|<a[\s>/]", re.I)
_INLINE = MarkdownIt("commonmark")


def _starts(text: str, breaks: re.Pattern[str]) -> list[int]:
    return [0, *(m.end() for m in breaks.finditer(text))]


def _unescape(raw: str) -> str:
    """A Markdown destination as the parser reads it: backslash escapes and entities resolved."""
    return _ENTITY.sub(lambda m: html.unescape(m.group()), _ESCAPE.sub(r"\1", raw))


def _same(raw: str, url: str) -> bool:
    return _unescape(raw).strip() == url.strip()


def _plain(label: str) -> str:
    """A link label's visible text, as the Markdown extractor reads it, compared as `cited_as` is."""
    tokens = _INLINE.parseInline(label)
    parts = [t.content if t.type in ("text", "code_inline", "image") else " " if "break" in t.type else ""
             for t in (tokens[0].children or [] if tokens else [])]
    return anchor_key("".join(parts))


def _md_url(url: str, bracketed: bool) -> str:
    url = re.sub(r"[\s<>]", lambda m: quote(m.group()), url)
    if not bracketed and url.count("(") != url.count(")"):
        url = url.replace("(", r"\(").replace(")", r"\)")
    return url


class _Markdown:
    """Finds an edit's link in Markdown source: inline, reference definition, autolink, bare, raw <a>."""

    def __init__(self, text: str, edits: Sequence[Edit]) -> None:
        self.text, self.edits = text, edits
        self.starts = _starts(text, _ANY_BREAK)
        escaped = {m.start() + 1 for m in re.finditer(r"\\.", text, re.S)}
        # Every bracket pair, matched in one pass; a blank line ends a paragraph and any open bracket.
        self.labels: dict[int, list[tuple[int, int]]] = {}
        stack: list[int] = []
        for m in _BRACKET.finditer(text):
            if m.group() in "[]" and m.start() in escaped:
                continue
            if m.group() == "[":
                stack.append(m.start())
            elif m.group() == "]" and stack:
                opening = stack.pop()
                image = opening > 0 and text[opening - 1] == "!" and opening - 1 not in escaped
                # A label as long as the extractor's reach is no link's: none is cited with it. Read
                # all, a line of nested brackets made each of thousands of labels a parse of its own.
                if not image and m.start() - opening < LINK_REACH:
                    self.labels.setdefault(bisect_right(self.starts, opening), []).append((opening, m.start()))
            elif m.group() != "]":
                stack.clear()
        self.definitions: dict[str, re.Match[str]] = {}
        for match in _DEFINITION.finditer(text):
            self.definitions.setdefault(anchor_key(match.group(1)), match)  # the first one wins
        self.uses = list(self._references()) if self.definitions else []
        # The same, by line and by label; and each line's inline links, by text and URL, once read.
        self.uses_at: dict[int, list[tuple[str, str]]] = {}
        self.users: dict[str, list[tuple[int, str]]] = {}
        for at, visible, used in self.uses:
            self.uses_at.setdefault(at, []).append((visible, used))
            self.users.setdefault(used, []).append((at, visible))
        self.inline: dict[int, dict[tuple[str, str], list[tuple[int, int, bool]]]] = {}
        self.covered: dict[tuple[str, str], set[tuple[int | None, str]]] = {}

    def _references(self) -> Iterable[tuple[int, str, str]]:
        """(line, visible text, label) of every reference-style use: `[t][l]`, `[t][]`, `[t]`."""
        taken: set[int] = set()
        for line, pairs in sorted(self.labels.items()):
            for opening, close in sorted(pairs):
                if close in taken or self.text.startswith(("(", ":"), close + 1):
                    continue  # an inline link, a definition, or the label part of `[t][l]`
                second = _SECOND.match(self.text, close + 1)
                if second:
                    taken.add(second.end() - 1)
                label = second.group(1) if second and second.group(1) else self.text[opening + 1:close]
                yield line, _plain(self.text[opening + 1:close]), anchor_key(label)

    def spans(self, edit: Edit) -> tuple[list[_Span], str]:
        assert edit.line is not None
        if not 1 <= edit.line <= len(self.starts):
            return [], "the document has no such line"
        start, end = self.starts[edit.line - 1], (self.starts + [len(self.text)])[edit.line]
        found, why = self._reference(edit)
        if anchor_key(edit.text) == anchor_key(edit.old_url):  # autolinks and bare URLs show their URL
            found += [(start + m.start() + 1, start + m.end() - 1, _md_url(edit.new_url, True))
                      for m in re.finditer(re.escape(f"<{edit.old_url}>"), self.text[start:end])]
            bare = re.compile(r"(?<![\w@./+\-<\[>\"'=])" + re.escape(edit.old_url) + r"(?![\w/#?=&%~+\-]|\.\w)")
            found += [(start + m.start(), start + m.end(), _md_url(edit.new_url, False))
                      for m in bare.finditer(self.text[start:end])]
        for begin, stop, bracketed in self._inline(edit.line).get((anchor_key(edit.text), edit.old_url.strip()), []):
            found.append((begin, stop, _md_url(edit.new_url, bracketed)))
        return found + _html_spans(self.text, self.starts, edit), why

    def _inline(self, line: int) -> dict[tuple[str, str], list[tuple[int, int, bool]]]:
        """The destinations of the inline links on a line, by (visible text, URL as the parser reads
        it): read once, however many of the line's links are edited."""
        if line not in self.inline:
            links: dict[tuple[str, str], list[tuple[int, int, bool]]] = {}
            for opening, close in self.labels.get(line, []):
                link = _DESTINATION.match(self.text, close + 2) if self.text.startswith("(", close + 1) else None
                if link is not None:
                    group = 1 if link.group(1) is not None else 2
                    key = (_plain(self.text[opening + 1:close]), _unescape(link.group(group)).strip())
                    links.setdefault(key, []).append((link.start(group), link.end(group), group == 1))
            self.inline[line] = links
        return self.inline[line]

    def _reference(self, edit: Edit) -> tuple[list[_Span], str]:
        """The destination of the definition a reference-style link on the edit's line uses."""
        for label in {used for text, used in self.uses_at.get(edit.line or 0, []) if text == anchor_key(edit.text)}:
            match = self.definitions[label] if label in self.definitions else None
            if match is None or not _same(match.group(2).removeprefix("<").removesuffix(">"), edit.old_url):
                continue
            pair = (edit.old_url, edit.new_url)
            if pair not in self.covered:
                self.covered[pair] = {(e.line, anchor_key(e.text)) for e in self.edits
                                      if (e.old_url, e.new_url) == pair}
            covered = self.covered[pair]
            if any((at, text) not in covered for at, text in self.users.get(label, [])):
                return [], f"its reference definition [{match.group(1)}] is shared with links not being fixed"
            bracketed = match.group(2).startswith("<")
            return [(match.start(2) + bracketed, match.end(2) - bracketed, _md_url(edit.new_url, bracketed))], ""
        return [], ""


def _html_spans(text: str, starts: list[int], edit: Edit) -> list[_Span]:
    """The href values of the `<a>` tags on the edit's line whose text and URL match."""
    assert edit.line is not None
    found: list[_Span] = []
    if not 1 <= edit.line <= len(starts):
        return found
    # libxml2 reports a tag wrapped over lines on its last line: look a few lines around.
    low = starts[max(edit.line - 10, 0)]
    high = starts[edit.line + 10] if edit.line + 10 < len(starts) else len(text)
    for begin, end in _a_tags(text, low, high):
        lines = range(bisect_right(starts, begin), bisect_right(starts, end - 1) + 1)
        href = _HREF.search(text, begin, end)
        if edit.line not in lines or href is None:
            continue
        group = next(g for g in (1, 2, 3) if href.group(g) is not None)
        if html.unescape(href.group(group)).strip() != edit.old_url.strip():
            continue
        body = text[end:(m.start() if (m := _END_A.search(text, end)) else len(text))]
        if anchor_key(html.unescape(without_tags(body))) != anchor_key(edit.text):
            continue
        value = html.escape(edit.new_url)
        if group == 3 and not re.fullmatch(r"[^\s\"'=<>`&]+", edit.new_url):
            value = f'"{value}"'
        found.append((href.start(group), href.end(group), value))
    return found


def _a_tags(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of each `<a ...>` start tag in text[start:end]. One whose quote or `>` never
    comes runs to the end, as a browser reads it: no later tag is looked for, so that a text of
    thousands of such costs one pass, not one for each (`<a ` 20,000 times took 28 s)."""
    end = len(text) if end is None else end
    while (opening := _A_START.search(text, start, end)) is not None:
        rest = _A_REST.match(text, opening.end(), end)
        if rest is None:
            return
        yield opening.start(), rest.end()
        start = rest.end()


def _splice(text: str, spans: Iterable[_Span]) -> str:
    for start, end, new in sorted(set(spans), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _apply(text: str, edits: Iterable[Edit], find: Callable[[Edit], tuple[list[_Span], str]]) -> Fixed:
    chosen: dict[tuple[int, int], str] = {}
    skipped: list[tuple[Edit, str]] = []
    for edit in dict.fromkeys(edits):
        spans, why = find(edit) if edit.line is not None else ([], "its line is not known")
        clash = any(chosen.get((s, e), new) != new or any(s < e2 and s2 < e and (s, e) != (s2, e2) for s2, e2 in chosen)
                    for s, e, new in spans)
        if not spans or clash:
            skipped.append((edit, why or "no link with that text and URL on that line"))
            continue
        chosen.update(((s, e), new) for s, e, new in spans)
    return Fixed(_splice(text, ((s, e, new) for (s, e), new in chosen.items())), len(chosen), tuple(skipped))


def fix_markdown(text: str, edits: Iterable[Edit]) -> Fixed:
    """Markdown source with each edit's URL replaced in place; edits whose link is not found are skipped."""
    edits = list(edits)
    return _apply(text, edits, _Markdown(text, edits).spans)


def _robust(text: str, robust: Robust) -> tuple[str, int]:
    """Robust Links attributes, right after the href, on every `<a>` whose URL has an archived copy."""
    spans: list[_Span] = []
    for begin, end in _a_tags(text):
        href = _HREF.search(text, begin, end)
        if href is None:
            continue
        url = html.unescape(next(g for g in href.groups() if g is not None))
        version = robust.get(_key(url)) or robust.get(url)
        if version is None:
            continue
        attributes = "".join(f' {name}="{html.escape(value)}"' for name, value in
                             (("data-versionurl", version[0]), ("data-versiondate", version[1]))
                             if value and not re.search(rf"[\s\"']{name}\s*=", text[begin:end], re.I))
        if attributes:
            spans.append((href.end(), href.end(), attributes))
    return _splice(text, spans), len(spans)


def fix_html(text: str, edits: Iterable[Edit], robust: Robust | None = None) -> Fixed:
    """HTML source with each edit's href replaced in place and, given `robust`, Robust Links added."""
    edits = list(edits)
    starts = _starts(text, _LF)
    fixed = _apply(text, edits, lambda edit: (_html_spans(text, starts, edit), ""))
    if robust is None:
        return fixed
    table = dict(robust)
    for edit in edits:
        if edit.version_url:
            table.setdefault(_key(edit.new_url), (edit.version_url, edit.version_date))
    annotated, count = _robust(fixed.text, table)
    return Fixed(annotated, fixed.links, fixed.skipped, count)


def apply_to_markdown(text: str, edits: Iterable[Edit]) -> str:
    """Markdown source with every findable edit applied; nothing else changes."""
    return fix_markdown(text, edits).text


def apply_to_html(text: str, edits: Iterable[Edit], robust: Robust | None = None) -> str:
    """HTML source with every findable edit applied (and Robust Links, given `robust`)."""
    return fix_html(text, edits, robust).text


_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def unified_diff(path_display: str, before: str, after: str) -> str:
    """A unified diff (a/ and b/ prefixes, as git prints) of one document's change."""
    lines = difflib.unified_diff(_LINES.findall(before), _LINES.findall(after),
                                 fromfile=f"a/{path_display}", tofile=f"b/{path_display}")
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def instructions(edits: Iterable[Edit]) -> list[str]:
    """What a person must change by hand (PDF and Word files are never rewritten), one line each."""
    return [f"{e.location}: replace {e.old_url} (linked from {e.text!r}) with {e.new_url}  ({e.why})"
            for e in edits]
