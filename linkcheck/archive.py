"""The evidence snapshot store: one WARC/1.1 file per run, each record its own gzip member."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import io
import os
import re
import secrets
import sys
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlsplit, urlunsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeadersParser
from warcio.warcwriter import WARCWriter

from . import __version__, coding
from .errors import InputError
from .model import FetchOutcome, Snapshot
from .redact import redact
from .times import format_time, to_second, utc_now
from .warclayout import (
    PLAIN_URL,
    REDACTED,
    TOUCHED,
    capture_records,
    clean,
    gzip_member,
    payload_digest,
    payload_digests,
)

__all__ = ["REDACTED", "Original", "StoredCapture", "WarcWriter", "capture_digests", "export", "iter_records",
           "payload_digest", "payload_digests", "read_capture", "scan", "sha256_hex", "target_uri", "warc_date",
           "warc_name"]

_WARC_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
_SAFE = "!$&'()*+,/:;=?@[]~%"  # kept as written; any other byte outside unreserved is %-encoded
_CAPTURES = ("response", "revisit")
_DAMAGE = (zlib.error, ArchiveLoadFailed, ValueError, EOFError)
# A capture larger than this is deflated off the loop: below it, the hand-over costs about as much.
OFF_LOOP_MIN = 16 * 1024
# A stored body is decoded when read; never past this, whatever its coding makes of it.
_DECODED_CAP = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Original:
    """An earlier capture with the same payload: what a revisit record points back to."""

    url: str
    date: str
    digest: str  # WARC-Payload-Digest exactly as stored on the original


@dataclass(frozen=True, slots=True)
class StoredCapture:
    """One response or revisit record read back: what was answered, and the bytes kept."""

    url: str
    date: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # decoded: a body stored with its Content-Encoding is read without it
    revisit_of: Original | None
    record_type: str


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def capture_digests(outcome: FetchOutcome) -> tuple[str, str]:
    """(WARC-Payload-Digest of the bytes stored, sha256 hex of the decoded body). The payload digest
    is over the entity body as transferred, content coding and all (WARC 1.1, 5.9), which is what a
    revisit vouches for; the sha256 names the content, so history sees a page unchanged whether or
    not the server compressed it."""
    body = outcome.body or b""
    if outcome.wire_body is None or outcome.wire_body is outcome.body:
        return payload_digests(body)
    return payload_digest(outcome.wire_body), sha256_hex(body)


def _digest_matches(digest: str, body: bytes) -> bool:
    algo, _, value = digest.partition(":")
    try:
        raw = hashlib.new(algo.strip().lower(), body).digest()
    except ValueError:
        return False
    return value.strip().upper() in (base64.b32encode(raw).decode("ascii"), raw.hex().upper())


def target_uri(url: str) -> str:
    """The URL as a WARC-Target-URI: ASCII, no fragment, no userinfo (a client never sends it),
    token-like parameters REDACTED, in the query and in the path (`;jsessionid=`), as an archive is
    shared (see redact.py); idempotent, so an Original's URL maps to the string its own record was
    written with."""
    # Nearly every URL: no need to split it. With an "=", its path may name a secret.
    return url if "=" not in url and PLAIN_URL.fullmatch(url) else _target_uri(url)


@functools.lru_cache(maxsize=4096)  # asked for each capture's URL by the store and the writer alike
def _target_uri(url: str) -> str:
    def requote(part: str) -> str:
        return quote(re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part), safe=_SAFE)

    parts = urlsplit(url.partition("#")[0])
    host, port = parts.netloc.rpartition("@")[2], ""
    if not host.startswith("[") and ":" in host:
        host, port = host.rsplit(":", 1)
        port = ":" + port
    if not host.isascii():
        try:
            host = ".".join(label.encode("idna").decode("ascii") if label else ""
                            for label in host.lower().split("."))
        except UnicodeError:
            host = quote(host, safe="")
    query = redact("?" + requote(parts.query))[1:] if parts.query else ""
    uri = urlunsplit((parts.scheme.lower(), host + requote(port), redact(requote(parts.path)), query, ""))
    return url if uri == url else uri  # kept once per capture until the run ends: one string, not two


def warc_date(value: str) -> str:
    """`YYYY-MM-DDThh:mm:ssZ` in UTC, or with six digits of fraction when the moment has them
    (WARC/1.1); other ISO 8601 spellings are converted, empty means now."""
    if _WARC_DATE.match(value):
        return value
    if not value:
        return utc_now(precise=True)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not moment.microsecond:
        return format_time(moment)
    return warc_date(moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z")



def _warcinfo(writer: WARCWriter, date: str, filename: str, **info: str) -> ArcWarcRecord:
    """The record opening a WARC file, digests given so that warcio adds no sha1 of its own."""
    lines = {"software": f"linkcheck/{__version__}", "format": "WARC File Format 1.1",
             "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/"
                           "warc-1.1/", **info}
    payload = "".join(f"{k}: {clean(v)}\r\n" for k, v in lines.items()).encode("utf-8")
    fields = {"WARC-Type": "warcinfo", "WARC-Record-ID": StatusAndHeadersParser.make_warc_id(), "WARC-Date": date,
              "WARC-Filename": filename, "WARC-Block-Digest": payload_digest(payload)}
    return writer.create_warc_record("", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
                                     warc_headers_dict=fields, warc_content_type="application/warc-fields")


def warc_name(run_id: str, started: str) -> str:
    """The name of a run's WARC file: its start time first, so names sort by age."""
    stamp = re.sub(r"\D", "", started)[:14]
    if len(stamp) != 14:
        raise ValueError(f"started must be YYYY-MM-DDThh:mm:ssZ, not {started!r}")
    return f"{stamp}-{run_id[:12]}.warc.gz"


