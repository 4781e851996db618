"""A result's and its citations' JSON text, spelt as `json` spells their `to_json()`, without the dicts.

report.json holds one line per result and history one citations column per result: at tens of
thousands of results, building each dict and handing it to the encoder was most of the time a run
spends after its last answer. The usual shapes are written here directly; any other (a similarity,
quotes, claims, notes, then-and-now, a number that is not a plain int) goes through `to_json()`
and the encoder, so the text is the same either way (tests/test_jsontext.py holds them equal)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _string  # the very escaping JSONEncoder(ensure_ascii=False) does

from .model import Citation, Result, Snapshot

__all__ = ["ENCODER", "citations", "result"]

# One encoder for the whole run: json.dumps would make one per call.
ENCODER = json.JSONEncoder(ensure_ascii=False)
_encode = ENCODER.encode


def _optional(text: str | None) -> str:
    return "null" if text is None else _string(text)


def _plain(number: object) -> bool:
    """None or an int as such (a bool is an int that json spells `true`)."""
    return number is None or type(number) is int


def citation(c: Citation) -> str:
    line = c.line
    if c.page is not None or c.kind or c.accessed is not None or c.claims or not _plain(line):
        return _encode(c.to_json())
    return (f'{{"document": {_string(c.document)}, "line": {"null" if line is None else line}, '
            f'"text": {_string(c.text)}}}')


def citations(cited: Sequence[Citation]) -> str:
    """`[c.to_json() for c in cited]` as JSON text."""
    return "[" + ", ".join(map(citation, cited)) + "]"


def _snapshot(s: Snapshot | None) -> str:
    if s is None:
        return "null"
    offset, time = s.offset, s.time
    if not _plain(offset):
        return _encode(s.to_json())
    return (f'{{"warc": {_string(s.warc)}, "sha256": {_string(s.sha256)}'
            + ("" if offset is None else f', "offset": {offset}')
            + ("" if time is None else f', "time": {_string(time)}') + "}")


def result(r: Result) -> str:
    """`r.to_json()` as JSON text."""
    status, failures = r.http_status, r.consecutive_failures
    if (r.similarity is not None or r.quotes or r.claims or r.figures_not_found or r.baseline_note
            or r.then_now is not None or not _plain(status) or type(failures) is not int):
        return _encode(r.to_json())
    suggested = "" if r.suggested_url is None else f'"suggested_url": {_string(r.suggested_url)}, '
    return (f'{{"url": {_string(r.url)}, "verdict": {_string(str(r.verdict))}, "reason": {_string(str(r.reason))}, '
            f'"detail": {_string(r.detail)}, "http_status": {"null" if status is None else status}, '
            f'"final_url": {_optional(r.final_url)}, '
            f'"redirects": {_encode([h.to_json() for h in r.redirects]) if r.redirects else "[]"}, '
            f'"citations": {citations(r.citations)}, "reference_id": {_optional(r.reference_id)}, '
            f'"snapshot": {_snapshot(r.snapshot)}, "archived_url": {_optional(r.archived_url)}, {suggested}'
            f'"first_failed": {_optional(r.first_failed)}, "consecutive_failures": {failures}, '
            f'"last_ok": {_optional(r.last_ok)}, "trend": {_optional(r.trend)}}}')
