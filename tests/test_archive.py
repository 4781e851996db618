"""The WARC evidence store: faithful records, sha256 digests, no secrets, crash safety, replay."""
from __future__ import annotations

import gzip
import io
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from linkcheck.archive import (
    Original,
    StoredCapture,
    WarcWriter,
    export,
    iter_records,
    payload_digest,
    read_capture,
    sha256_hex,
    target_uri,
)
from linkcheck.errors import InputError
from linkcheck.model import FetchOutcome, Snapshot

BIN = Path(sys.executable).parent
# pywb lives in a venv of its own (`make test` builds .venv-replay): its pins would otherwise
# downgrade and shadow packages linkcheck itself depends on.
REPLAY_BIN = Path(os.environ.get("LINKCHECK_REPLAY_BIN", Path(__file__).resolve().parent.parent / ".venv-replay" / "bin"))
ROOT = Path(__file__).resolve().parent.parent
WARC_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
SECRETS = (b"s3cr3t-bearer", b"session=c00kie", b"set-me-not", b"hunter2", b"proxy-pass")

HTML = "<!doctype html><html><body><p>Straße, café — 証拠</p></body></html>".encode()
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"


def outcome(url: str, body: bytes | None, *, fetched_at: str = "2024-05-01T10:00:00Z",
            headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),),
            **kw: object) -> FetchOutcome:
    fields: dict = dict(url=url, status=200, final_url=url, headers=headers, body=body,
                        reason_phrase="OK", fetched_at=fetched_at,
                        request_headers=(("User-Agent", "linkcheck-test"), ("Accept", "*/*")))
    fields.update(kw)
    return FetchOutcome(**fields)


PAGE = outcome(
    "https://user:hunter2@bücher.example/straße?q=ä#section-2", HTML,
    final_url="https://user:hunter2@bücher.example/straße?q=ä#section-2",
    headers=(("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked"),
             ("Set-Cookie", "session=c00kie; HttpOnly"), ("Set-Cookie", "other=set-me-not")),
    request_headers=(("User-Agent", "linkcheck-test"), ("Authorization", "Bearer s3cr3t-bearer"),
                     ("Cookie", "session=c00kie"), ("Proxy-Authorization", "Basic proxy-pass")))
GZ_TEXT = b"plain text, decoded when read\n" * 20
GZ_WIRE = gzip.compress(GZ_TEXT, mtime=0)
GZIPPED = outcome("https://site.example/gz", GZ_TEXT, wire_body=GZ_WIRE,
                  headers=(("Content-Type", "text/plain"), ("Content-Encoding", "gzip"),
                           ("Content-Length", str(len(GZ_WIRE)))), fetched_at="2024-05-01T12:00:00.250+02:00")
PDF_DOC = outcome("http://site.example/paper.pdf", PDF,
                  headers=(("Content-Type", "application/pdf"), ("Content-Length", str(len(PDF))),
                           ("Content-Disposition", 'inline; filename="résumé.pdf"')))
TRUNCATED = outcome("https://site.example/huge", b"x" * 1000, body_truncated=True,
                    headers=(("Content-Type", "text/plain"), ("Content-Length", "50000000")))
REDIRECTED = outcome("http://old.example/a", b"moved here", final_url="https://new.example/b")
NOT_ARCHIVED = (outcome("https://site.example/head", b"", method="HEAD"),
                outcome("https://site.example/dns", None, status=None),
                outcome("https://site.example/nobody", None))


def records(path: Path) -> list:
    """(record, payload) for every record, read with warcio itself."""
    with open(path, "rb") as fh:
        return [(r, r.raw_stream.read()) for r in ArchiveIterator(fh)]


def _member_end(data: bytes, offset: int) -> int:
    """Where the gzip member starting at `offset` ends."""
    inflater = zlib.decompressobj(wbits=31)
    inflater.decompress(data[offset:])
    assert inflater.eof
    return len(data) - len(inflater.unused_data)


