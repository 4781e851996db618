"""Pruning the evidence archive: old captures go; baselines, last good evidence and revisit originals stay."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .archive import scan, warc_name
from .files import write_atomic
from .history import History
from .times import to_second

__all__ = ["Dropped", "PrunePlan", "apply_plan", "plan_prune", "repoint_report"]

_CAPTURES = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class Member:
    """One gzip member of a WARC file: where it lies and which record it holds."""

    offset: int
    length: int
    kind: str
    record_id: str
    concurrent_to: str
    uri: str
    date: str
    digest: str
    refers_to: tuple[str, str, str] | None  # a revisit's original: (target URI, date, payload digest)


def members(path: Path) -> Iterator[Member]:
    for offset, raw, record, _ in scan(path):
        get = record.rec_headers.get_header
        digest = get("WARC-Payload-Digest") or ""
        # Dates to the second, as history keeps them: a revisit of an earlier run's capture names
        # its date from there; the payload digest tells two captures of one second apart.
        refers = ((get("WARC-Refers-To-Target-URI") or "", to_second(get("WARC-Refers-To-Date") or ""), digest)
                  if record.rec_type == "revisit" else None)
        yield Member(offset, len(raw), record.rec_type, get("WARC-Record-ID") or "", get("WARC-Concurrent-To") or "",
                     get("WARC-Target-URI") or "", to_second(get("WARC-Date") or ""), digest, refers)


@dataclass(frozen=True, slots=True)
class Dropped:
    """One capture a prune removes."""

    warc: str
    offset: int
    url: str
    time: str


@dataclass(frozen=True, slots=True)
class _FilePlan:
    """What stays of one WARC file: the members kept, in order ((offset, length) pairs); none
    means the file goes."""

    name: str
    size: int
    kept: tuple[tuple[int, int], ...]

    @property
    def freed(self) -> int:
        return self.size - sum(length for _, length in self.kept)

    def moves(self) -> dict[int, int]:
        """Old offset -> new offset of every member kept."""
        moved, at = {}, 0
        for offset, length in self.kept:
            moved[offset] = at
            at += length
        return moved


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What a prune drops and why the rest of the old captures stay."""

    dropped: tuple[Dropped, ...]
    files: tuple[_FilePlan, ...]
    kept: dict[str, int] = field(default_factory=dict)  # why old captures stay -> how many

    @property
    def bytes_freed(self) -> int:
        return sum(f.freed for f in self.files)

    @property
    def files_removed(self) -> int:
        return sum(not f.kept for f in self.files)


def _runs_kept(history: History, names: Sequence[str], keep_runs: int | None) -> set[str]:
    """The WARC files of the newest `keep_runs` runs that archived something (offline runs are
    not counted); a file no run in history names counts as older than all of them."""
    if keep_runs is None:
        return set()  # only --older-than decides
    present = set(names)
    ranked = [name for run in history.runs(limit=1 << 30) if not run.offline
              if (name := warc_name(run.id, run.started)) in present]
    return set(ranked[:keep_runs])


def plan_prune(history: History, archive: Path, *, keep_runs: int | None, older_than: str | None) -> PrunePlan:
    """Which captures to drop: those outside the newest `keep_runs` runs and captured before
    `older_than` (each only when given), except a URL's baseline, the last good capture of a
    source failing now, and the original of any revisit that stays."""
    files = {p.name: list(members(p)) for p in sorted(archive.glob("*.warc.gz"))}
    recent = _runs_kept(history, list(files), keep_runs)
    protected: dict[tuple[str, int], str] = {}
    for row in history.baseline_rows():
        protected.setdefault((row.warc, row.offset), "baselines")
    for snapshot in history.last_good_of_failing():
        protected.setdefault((snapshot.warc, snapshot.offset or 0), "last good captures of failing sources")
    old = {(name, m.offset) for name, items in files.items() for m in items
           if m.kind in _CAPTURES and name not in recent and (older_than is None or m.date < older_than)}
    drop = old - set(protected)
    originals: dict[tuple[str, str, str], tuple[str, int]] = {}
    for name, items in files.items():
        for m in items:
            if m.kind == "response":
                originals.setdefault((m.uri, m.date, m.digest), (name, m.offset))
    for name, items in files.items():  # a revisit that stays keeps its original
        for m in items:
            if m.kind == "revisit" and (name, m.offset) not in drop and m.refers_to in originals:
                original = originals[m.refers_to]
                if original in drop:
                    drop.discard(original)
                    protected.setdefault(original, "originals of kept revisits")
    kept: dict[str, int] = {}
    for key, why in protected.items():
        if key in old:
            kept[why] = kept.get(why, 0) + 1
    # A file of old runs with no capture at all (an offline run's) goes too.
    empty = {name for name, items in files.items() if name not in recent and items
             and not any(m.kind in _CAPTURES for m in items) and (older_than is None or items[0].date < older_than)}
    return PrunePlan(tuple(_dropped(files, drop)), tuple(_file_plans(archive, files, drop, empty)), kept)