class WarcWriter:
    """Appends a run's captures to its WARC; every flushed record survives a crash of the process."""

    def __init__(self, archive_dir: Path, run_id: str, started: str) -> None:
        self._dir, self._name = Path(archive_dir), warc_name(run_id, started)
        if Path(self._name).name != self._name:
            raise ValueError(f"run id {run_id!r} cannot name a file")
        self._dir.mkdir(parents=True, exist_ok=True)
        self._fh: BinaryIO | None = open(self.path, "ab")
        self._end: int | None = None  # where the next record goes: known after each write, no seek to ask
        # warcio lays out each record; we gzip it ourselves (one member per record, see _gzip).
        warcio, warcio.out = WARCWriter(None, gzip=False, warc_version="1.1"), io.BytesIO()
        warcio.write_record(_warcinfo(warcio, warc_date(started), self._name, isPartOf=run_id))
        self._deflater: ThreadPoolExecutor | None = None  # started by the first large capture
        self._append(_members([warcio.out.getvalue()]))

    @property
    def path(self) -> Path:
        return self._dir / self._name

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Make everything durable: the per-record flushes only survive a crash of the process."""
        if self._deflater is not None:
            self._deflater.shutdown()
            self._deflater = None
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        with fh:
            fh.flush()
            os.fsync(fh.fileno())
        dir_fd = os.open(self._dir, os.O_RDONLY)  # and the file's name in its directory
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def write(self, outcome: FetchOutcome, original: Original | None = None, *,
              digests: tuple[str, str] | None = None, fields: Mapping[str, str] | None = None) -> Snapshot | None:
        """Archive one GET answer, as a revisit when `original` has the same payload; None if the
        outcome holds nothing to keep (not a GET, no response, no body). `digests` is
        `capture_digests(outcome)` when the caller already has it; `fields` are further WARC headers
        of the response (or revisit) record, none of those the writer sets itself."""
        capture = self._laid_out(outcome, original, digests, fields)
        if capture is None:
            return None
        records, sha, date = capture
        return self._snapshot(self._append(_members(records)), sha, date)

    async def write_off_loop(self, outcome: FetchOutcome, original: Original | None = None, *,
                             digests: tuple[str, str] | None = None,
                             fields: Mapping[str, str] | None = None) -> Snapshot | None:
        """`write`, with a large capture deflated on the writer's own thread (zlib lets go of the
        GIL while it works), so that the loop goes on sending and receiving meanwhile: a page of
        200 KB takes milliseconds to deflate. Its records are appended, together, once deflated,
        on the caller's thread: a smaller capture written meanwhile may come before them."""
        capture = self._laid_out(outcome, original, digests, fields)
        if capture is None:
            return None
        records, sha, date = capture
        if sum(map(len, records)) <= OFF_LOOP_MIN:
            members = _members(records)
        else:
            if self._deflater is None:
                self._deflater = ThreadPoolExecutor(1, thread_name_prefix="warc-deflate")
            members = await asyncio.get_running_loop().run_in_executor(self._deflater, _members, records)
        return self._snapshot(self._append(members), sha, date)

    def _laid_out(self, outcome: FetchOutcome, original: Original | None, digests: tuple[str, str] | None,
                  fields: Mapping[str, str] | None) -> tuple[list[bytes], str, str] | None:
        """(records, sha256 of the content, WARC-Date) of a capture, or None when there is none."""
        body, status = outcome.body, outcome.status
        if outcome.method.upper() != "GET" or status is None or body is None:
            return None
        if fields and any(name.lower() in TOUCHED for name in fields):
            raise ValueError(f"the writer sets {sorted(TOUCHED)} itself")
        digest, sha = digests or capture_digests(outcome)
        stored = body if outcome.wire_body is None else outcome.wire_body
        uri, date = target_uri(outcome.final_url or outcome.url), warc_date(outcome.fetched_at)
        # A revisit says "same bytes as the original": if the digest disagrees, keep the bytes.
        same = original is not None and (original.digest == digest or _digest_matches(original.digest, stored))
        records = capture_records(outcome, uri, date, digest, fields=fields,
                                  revisit_of=(target_uri(original.url), original.date, original.digest)
                                  if original is not None and same else None)
        return records, sha, date

    def _snapshot(self, offset: int, sha: str, date: str) -> Snapshot:
        # Many captures share a second: one string for all of them, not one each.
        return Snapshot(warc=self._name, sha256=sha, offset=offset, time=sys.intern(to_second(date)))

    def _append(self, data: bytes) -> int:
        """Append gzip members (built in memory first, so a failure leaves no broken record
        before later ones) with one write; returns the first member's offset."""
        if self._fh is None:
            raise ValueError("write to a closed WarcWriter")
        start = self._fh.tell() if self._end is None else self._end
        try:
            self._fh.write(data)
            self._fh.flush()
        except BaseException:
            self._end = None  # not known unless the file is cut back
            with contextlib.suppress(OSError):
                self._fh.truncate(start)
                self._end = start  # appended at the file's end: the next record goes where this one began
            raise
        self._end = start + len(data)
        return start


