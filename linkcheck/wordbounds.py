"""A needle found in text only where it stands between word bounds, in time linear in both."""
from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["contains"]

_WORD_CHAR = re.compile(r"\w")
# How many places inside words a quote is found at, one `str.find` each, before the rest are found
# in one pass: a quote of one syllable repeated, on a page of it, stands at every other place.
_MOST_FINDS = 64


def contains(needle: str, haystack: str) -> bool:
    """Substring search that will not match inside a word or number ("49 million" in "149 million").
    Each place the needle stands is found by `str.find`, in linear time; a pattern with the word
    bounds compared the needle at every place in the text, in time its length times the text's.
    Past `_MOST_FINDS` places inside words, the rest are found in one pass of their own."""
    if not needle:
        return False
    start, end = needle[0].isalnum(), needle[-1].isalnum()

    def bounded(at: int) -> bool:
        stop = at + len(needle)
        return not ((start and at and _WORD_CHAR.match(haystack, at - 1))
                    or (end and _WORD_CHAR.match(haystack, stop)))

    at, finds = haystack.find(needle), 0
    while at >= 0 and finds < _MOST_FINDS:
        if bounded(at):
            return True
        at, finds = haystack.find(needle, at + 1), finds + 1
    return at >= 0 and any(bounded(place) for place in _places(needle, haystack, at))


def _places(needle: str, haystack: str, begin: int) -> Iterator[int]:
    """Every place from `begin` on where `needle` stands in `haystack`, overlapping ones too, in one
    pass (Knuth-Morris-Pratt)."""
    fallback = [0] * len(needle)
    k = 0
    for i in range(1, len(needle)):
        while k and needle[i] != needle[k]:
            k = fallback[k - 1]
        if needle[i] == needle[k]:
            k += 1
        fallback[i] = k
    k = 0
    for i in range(begin, len(haystack)):
        while k and haystack[i] != needle[k]:
            k = fallback[k - 1]
        if haystack[i] == needle[k]:
            k += 1
        if k == len(needle):
            yield i + 1 - k
            k = fallback[k - 1]
