"""From citations and the reference register to the distinct targets to check, keeping every citation."""
from __future__ import annotations

import posixpath
from collections.abc import Iterable

from .figures import Figure
from .model import Citation, Reference, Target
from .urls import is_relative, normalise, placeholder_reason, split_fragment

__all__ = ["anchor_key", "collect"]


def anchor_key(text: str) -> str:
    """Anchor text as matched against `cited_as`: case and spacing do not matter."""
    return " ".join(text.casefold().split())


def collect(citations: Iterable[Citation], references: Iterable[Reference]) -> list[Target]:
    """One target per distinct normalised URL, in first-cited order, then uncited references.

    A placeholder is not a URL, so placeholders are grouped by what they stand for: the
    reference whose `cited_as` matches their anchor text, else the anchor text itself, so
    that each result can say which source belongs there."""
    references = list(references)
    by_url: dict[str, list[Reference]] = {}  # one source may back several claims, each with its quote
    by_anchor: dict[str, Reference] = {}
    for registered in references:
        if registered.url:
            by_url.setdefault(normalise(registered.url), []).append(registered)
        if registered.cited_as:
            by_anchor.setdefault(anchor_key(registered.cited_as), registered)

    groups: dict[tuple[str, str], list[Citation]] = {}
    refs: dict[tuple[str, str], list[Reference]] = {}
    for citation in citations:
        found: list[Reference]
        if placeholder_reason(citation.url) is not None:
            url = citation.url.strip()
            ref = by_anchor.get(anchor_key(citation.text))
            found = [ref] if ref else []
            key = (url, f"ref:{ref.id}" if ref else f"text:{anchor_key(citation.text)}")
        elif is_relative(citation.url):
            # A local file, named as the citing document's folder sees it.
            url = posixpath.normpath(posixpath.join(posixpath.dirname(citation.document), citation.url.strip()))
            found, key = [], (url, "")
        else:
            url = normalise(citation.url)
            found = by_url.get(url) or by_url.get(split_fragment(url)[0]) or []
            key = (url, "")
        groups.setdefault(key, []).append(citation)
        refs.setdefault(key, found)

    targets = [_target(key[0], tuple(cits), refs[key], cits) for key, cits in groups.items()]
    # A reference whose URL is cited (with or without a fragment) is checked there; one that
    # only a placeholder stands for is still checked on its own, for the figures the
    # placeholders state too.
    attached = {ref.id for key, found in refs.items() if not key[1] for ref in found}
    standing: dict[str, list[Citation]] = {}
    for key, cits in groups.items():
        if key[1].startswith("ref:"):
            standing.setdefault(key[1][4:], []).extend(cits)
    for url, same_url in by_url.items():
        waiting = [ref for ref in same_url if ref.id not in attached]
        if waiting:
            targets.append(_target(url, (), waiting, [c for ref in waiting for c in standing.get(ref.id, ())]))
    return targets


def _target(url: str, citations: tuple[Citation, ...], references: list[Reference],
            stating: Iterable[Citation]) -> Target:
    return Target(url=url, citations=citations, reference=references[0] if references else None,
                  also=tuple(references[1:]), claims=_claims(stating))


def _claims(citations: Iterable[Citation]) -> tuple[Figure, ...]:
    """Every figure the citations state, each amount once."""
    seen: dict[object, Figure] = {}
    for citation in citations:
        for figure in citation.claims:
            seen.setdefault(figure.key, figure)
    return tuple(seen.values())