def _members(records: list[bytes]) -> bytes:
    return b"".join([gzip_member(record) for record in records])


def _records(fh: BinaryIO) -> Iterator[tuple[int, bytes, ArcWarcRecord, bytes]]:
    """(offset, gzip member, record, payload) of each record from fh's position. A member cut short
    (no gzip trailer) is the record a crash interrupted: it ends the iteration quietly."""
    offset, pending = fh.tell(), b""
    while True:
        inflater = zlib.decompressobj(wbits=31)
        raw, out = bytearray(), bytearray()
        while not inflater.eof:
            data, pending = pending or fh.read(1 << 16), b""
            if not data:
                return
            out += inflater.decompress(data)
            if inflater.eof:
                pending = inflater.unused_data
                data = data[:len(data) - len(pending)]
            raw += data
        record = next(iter(ArchiveIterator(io.BytesIO(bytes(out)))), None)
        if record is None:
            raise ArchiveLoadFailed(f"no WARC record in the gzip member at offset {offset}")
        yield offset, bytes(raw), record, record.raw_stream.read()
        offset += len(raw)


def _scan(path: Path) -> Iterator[tuple[int, bytes, ArcWarcRecord, bytes]]:
    """Every complete record of a WARC file, stopping quietly at a damaged tail."""
    with open(path, "rb") as fh:
        try:
            yield from _records(fh)
        except _DAMAGE:
            return


def _capture(record: ArcWarcRecord, body: bytes) -> StoredCapture:
    get, http = record.rec_headers.get_header, record.http_headers
    revisit_of = Original(get("WARC-Refers-To-Target-URI") or "", get("WARC-Refers-To-Date") or "",
                          get("WARC-Payload-Digest") or "") if record.rec_type == "revisit" else None
    if http is not None and body and not revisit_of:
        body = coding.decode(body, http.get_header("Content-Encoding"), _DECODED_CAP)[0]
    return StoredCapture(url=get("WARC-Target-URI") or "", date=get("WARC-Date") or "",
                         status=int(http.get_statuscode() or 0) if http else 0,
                         headers=tuple((k, v) for k, v in http.headers) if http else (),
                         body=b"" if revisit_of else body, revisit_of=revisit_of,
                         record_type=record.rec_type)