def run_warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, WarcWriter, list]:
    """A run's WARC holding every kind of capture above, with the snapshots the writer returned."""
    writer = WarcWriter(tmp_path / "archive", "run-0123456789abcdef", "2024-05-01T09:59:58Z")
    with writer:
        snaps = [writer.write(o) for o in (PAGE, GZIPPED, PDF_DOC, TRUNCATED, REDIRECTED)]
        assert [writer.write(o) for o in NOT_ARCHIVED] == [None, None, None]
    return tmp_path / "archive", writer, snaps


# --------------------------------------------------------------------------- writing

def test_one_file_per_run_named_by_start_and_run_id(archive) -> None:
    root, writer, snaps = archive
    assert writer.path == root / "20240501095958-run-01234567.warc.gz"
    assert [p.name for p in root.iterdir()] == [writer.path.name]
    assert {s.warc for s in snaps} == {writer.path.name}
    (info, body), *_ = records(writer.path)
    assert info.rec_type == "warcinfo" and info.rec_headers.protocol == "WARC/1.1"
    assert b"software: linkcheck/" in body and b"WARC File Format 1.1" in body


def test_records_read_back_with_warcio(archive) -> None:
    _, writer, snaps = archive
    got = records(writer.path)[1:]
    assert [r.rec_type for r, _ in got] == ["response", "request"] * 5
    expected = (PAGE, GZIPPED, PDF_DOC, TRUNCATED, REDIRECTED)
    for (resp, body), (req, _), want, snap in zip(got[::2], got[1::2], expected, snaps, strict=True):
        h = resp.rec_headers
        stored = want.body if want.wire_body is None else want.wire_body
        assert body == stored  # as the server sent it
        assert h.get_header("WARC-Payload-Digest") == payload_digest(stored)
        assert h.get_header("WARC-Payload-Digest").startswith("sha256:")
        assert h.get_header("WARC-Block-Digest").startswith("sha256:")
        assert WARC_DATE.match(h.get_header("WARC-Date"))
        uri = h.get_header("WARC-Target-URI")
        assert uri.isascii() and "#" not in uri and "@" not in uri and "hunter2" not in uri
        assert req.rec_headers.get_header("WARC-Concurrent-To") == h.get_header("WARC-Record-ID")
        assert req.rec_headers.get_header("WARC-Target-URI") == uri
        assert req.rec_headers.get_header("WARC-Date") == h.get_header("WARC-Date")
        http = resp.http_headers
        assert http.get_header("Content-Length") == str(len(stored))
        assert http.get_header("Transfer-Encoding") is None
        assert http.get_header("Content-Encoding") == ("gzip" if want is GZIPPED else None)
        # The snapshot names the content (decoded), at the second history keeps.
        assert snap == Snapshot(writer.path.name, sha256_hex(want.body), snap.offset,
                                h.get_header("WARC-Date")[:19] + "Z")
    page, gz, _, trunc, moved = (r for r, _ in got[::2])
    assert page.rec_headers.get_header("WARC-Target-URI") == \
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4"
    request = got[1][0].http_headers
    assert (request.protocol, request.statusline) == ("GET", "/stra%C3%9Fe?q=%C3%A4 HTTP/1.1")
    assert request.get_header("Host") == "xn--bcher-kva.example"
    assert gz.http_headers.get_header("X-Archive-Orig-Content-Encoding") is None
    assert gz.http_headers.get_header("X-Archive-Orig-Content-Length") is None
    assert gz.rec_headers.get_header("WARC-Date") == "2024-05-01T10:00:00.250000Z"  # UTC, to the microsecond
    assert trunc.rec_headers.get_header("WARC-Truncated") == "length"
    assert trunc.http_headers.get_header("X-Archive-Orig-Content-Length") == "50000000"
    assert page.rec_headers.get_header("WARC-Truncated") is None
    assert moved.rec_headers.get_header("WARC-Target-URI") == "https://new.example/b"


def test_secrets_never_reach_the_archive(archive) -> None:
    _, writer, _ = archive
    plain = gzip.decompress(writer.path.read_bytes())
    for secret in SECRETS:
        assert secret not in plain
    req = records(writer.path)[2][0].http_headers
    for name in ("Authorization", "Cookie", "Proxy-Authorization"):
        assert req.get_header(name) == "[redacted]"
    resp = records(writer.path)[1][0].http_headers
    assert [v for k, v in resp.headers if k == "Set-Cookie"] == ["[redacted]", "[redacted]"]


