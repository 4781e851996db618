"""Text a stranger writes is read in time linear in it: each scan measured by how its CPU time grows
(about 4 on four times the input; 16 when quadratic), and each rewritten pattern compared with the
one it replaced on the input where both must agree."""
from __future__ import annotations

import html
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck.content import quote_present
from linkcheck.dates import ACCESSED, find_accessed
from linkcheck.doi import find_doi_strings
from linkcheck.extract.context import plain
from linkcheck.extract.pdf import _join_broken_urls
from linkcheck.fix import Edit, fix_markdown
from linkcheck.markup import without_tags
from linkcheck.sentences import sentences
from linkcheck.wordbounds import contains as _contains
from tests.growth import growth_ratio

# --- sentences: a run of spaces without a line break -----------------------------------------

_OLD_END = r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9£$€])"
_OLD_END_OR_LINE = re.compile(_OLD_END + r"|\s*\n\s*")


def test_a_run_of_spaces_without_a_line_break_is_read_in_linear_time() -> None:
    """16,000 spaces took 0.43 s (32,000 of space and tab 1.9 s) when a line break was looked for
    from each one; 1 ms now."""
    assert growth_ratio(lambda text: list(sentences(text)), lambda n: "A b." + " " * n + "c") < 8


def _old_sentences(text: str) -> list[str]:
    begin, out = 0, []
    for match in _OLD_END_OR_LINE.finditer(text):
        out.append(text[begin:match.start()].strip())
        begin = match.end()
    out.append(text[begin:].strip())
    return [piece for piece in out if piece]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n\r\x0b\u00a0.!?\"')]([Aa1£", max_size=60))
@example("a \n b")
@example("x.  \n \"Y")
def test_sentences_end_where_they_ended_before(text: str) -> None:
    assert list(sentences(text)) == _old_sentences(text)


# --- a line made plain: brackets and emphasis marks ------------------------------------------

_OLD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_OLD_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_OLD_MARK = re.compile(r"(?<!\w)[*_`]+|[*_`]+(?!\w)")


def test_a_line_of_open_brackets_is_made_plain_in_linear_time() -> None:
    """A line of 16,000 `[` took 2.7 s when each read to the line's end for a `]`; 1 ms now."""
    assert growth_ratio(plain, lambda n: "[" * n) < 8


