"""What a changed source said when it was cited, beside what it says now: the sentence holding the
cited figure or quote, then and now, and where the earlier text can still be seen."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .figures import Figure, find_figures, normalised
from .sentences import sentence_around, sentences

if TYPE_CHECKING:
    from .model import Snapshot

__all__ = ["ThenAndNow", "closest_sentence", "for_figure", "for_quote"]

# How much of a sentence is shown: a "sentence" of a page with no full stops can be the whole page.
_SHOWN = 300
# How far around a figure its sentence is looked for, and how many sentences a page is searched
# for the closest one: each comparison costs the same, however long the page.
_REACH = 600
_MOST_SENTENCES = 5000
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class ThenAndNow:
    """`then`: the sentence as cited (from the earlier capture, or the register's quote); `now`: the
    sentence standing in its place today (None: nothing like it is left). `then_time` is when the
    earlier text was captured, `memento_url` the web archive's copy it came from, `snapshot` our own."""

    then: str
    now: str | None
    then_time: str | None = None
    memento_url: str | None = None
    snapshot: Snapshot | None = None

    def to_json(self) -> dict[str, Any]:
        return {"then": self.then, "now": self.now, "then_time": self.then_time, "memento_url": self.memento_url,
                "snapshot": self.snapshot.to_json() if self.snapshot is not None else None}

    @classmethod
    def from_json(cls, data: dict[str, Any], snapshot: Snapshot | None) -> ThenAndNow:
        return cls(data["then"], data.get("now"), data.get("then_time"), data.get("memento_url"), snapshot)

    @property
    def when_cited(self) -> str:
        """ "when cited (archived 2020-10-12)", "when cited (our snapshot of 2026-11-30)" """
        if not self.then_time:
            return "when cited"
        return f"when cited ({'archived' if self.memento_url else 'our snapshot of'} {self.then_time[:10]})"

    def seen(self, then_time: str | None, snapshot: Snapshot | None,
             memento_url: str | None = None) -> ThenAndNow:
        """The same sentences, with where the earlier one was captured."""
        return replace(self, then_time=then_time, snapshot=snapshot, memento_url=memento_url)


def _clip(sentence: str, start: int, end: int) -> str:
    """At most `_SHOWN` characters of a sentence, centred on [start, end)."""
    sentence = " ".join(sentence.split()) if len(sentence) <= _SHOWN else sentence
    if len(sentence) <= _SHOWN:
        return sentence
    middle = (start + end) // 2
    begin = max(0, min(middle - _SHOWN // 2, len(sentence) - _SHOWN))
    piece = " ".join(sentence[begin:begin + _SHOWN].split())
    return ("…" if begin else "") + piece + ("…" if begin + _SHOWN < len(sentence) else "")


def _sentence_of(text: str, figure: Figure) -> str:
    """The sentence of (normalised) `text` holding `figure`, looked for near it only."""
    cut = max(0, figure.start - _REACH)
    window = text[cut:figure.end + _REACH]
    sentence = sentence_around(window, figure.start - cut, figure.end - cut, lines=True)
    at = sentence.find(figure.text)
    return _clip(sentence, max(at, 0), max(at, 0) + len(figure.text))


def closest_sentence(target: str, text: str) -> str | None:
    """The sentence of `text` sharing most words with `target` (None when none shares any)."""
    wanted = {w.casefold() for w in _WORD.findall(target)}
    best: tuple[float, str] | None = None
    for i, sentence in enumerate(sentences(text)):
        if i >= _MOST_SENTENCES:
            break
        words = {w.casefold() for w in _WORD.findall(sentence[:4 * _SHOWN])}
        shared = len(wanted & words)
        if shared:
            score = shared / len(wanted | words)
            if best is None or score > best[0]:
                best = (score, sentence)
    return _clip(best[1], 0, 0) if best else None


def for_figure(claim: Figure, before: str, after: str, now: Figure | None) -> ThenAndNow | None:
    """The sentence of the earlier text stating `claim`, and the one of today's stating `now` (the
    number standing in its place), or else today's sentence most like the earlier one."""
    before, after = normalised(before), normalised(after)
    place = next((f for f in find_figures(before) if f.key == claim.key), None)
    if place is None:
        return None
    then = _sentence_of(before, place)
    if now is not None and now.end:  # found in `after` (normalised the same way): its place is known
        return ThenAndNow(then, _sentence_of(after, now))
    return ThenAndNow(then, closest_sentence(then, after))


def for_quote(quote: str, text: str) -> ThenAndNow:
    """The quote as cited, and the sentence of today's text most like it."""
    return ThenAndNow(_clip(quote, 0, 0), closest_sentence(quote, text))