def _dropped(files: dict[str, list[Member]], drop: set[tuple[str, int]]) -> Iterable[Dropped]:
    for name, items in files.items():
        for m in items:
            if (name, m.offset) in drop:
                yield Dropped(name, m.offset, m.uri, m.date)


def _file_plans(archive: Path, files: dict[str, list[Member]], drop: set[tuple[str, int]],
                empty: set[str]) -> Iterable[_FilePlan]:
    """Each file that loses a capture: the rest of its members, requests following their captures;
    a file left with no capture goes altogether."""
    for name, items in files.items():
        gone = {m.record_id for m in items if (name, m.offset) in drop}
        if not gone and name not in empty:
            continue
        kept = [m for m in items if (name, m.offset) not in drop and m.concurrent_to not in gone]
        if not any(m.kind in _CAPTURES for m in kept):
            kept = []
        yield _FilePlan(name, (archive / name).stat().st_size, tuple((m.offset, m.length) for m in kept))


def apply_plan(history: History, archive: Path, plan: PrunePlan) -> None:
    """Rewrite each file (the kept members copied byte for byte into a new file, fsynced) and
    update the snapshot index in one transaction, the new files renamed into place just before
    it commits; a failure before that leaves the archive and the index as they were."""
    written: dict[str, Path] = {}
    try:
        for plan_file in plan.files:
            if plan_file.kept:
                written[plan_file.name] = _rewrite(archive / plan_file.name, plan_file.kept)

        def swap() -> None:
            for plan_file in plan.files:
                if plan_file.kept:
                    os.replace(written.pop(plan_file.name), archive / plan_file.name)
                else:
                    (archive / plan_file.name).unlink(missing_ok=True)
            _fsync_dir(archive)

        history.prune_index([(d.warc, d.offset) for d in plan.dropped],
                            {f.name: f.moves() for f in plan.files if f.kept}, before_commit=swap)
    finally:
        for tmp in written.values():
            with contextlib.suppress(OSError):
                tmp.unlink()


def _rewrite(path: Path, kept: Sequence[tuple[int, int]]) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")  # same directory: the rename is atomic
    with open(path, "rb") as src, open(tmp, "xb") as dst:
        for offset, length in kept:
            src.seek(offset)
            data = src.read(length)
            if len(data) != length:
                raise OSError(f"{path}: shorter than its index says")
            dst.write(data)
        dst.flush()
        os.fsync(dst.fileno())
    return tmp


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def repoint_report(path: Path, plan: PrunePlan) -> None:
    """Point a kept report (the state dir's last-report.json) at its records' new offsets; a
    snapshot whose record is gone becomes null. Written atomically, one result per line as before."""
    if not plan.files or not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    moves = {f.name: f.moves() for f in plan.files}
    for result in data.get("results", ()):
        snapshot = result.get("snapshot")
        if not snapshot or snapshot.get("offset") is None or os.path.basename(snapshot["warc"]) not in moves:
            continue
        offset = moves[os.path.basename(snapshot["warc"])].get(snapshot["offset"])
        if offset is None:
            result["snapshot"] = None
        else:
            snapshot["offset"] = offset
    results = data.pop("results", [])
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in results)
    write_atomic(path, json.dumps(data, ensure_ascii=False)[:-1] + f', "results": [\n{lines}\n]}}\n')
