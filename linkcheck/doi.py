"""DOIs: recognising them in links and prose, and reading a work's Crossref record (pure)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

__all__ = ["CORRECTING", "DEFAULT_RESOLVER", "RETRACTING", "Update", "Work", "doi_of", "doi_url", "trimmed",
           "find_doi_strings", "notes", "retraction", "title_mismatch", "work_from_json"]

DEFAULT_RESOLVER = "https://doi.org/"
_RESOLVER_HOSTS = frozenset({"doi.org", "dx.doi.org", "www.doi.org"})
# Crossref's update types that take the work back, and those that amend it.
RETRACTING = frozenset({"retraction", "withdrawal", "removal", "partial_retraction"})
CORRECTING = frozenset({"correction", "erratum", "corrigendum", "expression_of_concern", "addendum",
                        "clarification"})
# `doi:10.1000/xyz` (or `DOI: 10.1000/xyz`) in prose; the DOI runs to the next space.
_DOI_STRING = re.compile(r"(?<![\w/.:])doi:\s?(10\.\d{4,9}/[^\s\"]+)", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~"
_CLOSERS = {")": "(", "]": "[", ">": "<"}
_PAST = {"retraction": "retracted", "partial_retraction": "partly retracted", "withdrawal": "withdrawn",
         "removal": "removed", "correction": "corrected", "corrigendum": "corrected (corrigendum)",
         "erratum": "corrected (erratum)", "expression_of_concern": "expression of concern issued"}
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset({"the", "and", "for", "with", "from", "into", "that", "this", "are", "was", "its", "our"})


def _trim(doi: str) -> str:
    """Sentence punctuation after a DOI is not part of it; a closing bracket is when balanced."""
    return trimmed(doi, _TRAILING, _CLOSERS)


def trimmed(written: str, trailing: str, closers: dict[str, str]) -> str:
    """`written` without the `trailing` punctuation at its end, nor the closing brackets there
    that close nothing in it. Brackets are counted once and the end moved, so that an address of a
    thousand `)` is not copied and counted a thousand times."""
    opened = {closer: written.count(opener) for closer, opener in closers.items()}
    closed = {closer: written.count(closer) for closer in closers}
    end = len(written)
    while end:
        last = written[end - 1]
        if last in trailing:
            end -= 1
        elif last in closers and closed[last] > opened[last]:
            closed[last] -= 1
            end -= 1
        else:
            break
    return written[:end]


def doi_url(doi: str, resolver: str = DEFAULT_RESOLVER) -> str:
    """The resolver URL of a DOI (characters a URL path cannot hold are escaped)."""
    return resolver.rstrip("/") + "/" + quote(doi, safe="/:;()[].-_~@!$&'*+,=")


def doi_of(url: str, resolvers: Sequence[str] = ()) -> str | None:
    """The DOI a resolver URL names (`https://doi.org/10.1000/xyz`), or None for any other URL.

    `resolvers` are further resolver prefixes to recognise besides doi.org."""
    if not resolvers and "doi" not in url.lower():
        return None  # every resolver host (doi.org, dx.doi.org) says so: most URLs end here
    bare = url.split("#", 1)[0]
    for prefix in resolvers:
        stem = prefix.rstrip("/") + "/"
        if bare.startswith(stem):
            path = bare[len(stem):]
            break
    else:
        parts = urlsplit(bare)
        if parts.scheme.lower() not in ("http", "https") or (parts.hostname or "") not in _RESOLVER_HOSTS:
            return None
        path = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    doi = unquote(path)
    return doi if re.fullmatch(r"10\.\d{4,9}/\S+", doi) else None


def find_doi_strings(text: str) -> list[tuple[int, str, str]]:
    """Every `doi:10...` in `text` as (1-based line, the text as written, the DOI)."""
    if _DOI_STRING.search(text) is None:
        return []  # most documents: a match within a line is one within the whole text
    return _doi_strings_by_line(text)


def _doi_strings_by_line(text: str) -> list[tuple[int, str, str]]:
    """What `find_doi_strings` gives, each line read."""
    found: list[tuple[int, str, str]] = []
    for number, line in enumerate(re.split(r"\r\n?|\n", text), start=1):
        for match in _DOI_STRING.finditer(line):
            doi = _trim(match.group(1))
            if re.fullmatch(r"10\.\d{4,9}/\S+", doi):
                written = match.group(0)[: match.start(1) - match.start(0)] + doi
                found.append((number, written, doi))
    return found


@dataclass(frozen=True, slots=True)
class Update:
    """One update notice Crossref lists for a work: its type, the notice's DOI and date."""

    kind: str
    doi: str
    date: str  # YYYY-MM-DD, or "" when the record gives none
    label: str = ""

    @property
    def sentence(self) -> str:
        what = _PAST.get(self.kind) or f"{(self.label or self.kind.replace('_', ' ')).lower()} issued"
        when = f" on {self.date}" if self.date else ""
        return f"{what}{when}: {self.doi}" if self.doi else f"{what}{when}"


