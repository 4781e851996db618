"""The WARC writer's short cuts give what the general path gives: target URIs, request lines,
digests, record ids, gzip members, offsets, and the times a run's index rows are checked against."""
from __future__ import annotations

import base64
import gzip
import hashlib
import sqlite3
import uuid
import zlib
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck import archive, warclayout
from linkcheck.archive import WarcWriter, read_capture, target_uri
from linkcheck.history import History
from linkcheck.model import FetchOutcome, Snapshot

# Pieces of URLs: kept as written, quoted, or splitting the URL (query, fragment, userinfo, IPv6).
_PIECES = ["a", "Z", "0", "-", ".", "_", "~", "/", ":", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";",
           "=", "%", "%41", "%zz", "?", "#", "[", "]", " ", "\t", "é", "ß", "証", "\\", '"', "<", "|", "^", "`",
           "{", "token=x", "//", ".."]


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]))
    userinfo = draw(st.sampled_from(["", "user@", "u:p@"]))
    host = draw(st.sampled_from(["site.example", "Site.Example", "127.0.1.1", "bücher.example", "[::1]", "a-b.c",
                                 "x_y", "h", ""]))
    port = draw(st.sampled_from(["", ":", ":80", ":4321", ":x"]))
    rest = draw(st.sampled_from(["", "/"])) + "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=8)))
    return f"{scheme}://{userinfo}{host}{port}{rest}"


def _or_error(function, url: str) -> object:
    try:
        return function(url)
    except ValueError as exc:  # an unbalanced "[": urlsplit refuses it
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(urls())
@example("http://127.0.1.1:4321/doc/42")
@example("http://h/%zz")
@example("HTTP://site.example/")
@example("http://site.example/a b")
@example("http://u@site.example/")
@example("http://site.example/?token=x")
@example("http://bücher.example/")
def test_a_url_taken_as_written_is_what_the_whole_conversion_makes_of_it(url: str) -> None:
    assert _or_error(target_uri, url) == _or_error(archive._target_uri, url)


def test_the_urls_a_run_mostly_archives_are_taken_as_written() -> None:
    for url in ("http://127.0.1.1:4321/doc/42", "https://site.example/a/b.html", "https://h", "http://h:8080/"):
        assert warclayout.PLAIN_URL.fullmatch(url), url
    for url in ("http://h/?q", "http://h/#f", "http://u@h/", "http://h/%41", "HTTP://h/", "http://h/é"):
        assert not warclayout.PLAIN_URL.fullmatch(url), url


@settings(max_examples=600, deadline=None)
@given(urls())
@example("http://127.0.1.1:4321/doc/42")
@example("http://site.example")
@example("http://site.example/?a=b")
def test_a_request_line_names_what_urlsplit_finds_in_the_target_uri(url: str) -> None:
    uri = _or_error(target_uri, url)
    if not isinstance(uri, str):
        return
    assert _or_error(warclayout._request_target, uri) == _or_error(_split_target, uri)


def _split_target(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, f"{parts.path or '/'}{'?' if parts.query else ''}{parts.query}"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300))
@example(b"", b"")
def test_digests_are_spelt_as_base64_spells_them(head: bytes, payload: bytes) -> None:
    raw = hashlib.sha256(head + payload).digest()
    spelt = "sha256:" + base64.b32encode(raw).decode("ascii")
    assert warclayout.payload_digests(head + payload) == (spelt, raw.hex())
    assert warclayout._block_digest(head, payload) == spelt == warclayout.payload_digest(head + payload)


def test_spelling_every_bit_of_a_digest() -> None:
    for raw in (bytes(32), b"\xff" * 32, *(int.to_bytes(1 << bit, 32, "big") for bit in range(256))):
        assert warclayout._spelt(raw) == "sha256:" + base64.b32encode(raw).decode("ascii")


def test_record_ids_are_random_version_4_uuids_as_warcio_spells_them() -> None:
    seen = set()
    for _ in range(2000):
        ids = warclayout._record_ids()
        for record_id in ids:
            parsed = uuid.UUID(record_id.removeprefix("<urn:uuid:").removesuffix(">"))
            assert (parsed.variant, parsed.version) == (uuid.RFC_4122, 4)
            assert record_id == f"<urn:uuid:{parsed}>"
        seen.update(ids)
    assert len(seen) == 4000


def _capture(i: int) -> FetchOutcome:
    url = f"https://site.example/{i}"
    return FetchOutcome(url, status=200, final_url=url, body=b"page %d " % i * (50 + 40 * i),
                        headers=(("Content-Type", "text/plain"),), fetched_at="2024-05-01T10:00:00Z")


def test_each_snapshot_points_at_its_record_after_a_failed_write_too(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, "offsets", "2024-05-01T00:00:00Z") as writer:
        snaps = [writer.write(_capture(i)) for i in range(3)]
        real = writer._fh

        def disk_full(data: bytes) -> int:  # half of the next write fits
            real.write(data[:len(data) // 2])
            raise OSError(28, "No space left on device")

        writer._fh = SimpleNamespace(write=disk_full, flush=real.flush, truncate=real.truncate, tell=real.tell)
        with pytest.raises(OSError):
            writer.write(_capture(3))
        writer._fh = real
        snaps += [writer.write(_capture(i)) for i in range(4, 6)]
    for i, snap in zip([0, 1, 2, 4, 5], snaps, strict=True):
        assert snap is not None
        assert read_capture(tmp_path, snap.warc, snap.offset).body == _capture(i).body


T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z"
URL = "https://site.example/"


@pytest.mark.parametrize("times", [[T1, T1, "yesterday"], [T1, T2, T1, "2024-02-30T00:00:00Z"],
                                   [T2, T2, T2, T1 + " "]])
def test_every_index_time_is_checked_though_most_repeat(tmp_path: Path, times: list[str]) -> None:
    snapshots = [(f"{URL}{i}", Snapshot("w.warc.gz", "a" * 64, i, time), 200, "sha256:a", False, URL)
                 for i, time in enumerate(times)]
    baselines = [(f"{URL}{i}", "a" * 64, time) for i, time in enumerate(times)]
    with History(tmp_path / "h.sqlite") as h:
        with pytest.raises(ValueError):
            h.commit_run("bad", T1, T2, {}, snapshots=snapshots)
        with pytest.raises(ValueError):
            h.commit_run("bad", T1, T2, {}, baselines=baselines)
        h.commit_run("good", T1, T2, {}, snapshots=snapshots[:-1], baselines=baselines[:-1])
    with sqlite3.connect(tmp_path / "h.sqlite") as db:
        assert db.execute("SELECT count(*) FROM snapshots").fetchone() == (len(times) - 1,)
        assert db.execute("SELECT count(*) FROM baselines").fetchone() == (len(times) - 1,)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=2 * warclayout.STORED_MAX),
                 st.integers(0, 2 * warclayout.STORED_MAX).map(lambda n: b"WARC-Type: request\r\n" * n)))
@example(b"")
@example(b"a" * warclayout.STORED_MAX)
@example(b"a" * (warclayout.STORED_MAX + 1))
def test_a_small_record_is_stored_and_a_larger_one_deflated_into_the_same_member(record: bytes) -> None:
    deflated = zlib.compressobj(6, zlib.DEFLATED, 31, 4)
    full = deflated.compress(record) + deflated.flush()
    member = warclayout.gzip_member(record)
    assert gzip.decompress(member) == record == gzip.decompress(full)
    if len(record) > warclayout.STORED_MAX:
        assert member == full
    else:  # stored: the record's bytes as they are, in one block after the gzip header
        assert len(member) == len(record) + 23 and member[15:15 + len(record)] == record