def scan(path: Path) -> Iterator[tuple[int, bytes, ArcWarcRecord, bytes]]:
    """(offset, gzip member, record, payload) of every complete record: for rewriting a file."""
    return _scan(path)


def iter_records(path: Path) -> Iterator[StoredCapture]:
    """Every complete response/revisit record of a WARC, stopping quietly at a damaged tail."""
    for _, _, record, body in _scan(path):
        if record.rec_type in _CAPTURES:
            yield _capture(record, body)


def _pair_at(archive_dir: Path, warc: str, offset: int) -> list[tuple[bytes, ArcWarcRecord, bytes]]:
    """The capture at `offset` (checked against its digest), then its request record if intact."""
    where = str(Path(archive_dir) / warc)
    # Names come from report.json: nothing outside the archive directory is reachable by them.
    if not warc or Path(warc).name != warc or warc in (".", ".."):
        raise InputError(warc, "not the name of a WARC file in the archive directory")
    found: list[tuple[bytes, ArcWarcRecord, bytes]] = []
    try:
        with open(where, "rb") as fh:
            fh.seek(offset)
            for _, raw, record, body in _records(fh):
                found.append((raw, record, body))
                if len(found) == 2:
                    break
    except OSError as exc:
        raise InputError(where, f"cannot read WARC file: {exc.strerror or exc}") from None
    except _DAMAGE as exc:  # a damaged request after an intact capture still yields the capture
        if not found:
            raise InputError(where, f"no readable record at offset {offset}: {exc}") from None
    if not found:
        raise InputError(where, f"no complete record at offset {offset}")
    (_, record, body), *rest = found
    if record.rec_type not in _CAPTURES:
        raise InputError(where, f"the record at offset {offset} is a {record.rec_type}, not a capture")
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if record.rec_type == "response" and digest and not _digest_matches(digest, body):
        raise InputError(where, f"the record at offset {offset} does not match its payload digest")
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    return found[:1] + [r for r in rest if r[1].rec_type == "request"
                        and r[1].rec_headers.get_header("WARC-Concurrent-To") == record_id]


def read_capture(archive_dir: Path, warc: str, offset: int) -> StoredCapture:
    """The capture at a Snapshot's offset: one seek, one record, no scan of the file."""
    _, record, body = _pair_at(archive_dir, warc, offset)[0]
    return _capture(record, body)


def _originals(archive_dir: Path, skip: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """(Target-URI, Date) → (warc, offset) of every response in the archive directory."""
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for path in sorted(Path(archive_dir).glob("*.warc.gz")):
        if path.resolve() != skip:
            for offset, _, record, _ in _scan(path):
                if record.rec_type == "response":
                    get = record.rec_headers.get_header
                    found.setdefault((get("WARC-Target-URI"), to_second(get("WARC-Date"))), (path.name, offset))
    return found


def export(archive_dir: Path, records: Sequence[tuple[str, int]], dest: Path) -> int:
    """Copy the listed captures with their requests, byte for byte, into one self-contained WARC
    at `dest`, adding the original of any revisit found in the archive; returns the capture count."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    originals: dict[tuple[str, str], tuple[str, int]] | None = None  # scanned on the first revisit
    queue, seen, count = [(str(w), int(o)) for w, o in records], set(), 0
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")  # same file system: atomic
    try:
        with open(tmp, "xb") as fh:
            writer = WARCWriter(fh, gzip=True, warc_version="1.1")
            writer.write_record(_warcinfo(writer, warc_date(""), dest.name,
                                          description="linkcheck evidence export"))
            while queue:
                key = queue.pop(0)
                if key in seen:
                    continue
                seen.add(key)
                pair = _pair_at(archive_dir, *key)
                for raw, _, _ in pair:
                    fh.write(raw)
                count += 1
                get = pair[0][1].rec_headers.get_header
                if get("WARC-Type") == "revisit":
                    if originals is None:
                        originals = _originals(archive_dir, dest.resolve())
                    ref = originals.get((get("WARC-Refers-To-Target-URI"), to_second(get("WARC-Refers-To-Date") or "")))
                    if ref is not None:
                        queue.insert(0, ref)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return count
