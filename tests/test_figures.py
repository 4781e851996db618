"""Figures: found in text as written, normalised so that equal amounts match however formatted."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from linkcheck.extract import extract_file
from linkcheck.extract.context import _SPAN
from linkcheck.figures import (
    Figure,
    claims_of,
    figure_signals,
    find_figures,
    may_state_figures,
    present,
    same_amount,
    stand_in,
)


@pytest.mark.parametrize(("text", "written", "value", "unit"), [
    ("40 million victims", "40 million", 40_000_000, None),
    ("77% of British businesses", "77%", 77, "%"),
    ("100,000 victims", "100,000", 100_000, None),
    ("a budget of £1.2bn a year", "£1.2bn", 1_200_000_000, "GBP"),
    ("one in four women", "one in four", 25, "%"),
    ("3.5 per cent of GDP", "3.5 per cent", 3.5, "%"),
    ("1.2 billion people", "1.2 billion", 1_200_000_000, None),
    ("a $3m fund", "$3m", 3_000_000, "USD"),
    ("half of all cases", "half", 50, "%"),
    ("two million children", "two million", 2_000_000, None),
    ("US$3 million", "US$3 million", 3_000_000, "USD"),
    ("1 in 4", "1 in 4", 25, "%"),
    ("a third of workers", "a third", 33.33, "%"),
    ("€40,000", "€40,000", 40_000, "EUR"),
])
def test_find_figures(text: str, written: str, value: float, unit: str | None) -> None:
    found = find_figures(text)
    assert [f.to_json() for f in found] == [{"text": written, "value": value, "unit": unit}]


@pytest.mark.parametrize("text", [
    "In early September 2020, IJM contributed", "looking towards 2030", "COVID-19 and the G7",
    "accessed 12 October 2020", "on March 3", "SDG8 targets", "no figures at all", "version 3.1.2-beta",
    "the second half", "https://example.org/2020/report-49", "Figure 2b", "step 1b", "call 0203 405 9080",
])
def test_not_figures(text: str) -> None:
    assert find_figures(text) == []


@pytest.mark.parametrize(("a", "b"), [
    ("40m", "40 million"), ("40 million", "40,000,000"), ("77%", "77 per cent"), ("77 percent", "77%"),
    ("£1.2bn", "£1,200,000,000"), ("£1.2bn", "£1.2 billion"), ("one in four", "25%"), ("half of them", "50% of them"),
    ("$3m", "$3,000,000"), ("100,000", "100 thousand"), ("100k", "100,000"), ("3.5 per cent", "3.50%"),
])
def test_equal_amounts_match(a: str, b: str) -> None:
    assert same_amount(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("40 million", "50 million"), ("40 million", "40%"), ("£1.2bn", "$1.2bn"), ("£1.2bn", "1.2bn"),
    ("49 million", "149 million"), ("4.9 million", "49 million"),
])
def test_different_amounts_do_not(a: str, b: str) -> None:
    assert not same_amount(a, b)


_SCALED = [(10**3, ("thousand", "k")), (10**6, ("million", "m", "mn")), (10**9, ("billion", "bn"))]


@given(st.integers(min_value=10, max_value=999), st.sampled_from(_SCALED), st.sampled_from(["", "£", "$", "€"]),
       st.sampled_from([" ", ""]))
def test_any_common_formatting_normalises_equal(units: int, scaled: tuple[int, tuple[str, ...]],
                                               currency: str, space: str) -> None:
    factor, words = scaled
    written = [f"{currency}{units} {w}" if len(w) > 2 else f"{currency}{units}{space}{w}" for w in words]
    written.append(f"{currency}{units * factor:,}")
    keys = {tuple(f.key for f in find_figures(w)) for w in written}
    assert len(keys) == 1, written
    (only,) = keys
    assert only and only[0][0] == Decimal(units * factor).normalize()


@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal("99.9"), places=1))
def test_shares_normalise_equal(share: Decimal) -> None:
    keys = {tuple(f.key for f in find_figures(w)) for w in (f"{share}%", f"{share} per cent", f"{share} percent")}
    assert len(keys) == 1 and next(iter(keys))[0] == (share.normalize(), "%")


def test_claims_come_from_the_anchor_else_the_sentence_outside_other_anchors() -> None:
    sentence = "It is estimated there are 100,000 victims in the UK, and 40 million victims around the world."
    assert [c.text for c in claims_of("100,000 victims", sentence, ["40 million victims"])] == ["100,000"]
    assert [c.text for c in claims_of("the NCA", "The NCA counts 3,000 cases and [2 in 5 cases](#) more.",
                                      ["2 in 5 cases"])] == ["3,000"]
    assert claims_of("IJM", "In early September 2020, IJM contributed to the Review.") == ()
    # A bare number names a page, a section or a standard as often as it counts anything.
    assert claims_of("RFC 7089", "See section 4.2 of RFC 7089 and page 3.") == ()


def test_a_claim_is_found_however_the_page_writes_it() -> None:
    claim = find_figures("40m victims")[0]
    assert present(claim, find_figures("There are 40,000,000 victims of modern slavery."))
    assert not present(claim, find_figures("There are 140 million victims."))


def test_stand_in_names_the_number_now_in_the_claims_place() -> None:
    claim = Figure("40 million", Decimal(40_000_000))
    before = "An estimated 40 million victims of modern slavery, 25% of them children. Founded in 1997."
    after = "An estimated 50 million victims of modern slavery, 25% of them children. Founded in 1997, with 3 offices."
    found = stand_in(claim, before, after)
    assert found is not None and found.text == "50 million"
    assert stand_in(claim, before, "A page about something else: 3 offices.") is None


_FIGURE_PIECES = st.sampled_from(["40", "3.5", "100,000", "1,2", "one", "a", "four", "forty", "in", "out of", "every",
                                  "million", "m", "bn", "k", "per cent", "percent", "%", "£", "$", "€", "US$", "GBP",
                                  "half", "a third", "quarters", "hundred", "thousand", "reference", "2020", "October",
                                  "Figure", " ", "\u00a0", "-", ",", ".", "(", ")", "１", "％"])


@given(st.lists(_FIGURE_PIECES, max_size=12).map("".join))
@example("onepercent")
def test_the_cheap_test_never_hides_a_claim(text: str) -> None:
    """`may_state_figures` is only a shortcut: text it rules out has no marked figure at all."""
    if any(f.marked for f in find_figures(text)):
        assert may_state_figures(text)


@given(st.lists(st.lists(_FIGURE_PIECES, max_size=6).map("".join), min_size=1, max_size=4))
@example(["one", "percent"])
def test_the_signals_say_what_the_cheap_test_says_of_text_and_of_its_lines_joined(lines: list[str]) -> None:
    """`figure_signals` is `may_state_figures` taken apart; lines of ASCII joined by spaces have the
    signals of each line, or-ed."""
    for text in lines:
        marked, ratio, count = figure_signals(text)
        assert may_state_figures(text) == (marked or (ratio and count))
    if all(text.isascii() for text in lines):
        joined = figure_signals(" ".join(lines))
        assert joined == tuple(any(signals) for signals in zip(*map(figure_signals, lines), strict=True))


def test_a_sentence_of_bare_numbers_states_no_claim() -> None:
    assert not may_state_figures("reference 12 reference 13 reference 14")
    assert claims_of("", "reference 12 reference 13 reference 14") == ()



@pytest.mark.parametrize("tail", ["10 millionaires", "300 thousandths"])
def test_a_sentence_cut_at_its_reach_never_cuts_a_word_into_a_figure(tail: str, tmp_path: Path) -> None:
    """A sentence is read at most `_SPAN` characters past its anchor; where that reach ends inside a
    word, the word is left out whole: "10 millionaires" cut after "million" would be a claim of ten
    million, and "300 thousandths" one of 300,000."""
    number, word = tail.split()
    scale = word.removesuffix("aires").removesuffix("ths")  # the figure the cut would leave
    anchored = len("See the survey")  # where the anchor ends in the line as plain text
    # Not ASCII, so the line is read word by word rather than passed over as holding no figure.
    filler = "é" + "x" * (_SPAN - 4 - len(number) - len(scale)) + " "
    line = f"See [the survey](https://survey.example.org/) {filler}{tail} were counted."
    plain = "See the survey " + filler + tail
    assert plain[:anchored + _SPAN].endswith(f" {number} {scale}")  # the reach ends mid-word
    doc = tmp_path / "doc.md"
    doc.write_text(line + "\n", encoding="utf-8")
    ((citation,),) = [extract_file(doc)]
    assert citation.claims == ()
