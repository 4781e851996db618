"""The values the history database hands back: snapshots, runs, results, trends."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..model import Citation, Reason, Snapshot, Verdict

__all__ = ["CachedResult", "MementoRow", "ResultRow", "RunRow", "SnapshotRow", "TimelineRow", "TrendInfo",
           "result_row_out", "reuse_note", "snapshot_row"]


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One capture in the index; `baseline` marks the capture later ones are compared with."""

    url: str
    time: str
    status: int
    sha256: str
    digest: str
    warc: str
    offset: int
    revisit: bool
    baseline: bool
    target_uri: str | None = None

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot(warc=self.warc, sha256=self.sha256, offset=self.offset, time=self.time)


class MementoRow(NamedTuple):
    """What the web archives answered for a source and the date it was cited (None: no capture)."""

    url: str
    cited: str
    asked: str
    memento_url: str | None
    memento_time: str | None
    before_url: str | None
    before_time: str | None


@dataclass(frozen=True, slots=True)
class TrendInfo:
    """How one citation has fared across runs (the history fields of a Result)."""

    first_failed: str | None
    consecutive_failures: int
    last_ok: str | None
    trend: str | None


def reuse_note(checked_at: str) -> str:
    """What a reused verdict's detail ends with: when the fetch that made it happened."""
    return f" (as checked at {checked_at}; within --cache-ttl)"


@dataclass(frozen=True, slots=True)
class CachedResult:
    """A recent ok verdict that lets a run skip fetching the URL again; `checked_at` is its last real
    fetch, and `detail` what that fetch gave."""

    verdict: Verdict
    reason: Reason
    detail: str
    http_status: int | None
    final_url: str | None
    snapshot: Snapshot | None
    checked_at: str


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One finished run's verdict on a URL."""

    time: str
    verdict: str
    reason: str
    http_status: int | None
    detail: str
    sha256: str | None
    reference_id: str


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run; `finished` is None when it never finished (it crashed or is still going);
    `offline` when it found its own network down, so that nothing counts it."""

    id: str
    started: str
    finished: str | None
    summary: dict[str, int]
    offline: bool = False


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One finished run's stored verdict on a citation, with where the documents cite it.

    `first_failed` is when the citation's current streak of failing verdicts began, as of that
    run (None when the row is not failing); it may lie long before any window asked for."""

    run_id: str
    finished: str
    url: str
    reference_id: str
    verdict: str
    reason: str
    detail: str
    http_status: int | None
    final_url: str | None
    citations: tuple[Citation, ...]
    first_failed: str | None


def snapshot_row(row: tuple[Any, ...]) -> SnapshotRow:
    """A row of `snapshots` as selected by the index queries."""
    url, time, status, sha256, digest, warc, offset, revisit, baseline, target_uri = row
    return SnapshotRow(url, time, status, sha256, digest, warc, offset, revisit=bool(revisit),
                       baseline=bool(baseline), target_uri=target_uri)


def result_row_out(row: tuple[Any, ...]) -> ResultRow:
    """A row of `results` with its run, as the result queries select it."""
    run_id, finished, url, reference_id, verdict, reason, detail, status, final_url, citations, first_failed = row
    return ResultRow(run_id, finished, url, reference_id, verdict, reason, detail, status, final_url,
                     _citations(url, citations), first_failed)


def _citations(url: str, stored: str | None) -> tuple[Citation, ...]:
    """Results recorded before citations were stored have none."""
    items = json.loads(stored) if stored else []
    return tuple(Citation.from_json(item, url) for item in items)
