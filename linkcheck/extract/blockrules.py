"""The Markdown parser a document needs: markdown-it's block rules that cannot fire on it left out.

markdown-it tries every block rule at the start of each block, and every rule that may end a
paragraph on each line of one: once for the setext heading rule, which reads the paragraph to its
end looking for an underline, and once more for the paragraph rule. Each rule needs a mark where
the line's content starts (`>`, `<`, `#`, a fence, an underline); where the document holds that
mark nowhere, the rule returns no and changes nothing, so leaving it out gives the same tokens. On
a paragraph of 10,000 links, one per line, those rules are most of the block parse."""
from __future__ import annotations

import copy
import functools
import re

from markdown_it import MarkdownIt

__all__ = ["without_idle_rules"]

# A setext heading's underline: a line of only `=` or only `-` after indent and `>` (a line that
# starts a list item or a footnote begins a block of its own; it never underlines the paragraph
# above), below a line of that paragraph, so after a line break. Looked for from the break: a
# pattern that looks behind at every character costs three times as much.
_UNDERLINE = re.compile(r"[\r\n][ \t>]*(?:=+|-+)[ \t]*(?![^\r\n])")
# What each rule needs somewhere in the document to fire: one of the strings, and the pattern where
# there is one. A line's content starts after its containers' marks (indent, `>`, a list marker, a
# footnote's `[^x]:`) and each rule reads it from there; `\r\n` and `\r` are still line breaks here.
# The list rule is not among them: its mark, a number and `.` or `)` with a space or the line end
# after, is in most documents, and looking for it costs about what leaving the rule out saves.
_NEEDS: dict[str, tuple[tuple[str, ...], re.Pattern[str] | None]] = {
    "lheading": (("=", "-"), _UNDERLINE),
    "fence": (("```", "~~~"), None),
    "blockquote": ((">",), None),
    "hr": (("-", "*", "_"), None),
    "heading": (("#",), None),
    "html_block": (("<",), None),
    "footnote_def": (("[^",), None),
}


def without_idle_rules(md: MarkdownIt, text: str) -> MarkdownIt:
    """`md`, or a copy of it without the block rules that cannot fire on `text`."""
    idle = frozenset(name for name, (marks, pattern) in _NEEDS.items() if not _may_fire(text, marks, pattern))
    return _without(md, idle) if idle else md


def _may_fire(text: str, marks: tuple[str, ...], pattern: re.Pattern[str] | None) -> bool:
    if not any(mark in text for mark in marks):
        return False
    return pattern is None or pattern.search(text) is not None


@functools.cache
def _without(md: MarkdownIt, idle: frozenset[str]) -> MarkdownIt:
    """`md` with its own block rules, those in `idle` disabled; its inline and core rules, options and
    linkify stay shared, so a change made to `md`'s is made to the copy's too."""
    parser = copy.copy(md)
    parser.block = copy.deepcopy(md.block)
    parser.block.ruler.disable(sorted(idle))
    return parser