def test_secrets_in_a_path_never_reach_the_archive(tmp_path: Path) -> None:
    """A session id or token written into the path (`;jsessionid=`) is masked in the WARC-Target-URI
    and the archived request line, as in every report; the capture is found under that URI."""
    cited = "http://shop.example/item/4;jsessionid=0A1B2C3D4E5F"
    writer = WarcWriter(tmp_path / "archive", "run-0123456789abcdef", "2024-05-01T09:59:58Z")
    with writer:
        snapshot = writer.write(outcome(cited, HTML))
    assert snapshot is not None
    assert b"0A1B2C3D4E5F" not in gzip.decompress(writer.path.read_bytes())
    (response, _), (request, _) = records(writer.path)[1:3]
    assert response.rec_headers.get_header("WARC-Target-URI") == "http://shop.example/item/4;jsessionid=REDACTED"
    assert request.http_headers.statusline == "/item/4;jsessionid=REDACTED HTTP/1.1"
    assert target_uri(target_uri(cited)) == target_uri(cited)
    assert snapshot.offset is not None
    assert read_capture(tmp_path / "archive", snapshot.warc, snapshot.offset).url == target_uri(cited)


def test_warcio_check_passes_and_every_digest_is_sha256(archive) -> None:
    _, writer, _ = archive
    result = run_warcio_check(writer.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout and "failed" not in result.stdout
    plain = gzip.decompress(writer.path.read_bytes())
    assert b"sha1:" not in plain and plain.count(b"Digest: sha256:") >= 11


def test_each_record_is_its_own_gzip_member_at_the_snapshot_offset(archive) -> None:
    _, writer, snaps = archive
    data = writer.path.read_bytes()
    for snap in snaps:
        inflater = zlib.decompressobj(wbits=31)
        head = inflater.decompress(data[snap.offset:])
        assert inflater.eof and head.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n")
        with open(writer.path, "rb") as fh:
            fh.seek(snap.offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"


def test_records_are_laid_out_byte_for_byte_as_warcio_lays_them_out(tmp_path: Path) -> None:
    """Each record the writer lays out itself is what warcio's own writer makes of the same
    headers and payload: responses, a revisit, requests, non-ASCII and multi-line header values."""
    with WarcWriter(tmp_path, "layout", "2024-05-01T00:00:00Z") as writer:
        first = writer.write(PAGE)
        for capture in (GZIPPED, PDF_DOC, TRUNCATED, REDIRECTED):
            writer.write(capture, fields={"WARC-Source-URI": "https://archive.example/m/1"})
        writer.write(outcome("https://site.example/again", HTML, headers=(("X-Note", "line one\r\nline two"),)),
                     Original("https://site.example/", "2024-05-01T00:00:00Z", payload_digest(HTML)))
        with pytest.raises(ValueError):
            writer.write(PAGE, fields={"WARC-Date": "2024-01-01T00:00:00Z"})
    data, offset, kinds = writer.path.read_bytes(), first.offset, []
    while offset < len(data):
        end = _member_end(data, offset)
        ours = zlib.decompress(data[offset:end], wbits=31)
        record = next(iter(ArchiveIterator(io.BytesIO(ours))))
        payload = record.raw_stream.read()
        fields = {k: v for k, v in record.rec_headers.headers if k not in ("Content-Type", "Content-Length")}
        expected = WARCWriter(io.BytesIO(), gzip=False, warc_version="1.1")
        expected.write_record(expected.create_warc_record(
            fields.get("WARC-Target-URI", ""), record.rec_type, payload=io.BytesIO(payload), length=len(payload),
            http_headers=record.http_headers, warc_headers_dict=fields))
        assert ours == expected.out.getvalue()
        record_id = uuid.UUID(fields["WARC-Record-ID"].removeprefix("<urn:uuid:").removesuffix(">"))
        assert (record_id.variant, record_id.version) == (uuid.RFC_4122, 4)
        kinds.append(record.rec_type)
        offset = end
    assert kinds == ["response", "request"] * 5 + ["revisit", "request"]


def test_revisit_points_at_the_original_with_its_digest(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, "first", "2024-05-01T00:00:00Z") as w1:
        first = w1.write(PAGE)
    original_capture = read_capture(tmp_path, first.warc, first.offset)
    original = Original(original_capture.url, original_capture.date, payload_digest(HTML))
    with WarcWriter(tmp_path, "second", "2024-05-02T00:00:00Z") as w2:
        again = w2.write(outcome(PAGE.url, HTML, fetched_at="2024-05-02T08:00:00Z"), original)
        # A stale "original" (different bytes) must not produce a lying revisit.
        changed = w2.write(outcome(PAGE.url, HTML + b"<!-- edit -->",
                                   fetched_at="2024-05-02T08:00:01Z"), original)
    (_, _), (rev, payload), (req, _), (resp, _), _ = records(w2.path)
    assert rev.rec_type == "revisit" and payload == b""
    h = rev.rec_headers
    assert h.get_header("WARC-Profile") == \
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert h.get_header("WARC-Refers-To-Target-URI") == original_capture.url
    assert h.get_header("WARC-Refers-To-Date") == "2024-05-01T10:00:00Z"
    assert h.get_header("WARC-Payload-Digest") == original.digest
    assert h.get_header("WARC-Block-Digest").startswith("sha256:")
    assert rev.http_headers.get_statuscode() == "200"
    assert rev.http_headers.get_header("Content-Length") == str(len(HTML))
    assert req.rec_headers.get_header("WARC-Concurrent-To") == h.get_header("WARC-Record-ID")
    assert resp.rec_type == "response"
    assert again.sha256 == first.sha256 and changed.sha256 != first.sha256
    got = read_capture(tmp_path, again.warc, again.offset)
    assert got.record_type == "revisit" and got.body == b"" and got.revisit_of == original
    assert run_warcio_check(w2.path).returncode == 0


def test_payload_digest_and_target_uri() -> None:
    digester = Digester("sha256")
    digester.update(PDF)
    assert payload_digest(PDF) == str(digester)
    for url, want in [
        ("https://bücher.example/straße?q=ä#frag", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4"),
        ("HTTPS://a:b@Site.example:8443/x y/%7e/50%", "https://Site.example:8443/x%20y/%7e/50%25"),
        ("http://[::1]:8080/p?a=1&b=<2>", "http://[::1]:8080/p?a=1&b=%3C2%3E"),
    ]:
        assert target_uri(url) == want
        assert target_uri(want) == want


def test_writer_refuses_bad_names_and_writes_after_close(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        WarcWriter(tmp_path, "run", "yesterday")
    with pytest.raises(ValueError):
        WarcWriter(tmp_path, "../escape", "2024-05-01T00:00:00Z")
    writer = WarcWriter(tmp_path, "run", "2024-05-01T00:00:00Z")
    writer.close()
    writer.close()
    with pytest.raises(ValueError):
        writer.write(PAGE)
    empty = outcome("https://site.example/empty", b"", fetched_at="")
    with WarcWriter(tmp_path, "run2", "2024-05-01T00:00:00Z") as w:
        snap = w.write(empty)
    assert WARC_DATE.match(snap.time) and read_capture(tmp_path, snap.warc, snap.offset).body == b""


# --------------------------------------------------------------------------- reading

def test_read_capture_seeks_to_the_offset(archive) -> None:
    root, writer, snaps = archive
    # Spoil the warcinfo record: only a reader that seeks (rather than scans) still succeeds.
    data = bytearray(writer.path.read_bytes())
    data[10:snaps[0].offset - 10] = b"\xff" * (snaps[0].offset - 20)
    writer.path.write_bytes(bytes(data))
    got = read_capture(root, snaps[2].warc, snaps[2].offset)
    assert got == StoredCapture(
        url="http://site.example/paper.pdf", date="2024-05-01T10:00:00Z", status=200,
        headers=(("Content-Type", "application/pdf"),  # non-ASCII values %-encoded (RFC 8187)
                 ("Content-Disposition", "inline; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
                 ("Content-Length", str(len(PDF)))),
        body=PDF, revisit_of=None, record_type="response")
    assert read_capture(root, snaps[0].warc, snaps[0].offset).body == HTML


def test_read_capture_errors_name_the_file(archive) -> None:
    root, writer, snaps = archive
    with pytest.raises(InputError, match="missing.warc.gz"):
        read_capture(root, "missing.warc.gz", 0)
    with pytest.raises(InputError):
        read_capture(root, "../" + writer.path.name, snaps[0].offset)
    with pytest.raises(InputError, match=r"no readable record at offset \d+"):
        read_capture(root, writer.path.name, snaps[0].offset + 1)
    request_at = _member_end(writer.path.read_bytes(), snaps[0].offset)
    with pytest.raises(InputError, match="request, not a capture"):
        read_capture(root, writer.path.name, request_at)
    with pytest.raises(InputError, match="no complete record"):
        read_capture(root, writer.path.name, writer.path.stat().st_size)


# --------------------------------------------------------------------------- crash safety

def test_sigkill_after_flush_loses_nothing(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from linkcheck.archive import WarcWriter
        from linkcheck.model import FetchOutcome
        w = WarcWriter(Path({str(tmp_path)!r}), "killed", "2024-05-01T00:00:00Z")
        for i in range(3):
            w.write(FetchOutcome(url=f"https://site.example/{{i}}", status=200,
                                 body=b"body %d " % i * 5000, fetched_at="2024-05-01T00:00:0%dZ" % i))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    (path,) = tmp_path.glob("*.warc.gz")
    got = list(iter_records(path))
    assert [c.url for c in got] == [f"https://site.example/{i}" for i in range(3)]
    assert [c.body for c in got] == [b"body %d " % i * 5000 for i in range(3)]


def test_a_cut_final_record_is_skipped_quietly(archive) -> None:
    _, writer, snaps = archive
    data = writer.path.read_bytes()
    bodies = [o.body for o in (PAGE, GZIPPED, PDF_DOC, TRUNCATED, REDIRECTED)]  # decoded when read
    request_at = _member_end(data, snaps[-1].offset)
    for cut, kept in [(request_at + (len(data) - request_at) // 2, 5),  # the last request
                      (snaps[-1].offset + (request_at - snaps[-1].offset) // 2, 4),  # a capture
                      (snaps[-1].offset + 3, 4), (request_at, 5)]:
        writer.path.write_bytes(data[:cut])
        assert [c.body for c in iter_records(writer.path)] == bodies[:kept]
    for tail in (b"\x1f\x8b\x08garbage", gzip.compress(b""), b"not gzip at all"):
        writer.path.write_bytes(data[:snaps[-1].offset] + tail)
        assert [c.body for c in iter_records(writer.path)] == bodies[:4]


def test_a_failed_write_leaves_no_broken_record_behind(tmp_path: Path) -> None:
    class DiskFull:
        """The run's file on a disk that fills up half-way through the next write."""

        def __init__(self, fh) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            self.fh.write(data[:len(data) // 2])
            raise OSError(28, "No space left on device")

        def __getattr__(self, name: str):
            return getattr(self.fh, name)

    with WarcWriter(tmp_path, "diskfull", "2024-05-01T00:00:00Z") as writer:
        writer.write(PAGE)
        writer._fh = disk = DiskFull(writer._fh)
        with pytest.raises(OSError):
            writer.write(PDF_DOC)
        writer._fh = disk.fh
        writer.write(GZIPPED)
    assert [c.body for c in iter_records(writer.path)] == [HTML, GZIPPED.body]
    assert run_warcio_check(writer.path).returncode == 0


# --------------------------------------------------------------------------- export

def test_export_copies_records_and_follows_revisits(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with WarcWriter(root, "first", "2024-05-01T00:00:00Z") as w1:
        page, pdf = w1.write(PAGE), w1.write(PDF_DOC)
    cap = read_capture(root, page.warc, page.offset)
    with WarcWriter(root, "second", "2024-05-02T00:00:00Z") as w2:
        rev = w2.write(outcome(PAGE.url, HTML, fetched_at="2024-05-02T00:00:05Z"),
                       Original(cap.url, cap.date, payload_digest(HTML)))
    dest = tmp_path / "out" / "evidence.warc.gz"
    # The revisit's original is found by its Refers-To headers; duplicates are written once.
    assert export(root, [(rev.warc, rev.offset), (pdf.warc, pdf.offset), (rev.warc, rev.offset)],
                  dest) == 3
    got = records(dest)
    assert [r.rec_type for r, _ in got] == ["warcinfo"] + ["revisit", "request", "response",
                                                          "request", "response", "request"]
    assert got[3][1] == HTML and got[5][1] == PDF
    assert run_warcio_check(dest).returncode == 0
    exported = dest.read_bytes()
    for snap in (page, rev, pdf):
        source = (root / snap.warc).read_bytes()
        assert source[snap.offset:_member_end(source, snap.offset)] in exported  # byte for byte
    assert sorted(p.name for p in dest.parent.iterdir()) == ["evidence.warc.gz"]
    # Originals passed explicitly are not duplicated.
    assert export(root, [(page.warc, page.offset), (rev.warc, rev.offset)], dest) == 2
    with pytest.raises(InputError):
        export(root, [("nope.warc.gz", 0)], tmp_path / "out" / "other.warc.gz")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["evidence.warc.gz"]


# --------------------------------------------------------------------------- replay

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.skipif(not (REPLAY_BIN / "wayback").exists(),
                    reason=f"pywb is not installed in {REPLAY_BIN} (make test installs it): replay untested")
def test_pywb_replays_every_capture_byte_for_byte(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    changing = "https://site.example/changing"
    with WarcWriter(root, "first", "2024-05-01T00:00:00Z") as w1:
        first = {"page": (w1.write(PAGE), HTML), "pdf": (w1.write(PDF_DOC), PDF),
                 "gz": (w1.write(GZIPPED), GZ_WIRE),  # served as stored: compressed
                 "old": (w1.write(outcome(changing, b"version one", fetched_at="2024-05-01T10:00:09Z")),
                         b"version one")}
    cap = read_capture(root, first["page"][0].warc, first["page"][0].offset)
    with WarcWriter(root, "second", "2024-05-02T00:00:00Z") as w2:
        second = {"same": (w2.write(outcome(PAGE.url, HTML, fetched_at="2024-05-02T10:00:00Z"),
                                    Original(cap.url, cap.date, payload_digest(HTML))), HTML),
                  "new": (w2.write(outcome(changing, b"version two!", fetched_at="2024-05-02T10:00:09Z")),
                          b"version two!")}
    env = {**os.environ, "PATH": f"{REPLAY_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for args in (["init", "coll"], ["add", "coll", str(root / w1.path.name), str(root / w2.path.name)]):
        subprocess.run([str(REPLAY_BIN / "wb-manager"), *args], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=60)
    port = _free_port()
    log = open(tmp_path / "wayback.log", "wb")
    server = subprocess.Popen([str(REPLAY_BIN / "wayback"), "--port", str(port), "--bind", "127.0.0.1"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "wayback.log").read_text(errors="replace")
            time.sleep(0.2)
        for name, (snap, body) in {**first, **second}.items():
            url = read_capture(root, snap.warc, snap.offset).url
            stamp = re.sub(r"\D", "", snap.time)
            status, got = _get(f"http://127.0.0.1:{port}/coll/{stamp}id_/{url}", **{"Accept-Encoding": "gzip"})
            assert (name, status, got) == (name, 200, body)
        # A client that takes no gzip is served the gzip capture decoded.
        gz_stamp = re.sub(r"\D", "", first["gz"][0].time)
        assert _get(f"http://127.0.0.1:{port}/coll/{gz_stamp}id_/https://site.example/gz") == (200, GZ_TEXT)
        assert read_capture(root, second["same"][0].warc, second["same"][0].offset).record_type == "revisit"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