def test_a_line_of_unclosed_links_is_made_plain_in_linear_time() -> None:
    """`[a](x` 6,400 times took 6.2 s when each destination was read to the line's end; 7 ms now."""
    assert growth_ratio(plain, lambda n: "[a](x" * (n // 5), n=8000) < 8


def test_a_run_of_underscores_inside_a_word_is_made_plain_in_linear_time() -> None:
    """`a`, 16,000 `_`, `b` took 5 s when the marks were searched from each one; 0.1 ms now."""
    assert growth_ratio(plain, lambda n: "a" + "_" * n + "b") < 8


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1 _*`-.\u00e9", max_size=40))
@example("a__b")
@example("a_*_b")
@example("**bold** and __b__")
@example("a_*")
def test_emphasis_marks_go_as_the_pattern_took_them(text: str) -> None:
    """The marks are read a run at a time now, on any text to the same result as the pattern."""
    assert plain(text) == " ".join(_OLD_MARK.sub("", text).split())


_WORDS = st.sampled_from(["see", "the", "report", "40%", "A.", "U.K.", "(note)", "]", ")", "x_y", "*em*", "_u_",
                          "`code`", "**b**", "<b>t</b>", "&amp;", "!"])
_LINKS = st.sampled_from(["[text](https://e.org/a)", "[two words](https://e.org/b_(c))", "![img](i.png)",
                          '[t](https://e.org/ "a title")', "[ref][r]", "[ref][]", "[only]", "[a *b*](u)",
                          "[x](<https://e.org/>)", "[x]( https://e.org/ )"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_WORDS, _LINKS), max_size=12), st.sampled_from([" ", "", "  "]))
def test_links_are_made_plain_as_the_patterns_made_them(pieces: list[str], joiner: str) -> None:
    """Link text without a `[` and destinations without `](` (all but the lines of open brackets)
    are read as before."""
    line = joiner.join(pieces)
    assert plain(line) == _old_plain(line)


def _old_plain(raw: str) -> str:
    text = _OLD_LINK.sub(lambda m: m.group(1), raw) if "[" in raw else raw
    if "[" in text:
        text = _OLD_REF_LINK.sub(lambda m: m.group(1), text)
    text = html.unescape(without_tags(text, " "))
    if "*" in text or "_" in text or "`" in text:
        text = _OLD_MARK.sub("", text)
    return " ".join(text.split())


# --- DOIs ----------------------------------------------------------------------------

def test_a_doi_of_many_closing_brackets_is_trimmed_in_linear_time() -> None:
    """`doi:10.1234/x` and 32,000 `)` took 0.57 s when each was counted and copied again; 14 ms now."""
    assert growth_ratio(find_doi_strings, lambda n: "doi:10.1234/x" + ")" * n, n=8000) < 8


@given(st.text(alphabet="x().,;]>[<", max_size=12))
def test_a_doi_is_trimmed_as_it_was(tail: str) -> None:
    found = find_doi_strings(f"doi:10.1234/a{tail} next")
    doi = "10.1234/a" + tail
    while doi and (doi[-1] in ".,;:!?'\"*_~" or (doi[-1] in ")]>" and doi.count(doi[-1])
                                                   > doi.count({")": "(", "]": "[", ">": "<"}[doi[-1]]))):
        doi = doi[:-1]
    assert [d for _, _, d in found] == [doi]


# --- linkcheck fix on Markdown -------------------------------------------------------------------

def _one_edit(text: str) -> object:
    return fix_markdown(text, [Edit("d", 1, "https://e.org/", "https://n.org/", "x", "moved")])


def test_a_line_of_nested_brackets_is_fixed_in_linear_time() -> None:
    """8,000 nested `[` (and a reference definition) took 534 s when each label was parsed; a label
    longer than any link the extractor reads is not, and the same line takes half a second."""
    assert growth_ratio(_one_edit, lambda n: "[" * (n // 2) + "x" + "]" * (n // 2) + "\n\n[r]: https://e.org/\n",
                        n=1000) < 8


def test_many_links_on_one_line_are_each_fixed_once() -> None:
    """666 links on one line, each edited, took 6.5 s when every edit read all the line's links."""
    def make(n: int) -> tuple[str, list[Edit]]:
        links = range(n // 24)
        return ("".join(f"[x](https://e.org/{i}) " for i in links),
                [Edit("d", 1, f"https://e.org/{i}", f"https://n.org/{i}", "x", "moved") for i in links])

    assert growth_ratio(lambda made: fix_markdown(*made), make, n=2000) < 8
    text, edits = make(2400)
    assert fix_markdown(text, edits).text == text.replace("https://e.org/", "https://n.org/")


# --- a PDF's page text ---------------------------------------------------------------------------

def test_a_url_broken_over_thousands_of_lines_is_joined_in_linear_time() -> None:
    """A URL then 5,333 lines of `a/` took 0.68 s, the joined line read again at every join; a line
    is now joined while it is at most 2,048 characters (40 ms)."""
    assert growth_ratio(_join_broken_urls, lambda n: "see http://e.org/\n" + "a/\n" * (n // 3)) < 8
    assert _join_broken_urls("see http://e.org/a/\nb/c and more\nNext") == "see http://e.org/a/b/c and more\nNext"


# --- access dates --------------------------------------------------------------------------------

_OLD_ACCESSED = re.compile(ACCESSED.pattern.replace(r"\s*+", r"\s*"), re.IGNORECASE)


def test_a_run_of_spaces_after_accessed_is_read_in_linear_time() -> None:
    """`accessed`, 4,000 spaces and no date took 3.4 s (16,000: 50 s) when the spaces were given
    back one at a time; 1 ms now. Lines are made plain (single spaces) before they are read for one, so this is the
    pattern's own guard."""
    assert growth_ratio(find_accessed, lambda n: "accessed" + " " * n + "x") < 8


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["accessed", " ", "  ", ":", "on", "12", "1st", "May", "Sept", "2020", "2020-10-12",
                                 ".", ",", "x", "\n", "October"]), max_size=14))
@example(["accessed", " ", "on", " ", "12", " ", "May", " ", "2020"])
@example(["accessed", ":", " ", "2020-10-12"])
def test_access_dates_are_found_as_before(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert [m.span() for m in ACCESSED.finditer(text)] == [m.span() for m in _OLD_ACCESSED.finditer(text)]


# --- quotes --------------------------------------------------------------------------------------

def _old_contains(needle: str, haystack: str) -> bool:
    start = r"(?<!\w)" if needle[0].isalnum() else ""
    end = r"(?!\w)" if needle[-1].isalnum() else ""
    return re.search(start + re.escape(needle) + end, haystack) is not None


def test_a_quote_of_one_syllable_repeated_is_looked_for_in_linear_time() -> None:
    """A quote of `ab ` 5,333 times and `c`, on a page of `ab ` 21,333 times, took 1.2 s when the
    quote was compared at every place of the page."""
    assert growth_ratio(lambda text: quote_present("ab " * (len(text) // 12) + "c", text),
                        lambda n: "ab " * (n // 3), n=16000) < 8


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab 1.-", min_size=1, max_size=6), st.text(alphabet="ab 1.-", max_size=300))
@example("a", "a" * 200 + " a")
@example("aa", "a" * 300)
def test_a_quote_is_found_where_the_pattern_found_it(needle: str, haystack: str) -> None:
    assert _contains(needle, haystack) == _old_contains(needle, haystack)
