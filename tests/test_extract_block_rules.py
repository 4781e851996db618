"""Markdown parsed without the block rules that cannot fire on it gives markdown-it's own tokens, and the same
citations."""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from linkcheck.extract import markdown
from linkcheck.extract.blockrules import without_idle_rules
from linkcheck.extract.markdown import _MD, extract_markdown

# Where a line's content starts (containers and indent), what it holds, how it ends.
_PREFIXES = st.sampled_from([
    "", " ", "   ", "    ", "\t", "> ", ">", "> > ", ">\t", " >  ", "- ", "* ", "+ ", "1. ", "2) ", "  ",
    "[^1]: ", "[^n]:", "- > ", "> - ", "1. > ",
])
_BODIES = st.sampled_from([
    "---", "===", "- - -", "***", "___", "--", "=", "-", "= =", "---  ", "===\t", "-=", "```", "~~~", "```py",
    "<div>", "<!-- c -->", "</p>", "# h", "#x", "## [h](https://h.org/1)", "text", "[a](https://a.org/1)",
    "see https://b.org/2 here", "[^1]", "^[n https://n.org/3]", "[r]", "[r]: https://r.org/4",
    "<https://c.org/5>", "1. x", "2. x", "1)", "- x", "*", "", "a > b", "x = y", "x - y", "`code`",
    '<a href="https://h.org/6">h</a>',
])
_BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])
_LINES = st.lists(st.tuples(_PREFIXES, _BODIES, _BREAKS), min_size=1, max_size=12)


def _document(lines: list[tuple[str, str, str]]) -> str:
    return "".join(prefix + body + end for prefix, body, end in lines)


def _tokens(md: MarkdownIt, text: str) -> list[MutableMapping[str, Any]]:
    return [token.as_dict() for token in md.parse(text, {})]


@settings(max_examples=600, deadline=None)
@given(_LINES)
@example([("", "a", "\n"), ("> ", "---", "\n")])  # an underline in a quote, after a lazy line
@example([("> ", "a", "\n"), (">\t", "===", "\n")])
@example([("", "a", "\r"), ("", "---", "\r")])  # lines broken by `\r` alone
@example([("- ", "a", "\n"), ("  ", "===", "\n")])
@example([("[^1]: ", "a", "\n"), ("    ", "---", "\n"), ("", "[^1]", "\n")])
@example([("", "a", "\n"), ("", "___", "\n")])
def test_a_document_parses_to_markdown_its_own_tokens_without_its_idle_rules(lines: list[tuple[str, str, str]]) -> None:
    text = _document(lines)
    assert _tokens(without_idle_rules(_MD, text), text) == _tokens(_MD, text)


@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_the_same_citations_come_out_with_every_block_rule(lines: list[tuple[str, str, str]]) -> None:
    text = _document(lines)
    quick = extract_markdown(text, "d.md")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(markdown, "without_idle_rules", lambda md, _: md)
        assert extract_markdown(text, "d.md") == quick


def _idle(text: str) -> set[str]:
    active = without_idle_rules(_MD, text).block.ruler.get_active_rules()
    return set(_MD.block.ruler.get_active_rules()) - set(active)


def test_a_list_of_links_one_per_line_is_parsed_without_the_rules_it_cannot_fire() -> None:
    links = "".join(f"[source {i}](http://127.0.1.{i % 100 + 1}:8080/doc/{i})\n" for i in range(50))
    assert _idle(links) == {"lheading", "fence", "blockquote", "hr", "heading", "html_block", "footnote_def"}
    assert _idle("# Title\n\n" + links) == {"lheading", "fence", "blockquote", "hr", "html_block", "footnote_def"}
    assert _idle("Title\n=====\n\n> + a\n" + links) == {"fence", "hr", "heading", "html_block", "footnote_def"}
    assert _idle("> a\n> ---\n") == {"fence", "heading", "html_block", "footnote_def"}
    assert _idle("a - b = c\n") == {"lheading", "fence", "blockquote", "heading", "html_block", "footnote_def"}
