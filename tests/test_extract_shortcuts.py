"""Extraction's shortcuts give what the long way gives: with each switched off, the same citations come out."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it.rules_core.linkify import linkify as core_linkify

from linkcheck import extract
from linkcheck.doi import _doi_strings_by_line, find_doi_strings
from linkcheck.extract import _with_doi_strings, context
from linkcheck.extract.context import _LINK, _REF_LINK, _Stretch, annotate, plain
from linkcheck.extract.markdown import _MD, _linkify_where_cited, extract_markdown
from linkcheck.figures import may_state_figures
from linkcheck.model import Citation

# What `plain` takes out as emphasis marks, as one pattern (`plain` reads each run of them once).
_MARK = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")


def _plain_long(raw: str) -> str:
    """What `plain` is, read without its shortcuts."""
    text = _REF_LINK.sub(r"\1", _LINK.sub(r"\1", raw))
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return " ".join(_MARK.sub("", text).split())


@contextmanager
def _long_way() -> Iterator[None]:
    """Lines made plain in full, every anchor's figure signals worked out afresh, markdown-it's own
    linkify rule on every block, and every line read for a DOI."""
    stretch_signals = _Stretch.may_state_figures
    context.plain = _plain_long
    _Stretch.may_state_figures = lambda self, text: may_state_figures(text)  # type: ignore[method-assign]
    extract.find_doi_strings = _doi_strings_by_line  # type: ignore[attr-defined]
    _MD.core.ruler.at("linkify", core_linkify)
    try:
        yield
    finally:
        context.plain = plain
        _Stretch.may_state_figures = stretch_signals  # type: ignore[method-assign]
        extract.find_doi_strings = find_doi_strings  # type: ignore[attr-defined]
        _MD.core.ruler.at("linkify", _linkify_where_cited)


def _extract(text: str) -> list[Citation]:
    """What `extract_file` gives for a Markdown file of `text`."""
    return annotate(_with_doi_strings(extract_markdown(text, "d.md"), text, "d.md"), text)


_MARKDOWN = st.sampled_from([
    "[source 1](https://e.org/1)", "[a 5% rise](https://e.org/p)", "source 1", "[40 million](https://e.org/m)",
    "[r]", "[x][r]", "[r]: https://r.org/ \"T\"\n", "[^1]", "[^1]: see https://f.org/n\n", "^[note www.n.org]",
    "<https://auto.org/x>", "<me@x.org>", "https://bare.org/x.", "www.w.org/p)", "mailto:m@x.org", "MAILTO:m@x.org",
    "example.org", "a@b.org", "ww.x.org", "&#119;ww.x.org", "\\www.x.org", "http\\://x.org", "**www**.x.org",
    "`code https://c.org`", "*em [l](https://em.org)*", "_u_", "| a | [t](https://t.org) |\n|---|---|\n",
    '<a href="https://h.org">h example.org</a>', "<a href=\"https://u.org\">", "<b>x</b>", '<img src="i.png">',
    "![alt](img.png)", "[![c](c.png)](https://lnk.org)", "doi:10.1234/abc.", "DOI: 10.5555/x)", "see doi:10.1/x",
    "77%", "one in four", "£1.2bn", "accessed 1 May 2020", "Stra\u00dfe", "caf\u00e9", "3,000", "in", "out of", "7",
    "&amp;", "&lt;a&gt;", "[", "]", "(", ")", "\n", "\n\n", "- ", "1. ", "> ", "# ", "    ", "```\nhttps://f.org\n```\n",
    " ", "text", "One. Two", "\r\n", "word " * 40,
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_MARKDOWN, min_size=1, max_size=40))
@example(["mailto:m@x.org"])  # only markdown-it's linkify finds a bare `mailto:`
@example(["[40 million](https://e.org/m)", "\n", "40 million"])  # a line that is a link's text, stating a figure
@example(["DOI: 10.5555/x)"])
def test_the_shortcuts_extract_what_the_long_way_extracts(pieces: list[str]) -> None:
    text = "".join(pieces)
    quick = _extract(text)
    with _long_way():
        assert _extract(text) == quick


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_MARKDOWN, st.text(max_size=6)), max_size=12))
def test_a_line_is_made_plain_as_in_full(pieces: list[str]) -> None:
    raw = "".join(pieces)
    assert plain(raw) == _plain_long(raw)


_LINES = st.sampled_from(["[source 1](https://e.org/1)", "source 1", "5%", "one", "in", "x", "", "- y", "caf\u00e9 3,000",
                         "one in four", "[7 in 10](https://e.org/7)"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=30), st.data())
def test_a_stretch_knows_what_a_text_may_state_as_a_text_read_alone(lines: list[str], data: st.DataObject) -> None:
    """The figure signals a stretch keeps for its plain lines are each line's own, whichever line an
    anchor text repeats."""
    index = data.draw(st.integers(0, len(lines) - 1))
    stretch = _Stretch(lines, [index])
    stretch.quiet(index)  # the stretch around the line is made
    for text in [plain(line) for line in lines] + [data.draw(_LINES), data.draw(st.text(max_size=8))]:
        assert stretch.may_state_figures(text) == may_state_figures(text), text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_MARKDOWN, st.sampled_from(["doi:", "DOI:", "10.1234/", ":", "/", "a"])), max_size=20))
def test_a_text_without_a_doi_is_not_read_line_by_line_for_one(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert find_doi_strings(text) == _doi_strings_by_line(text)


_STRETCH_LINES = st.sampled_from([
    "[source 1](https://e.org/1)", "source 1", "[a 5% rise](https://e.org/p)", "in", "one", "out of", "7",
    "accessed 1 May 2020", "[x](https://e.org/x) ACCESSED 2 June 2021", "caf\u00e9", "3,000", "a million", "",
    "- item [i](https://e.org/i)", "> quote", "# Head", "`in` *one* _two_", "percent", "word " * 40,
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_STRETCH_LINES, min_size=1, max_size=40))
@example(["source 1", "accessed 1 May 2020", "[source 2](https://e.org/2)"])
@example(["[source 1](https://e.org/1)", "caf\u00e9", "one in"])
def test_a_stretch_that_states_nothing_reads_as_one_read_line_by_line(lines: list[str]) -> None:
    """A stretch whose lines together hold no figure mark, ratio word, "accessed" or non-ASCII is
    known quiet without reading each line's signals: every paragraph, every line's text and every
    citation reads as when each line is read."""
    text = "\n".join(lines)
    cited = list(range(len(lines)))
    quick = _Stretch(lines, cited)
    quick_found = [(quick.quiet(i), quick.paragraph(i)) for i in cited]
    quick_states = [quick.may_state_figures(plain(line)) for line in lines]
    quick_annotated = _extract(text)
    states_nothing = context._states_nothing
    context._states_nothing = lambda joined: False
    try:
        slow = _Stretch(lines, cited)
        assert [(slow.quiet(i), slow.paragraph(i)) for i in cited] == quick_found
        assert [slow.may_state_figures(plain(line)) for line in lines] == quick_states
        assert _extract(text) == quick_annotated
    finally:
        context._states_nothing = states_nothing


def test_a_link_text_is_collapsed_on_every_space_a_pattern_calls_one() -> None:
    """Link texts are collapsed by splitting on spaces: every character `\\s` matches, and only those."""
    spaces = [chr(c) for c in range(0x3001) if re.fullmatch(r"\s", chr(c))]
    text = "a" + "".join(spaces) + "b\u200bc"  # a zero-width space is no space
    found = extract_markdown(f"[{text}](https://e.org/s)", "d.md")
    assert [c.text for c in found] == [re.sub(r"\s+", " ", text).strip()] == ["a b\u200bc"]
