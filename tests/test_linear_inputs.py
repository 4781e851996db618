"""Text a stranger writes is read in time linear in it: each scan measured by how its CPU time grows
(about 4 on four times the input; 16 when quadratic), and each rewritten pattern compared with the
one it replaced on the input where both must agree."""
from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck.sentences import sentences
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
