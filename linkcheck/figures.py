"""The figures a citation states ("40 million", "77%", "£1.2bn", "one in four"): found in text, compared as amounts."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Figure", "claims_of", "figure_signals", "find_figures", "may_state_figures", "normalised", "present",
           "same_amount", "signals_state_figures", "stand_in"]

_SCALES = {
    "thousand": 10**3, "k": 10**3,
    "million": 10**6, "millions": 10**6, "m": 10**6, "mn": 10**6, "mln": 10**6,
    "billion": 10**9, "billions": 10**9, "bn": 10**9, "b": 10**9,
    "trillion": 10**12, "tn": 10**12, "trn": 10**12,
}
_CURRENCIES = {"£": "GBP", "$": "USD", "us$": "USD", "€": "EUR", "gbp": "GBP", "usd": "USD", "eur": "EUR"}
_WORDS = {
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
_DIVISORS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
             "twenty": 20, "hundred": 100, "thousand": 1000}
_FRACTIONS = {"half": Decimal(1) / 2, "halves": Decimal(1) / 2, "third": Decimal(1) / 3, "thirds": Decimal(1) / 3,
              "quarter": Decimal(1) / 4, "quarters": Decimal(1) / 4}

_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen" \
               r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"thousand|millions?|billions?|trillion|mn|mln|bn|tn|trn|[kmb]"
_PERCENT = r"%|\s?per\s?cent\b|\s?percent\b"
_CURRENCY = r"US\$|[£$€]|(?:GBP|USD|EUR)\s?"
_PATTERN = re.compile(
    rf"""(?<![\w.,£$€-])
    (?:
      (?P<ratio>(?P<num>{_NUMBER_WORD}|\d+)\s+(?:in|out\s+of)\s+(?:every\s+)?(?P<den>\d+|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|thousand)\b)
    | (?P<fraction>(?P<fnum>one|a|two|three)[\s-]+(?P<fword>half|third|thirds|quarter|quarters)\b
        | (?<!\w)(?P<half>half)(?=\s+(?:of|the|a|all|their|its|our)\b))
    | (?P<currency>{_CURRENCY})?
      (?P<amount>{_DIGITS}|(?P<word>{_NUMBER_WORD}|a\s+hundred|hundreds|a\s+thousand)(?=\s+(?:{_SCALE})\b|\s*(?:{_PERCENT})))
      (?:\s?(?P<scale>{_SCALE})\b)?
      (?P<percent>{_PERCENT})?
    )
    (?![\w£$€]|[.,]\d)""",
    re.IGNORECASE | re.VERBOSE,
)
_YEAR = re.compile(r"(?:1[89]|20|21)\d\d")
_MONTH = re.compile(r"\s*(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
_MONTH_BEFORE = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s*$", re.IGNORECASE)
# Telephone numbers and other digit groups run together: "0203 405 9080", "+44 20 7946 0958".
_PHONE = re.compile(r"\+?\(?\d{2,5}\)?(?:[ -]\(?\d{2,5}\)?){2,}")
# How far before a number its label or month is looked for: "paragraph" and "September." fit.
_LOOKBEHIND = 24
_SPACES = str.maketrans({c: " " for c in "\u00a0\u2007\u2009\u202f"})


# Numbers that label rather than count: "Figure 2b", "Table 3", "Section 4".
_LABEL = re.compile(r"\b(?:fig(?:ure)?|table|tab|section|sec|chapter|ch|page|p|pp|step|annex|appendix|part|item|"
                    r"no|number|article|art|rule|schedule|clause|paragraph|para|box|chart|version|v)\.?\s*$",
                    re.IGNORECASE)


# What only a marked amount has (a scale word, %, a currency, a thousands separator, "in four",
# a fraction): text with none of it states no claim, and is not parsed number by number.
_MARK_WORDS = frozenset(set(_SCALES) | {"per", "cent", "percent", "gbp", "usd", "eur", "us", "hundred", "hundreds",
                                        "half", "halves", "third", "thirds", "quarter", "quarters"})
_RATIO_WORDS = frozenset({"in", "out"})
_COUNT_WORDS = frozenset(set(_WORDS) | {"a", "an"})
_LETTERS = re.compile(r"[^\W\d_]+")
_THOUSANDS = re.compile(r"\d,\d{3}")
_SIGN = re.compile("[%£$€]")
_ASCII_DIGIT = re.compile("[0-9]")


def may_state_figures(text: str) -> bool:
    """False when `text` cannot hold a marked amount: a cheap test before `find_figures`, which
    parses every number."""
    return signals_state_figures(figure_signals(text))


def signals_state_figures(signals: tuple[bool, bool, bool]) -> bool:
    """Whether `figure_signals` found what an amount needs: a mark, or a ratio word and a count."""
    marked, ratio, count = signals
    return marked or (ratio and count)


def figure_signals(text: str) -> tuple[bool, bool, bool]:
    """What `may_state_figures` looks for, all of it: (a mark only an amount has, a ratio word, a
    count word or a digit). `text` may state a figure when it has a mark, or a ratio word and a
    count. Texts of ASCII alone joined by spaces have the signals of each, or-ed."""
    if text.isascii():  # most text: already NFKC, and a digit is one of 0-9
        folded = text.lower()
        digit = _ASCII_DIGIT.search(text) is not None
    else:
        text = unicodedata.normalize("NFKC", text)
        folded = text.casefold()
        digit = any(c.isdigit() for c in text)
    words = set(_LETTERS.findall(folded))
    # "percent" may be glued to its number word ("onepercent"), which find_figures reads as 1%.
    marked = (_SIGN.search(text) is not None or not words.isdisjoint(_MARK_WORDS) or "percent" in folded
              or _THOUSANDS.search(text) is not None)
    return marked, not words.isdisjoint(_RATIO_WORDS), digit or not words.isdisjoint(_COUNT_WORDS)


@dataclass(frozen=True, slots=True)
class Figure:
    """An amount as written (`text`) and as a value: `unit` is "%" for shares (77%, one in
    four), a currency code (GBP, USD, EUR), or None for a count."""

    text: str
    value: Decimal
    unit: str | None = None
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    # Marked as an amount (a scale word, %, a currency, a thousands separator, "one in four"),
    # not a bare number such as "3" or "7089", which as often names a page or a standard.
    marked: bool = field(default=True, compare=False)

    @property
    def key(self) -> tuple[Decimal, str | None]:
        """What equal amounts share, however written: 40m, 40 million and 40,000,000 alike."""
        return self.value.normalize(), self.unit

    def to_json(self) -> dict[str, Any]:
        value = self.value.normalize()
        number: int | float = int(value) if value == value.to_integral_value() else float(value)
        return {"text": self.text, "value": number, "unit": self.unit}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figure:
        return cls(str(data["text"]), Decimal(str(data["value"])), data.get("unit"))


def _word_number(word: str) -> Decimal:
    word = " ".join(word.lower().split())
    if word in ("a hundred", "hundreds"):
        return Decimal(100)
    if word == "a thousand":
        return Decimal(1000)
    return Decimal(_WORDS[word])


def _figure(match: re.Match[str], text: str) -> Figure | None:
    written = " ".join(match.group(0).split())
    if match.group("ratio"):
        num, den = match.group("num").lower(), match.group("den").lower()
        top = Decimal(num) if num.isdigit() else Decimal(_WORDS[num])
        bottom = Decimal(den) if den.isdigit() else Decimal(_DIVISORS[den])
        if not bottom or top > bottom:
            return None
        return Figure(written, (100 * top / bottom).quantize(Decimal("0.01")), "%")
    if match.group("fraction"):
        if match.group("half"):
            share = Decimal(1) / 2
        else:
            count = Decimal(_WORDS.get(match.group("fnum").lower(), 1))
            share = count * _FRACTIONS[match.group("fword").lower()]
        return Figure(written, (100 * share).quantize(Decimal("0.01")), "%")
    amount, scale, percent = match.group("amount"), match.group("scale"), match.group("percent")
    currency = match.group("currency")
    try:
        value = _word_number(amount) if match.group("word") else Decimal(amount.replace(",", ""))
    except InvalidOperation:
        return None
    # Only the words just before matter ("Figure 2b", "October 12"); a bounded tail keeps a
    # long sentence of many numbers linear.
    before = text[max(0, match.start() - _LOOKBEHIND):match.start()]
    if scale and len(scale) == 1 and not currency and (value < 10 or _LABEL.search(before)):
        return None  # "Figure 2b", "step 1b": a label; "40m" is an amount
    if scale:
        value *= _SCALES[scale.lower()]
    bare = not (scale or percent or currency or "," in amount)
    if bare:
        if _YEAR.fullmatch(amount) or (amount.startswith("0") and amount[1:2].isdigit()):
            return None  # "in 2020", "by 2030"; "007"
        if _MONTH.match(text[match.end():]) or _MONTH_BEFORE.search(before):
            return None  # "12 October", "October 12"
    unit = "%" if percent else _CURRENCIES[currency.strip().lower()] if currency else None
    return Figure(written, value, unit, match.start(), match.end(), marked=not bare)


def normalised(text: str) -> str:
    """`text` as figures are found in it: their positions index this string."""
    return unicodedata.normalize("NFKC", text.translate(_SPACES))


def find_figures(text: str) -> list[Figure]:
    """Every figure stated in `text`, in order: counts, shares, sums of money. Years and days of
    the month are not figures; nor are numbers inside names (COVID-19, G7)."""
    text = normalised(text)
    text = _PHONE.sub(lambda m: "#" * len(m.group(0)), text)  # same length: positions stay
    found = []
    for match in _PATTERN.finditer(text):
        figure = _figure(match, text)
        if figure is not None:
            found.append(figure)
    return found


def same_amount(a: str, b: str) -> bool:
    """Do two writings state the same single amount ("40m" and "40,000,000")?"""
    fa, fb = find_figures(a), find_figures(b)
    return len(fa) == 1 and len(fb) == 1 and fa[0].key == fb[0].key


def present(claim: Figure, figures: Iterable[Figure]) -> bool:
    """Whether a text's figures include the claim's amount, however written."""
    return any(f.key == claim.key for f in figures)


_WORD = re.compile(r"[^\W\d_]{3,}")


def _context(text: str, start: int, end: int, reach: int = 40) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text[max(0, start - reach):start] + " " + text[end:end + reach])}


def stand_in(claim: Figure, before: str, after: str) -> Figure | None:
    """The figure that now stands where the claim stood: in `after`, of the claim's unit, not
    in `before`, sharing the most words around it with the claim's place in `before`."""
    old = find_figures(before)
    places = [f for f in old if f.key == claim.key]
    if not places:
        return None
    around: set[str] = set()
    for place in places:
        around |= _context(before, place.start, place.end)
    known = {f.key for f in old}
    best: tuple[int, Figure] | None = None
    for figure in find_figures(after):
        if figure.unit != claim.unit or figure.key in known:
            continue
        shared = len(around & _context(after, figure.start, figure.end))
        if shared and (best is None or shared > best[0]):
            best = (shared, figure)
    return best[1] if best else None


def claims_of(anchor: str, sentence: str, others: Sequence[str] = ()) -> tuple[Figure, ...]:
    """The figures a citation states: those of its anchor text, else those of its sentence
    outside the other citations' anchor texts. Only marked amounts: a bare "3" or "7089" is as
    likely a page, a section or a standard's number."""
    own = [f for f in find_figures(anchor) if f.marked] if may_state_figures(anchor) else []
    if own:
        return tuple(_positionless(own))
    if not may_state_figures(sentence):
        return ()
    for other in others:
        if other:
            sentence = sentence.replace(other, " ")
    return tuple(_positionless(f for f in find_figures(sentence) if f.marked))


def _positionless(figures: Iterable[Figure]) -> list[Figure]:
    seen: dict[tuple[Decimal, str | None], Figure] = {}
    for f in figures:
        seen.setdefault(f.key, Figure(f.text, f.value, f.unit))
    return list(seen.values())
