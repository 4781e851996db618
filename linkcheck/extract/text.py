"""Find bare URLs in plain text; the one place that decides where a bare URL ends."""
from __future__ import annotations

import re

from linkcheck.doi import trimmed
from linkcheck.model import Citation

__all__ = ["URL_START", "extract_text", "find_bare_urls", "trim_url"]

# A bare URL starts with a scheme we check (or `www.`, or `mailto:`) at a word boundary and
# runs to the next whitespace or character that cannot sit unescaped in prose-embedded URLs.
_BARE_URL = re.compile(r"(?<![\w@./+-])(?:(?:https?|ftp)://|www\.|mailto:)[^\s<>\"`{}|\\^]+", re.IGNORECASE)
# What every bare URL starts with.
URL_START = re.compile(r"(?:(?:https?|ftp)://|www\.|mailto:)", re.IGNORECASE)
# Sentence punctuation that ends prose rather than the URL.
_TRAILING = ".,;:!?'\"*_~"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Line breaks as Markdown counts them, so every format agrees on line numbers.
_LINE_BREAK = re.compile(r"\r\n?|\n")


def trim_url(candidate: str) -> str:
    """Drop trailing punctuation that belongs to the sentence, not the URL.

    Closing brackets are kept only when balanced inside the URL, so
    `(https://a.org/x)` gives `https://a.org/x` but Wikipedia's `Foo_(bar)` survives.
    Returns "" when nothing URL-like is left (e.g. a bare `https://`).
    """
    url = trimmed(candidate, _TRAILING, _CLOSERS)  # counted once: a URL of a thousand `)` is read once
    prefix = URL_START.match(url)
    if prefix is None or prefix.end() == len(url):
        return ""
    return url


def find_bare_urls(text: str) -> list[tuple[int, str]]:
    """Every bare URL in `text` as (1-based line, URL as written), in reading order."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        for match in _BARE_URL.finditer(line):
            url = trim_url(match.group())
            if url:
                found.append((number, url))
    return found


def extract_text(text: str, document: str) -> list[Citation]:
    """Citations for a plain-text document: its bare URLs, anchor text being the URL itself."""
    return [Citation(document=document, line=line, text=url, url=url) for line, url in find_bare_urls(text)]