@dataclass(frozen=True, slots=True)
class Work:
    """What Crossref says of a DOI. `unavailable` says why it could not be asked (then nothing
    else is known); `found` is false when Crossref has no record of the DOI."""

    doi: str
    found: bool = True
    title: str | None = None
    updates: tuple[Update, ...] = ()
    unavailable: str | None = None


def _date(value: Any) -> str:
    parts = value.get("date-parts") if isinstance(value, dict) else None
    first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
    numbers = [int(p) for p in first[:3] if isinstance(p, int)]
    if not numbers:
        return ""
    return "-".join([f"{numbers[0]:04d}"] + [f"{n:02d}" for n in numbers[1:]])


def work_from_json(doi: str, data: Any) -> Work:
    """A Work from the JSON of `GET /works/{doi}` (`{"status": "ok", "message": {...}}`)."""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        return Work(doi, unavailable="Crossref answered something other than a work record")
    titles = message.get("title")
    title = next((t.strip() for t in titles if isinstance(t, str) and t.strip()), None) \
        if isinstance(titles, list) else None
    updates = []
    for entry in message.get("updated-by") or ():
        if isinstance(entry, dict) and isinstance(entry.get("type"), str):
            updates.append(Update(kind=entry["type"].lower(), doi=str(entry.get("DOI") or ""),
                                  date=_date(entry.get("updated")), label=str(entry.get("label") or "")))
    return Work(doi, title=title, updates=tuple(sorted(updates, key=lambda u: u.date)))


def retraction(work: Work | None) -> Update | None:
    """The notice that took the work back, if any."""
    if work is None:
        return None
    return next((u for u in reversed(work.updates) if u.kind in RETRACTING), None)


def _words(text: str) -> set[str]:
    return {w for w in (m.group().casefold() for m in _WORD.finditer(text)) if len(w) > 2 and w not in _STOP}


def title_mismatch(cited: str | None, title: str | None, *, minimum_words: int = 3) -> bool:
    """A clear mismatch: most significant words of the cited title are not in the work's title."""
    if not cited or not title:
        return False
    words = _words(cited)
    if len(words) < minimum_words:
        return False
    return len(words & _words(title)) / len(words) < 0.5


def notes(work: Work | None, cited_title: str | None, cited_as: str | None) -> tuple[str, ...]:
    """Sentences a result carries about the work: corrections, a different title, or why
    Crossref could not tell."""
    if work is None:
        return ()
    if work.unavailable:
        return (f"Crossref could not be asked ({work.unavailable}): retractions and corrections not checked",)
    if not work.found:
        return ("Crossref has no record of this DOI: retractions and corrections not checked",)
    out = [f"{u.sentence}" for u in work.updates if u.kind in CORRECTING]
    if cited_title and title_mismatch(cited_title, work.title, minimum_words=2):
        out.append(f"the DOI's title is {work.title!r}, not the cited {cited_title!r}")
    elif not cited_title and title_mismatch(cited_as, work.title, minimum_words=4):
        out.append(f"the DOI's title is {work.title!r}, unlike the citation {cited_as!r}")
    return tuple(out)
