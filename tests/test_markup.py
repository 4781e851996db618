"""Tags taken out of a stranger's text: the same text as the plain substitution, in linear time."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from linkcheck.markup import without_tags
from tests.growth import growth_ratio

_PLAIN = re.compile(r"<[^>]*>")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "<b>", "</b>", "a", " ", "<a href='x'>", "\n", "é", "<<", ">>"]),
                max_size=24).map("".join), st.sampled_from(["", " "]))
def test_the_text_is_what_the_plain_substitution_gives(text: str, between: str) -> None:
    assert without_tags(text, between) == _PLAIN.sub(between, text)


def test_a_text_of_unclosed_tags_takes_linear_time() -> None:
    assert growth_ratio(without_tags, lambda n: "x <b>bold</b> " + "<" * (4 * n)) < 8
