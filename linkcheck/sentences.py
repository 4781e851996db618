"""Sentences of plain text: where one begins and ends, for the words around a figure or a quote."""
from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["sentence_around", "sentences"]

# A sentence ends at . ! or ? followed by space and a capital, a quote or a bracket; "3.5" and
# "U.K. government" stay whole.
_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9£$€])")
# In a page's text, a line is a block of its own (a heading, a paragraph, a cell): it ends one too.
# A match ends where its run of spaces ends, so a line break's is the whole run, tried at its
# start only: tried from each space, a run of spaces without a break took time quadratic in it.
_END_OR_LINE = re.compile(_END.pattern + r"|(?<!\s)\s*\n\s*")


def sentence_around(text: str, start: int, end: int, *, lines: bool = False) -> str:
    """The sentence of `text` holding the span [start, end); with `lines`, a line break ends one too."""
    begin = 0
    for match in (_END_OR_LINE if lines else _END).finditer(text):
        if match.end() <= start:
            begin = match.end()
        elif match.start() >= end:
            return text[begin:match.start()].strip()
    return text[begin:].strip()


def sentences(text: str) -> Iterator[str]:
    """Every sentence of a page's text, in order, stripped; blank ones left out."""
    begin = 0
    for match in _END_OR_LINE.finditer(text):
        piece = text[begin:match.start()].strip()
        if piece:
            yield piece
        begin = match.end()
    last = text[begin:].strip()
    if last:
        yield last
