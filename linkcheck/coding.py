"""HTTP content codings, removed by us rather than the client: the archive keeps a body as the
server sent it, and everything that reads it reads the decoded bytes.

Decoding is incremental and bounded: each piece of input yields at most the room left under the
body cap, so a small compressed body that inflates to gigabytes costs no more than the cap."""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import brotlicffi

__all__ = ["ACCEPT_ENCODING", "Decoder", "decode", "decoder_for", "left_on"]

# What we ask servers for: codings we decode and web archive players replay (never zstd).
ACCEPT_ENCODING = "gzip, deflate, br"


# Decoded bytes handed over at a time: each piece is counted against the run's byte budget
# before the next one is made, so a bomb's expansion is never held uncounted.
_STEP = 64 * 1024


class _Inflater(Protocol):
    def feed(self, data: bytes, room: int) -> bytes:
        """At most `room` decoded bytes; input not yet decoded waits for the next call."""


class _Zlib:
    """gzip (wbits 31, member after member) or deflate; servers send deflate both zlib-wrapped
    (as RFC 9110 says) and raw, so its first two bytes decide."""

    def __init__(self, gzip: bool) -> None:
        self._gzip, self._members, self._pending = gzip, 0, b""
        self._z: zlib._Decompress | None = zlib.decompressobj(31) if gzip else None
        self._started = gzip

    def feed(self, data: bytes, room: int) -> bytes:
        pending, out = self._pending + data, b""
        if not self._started:
            if len(pending) < 2:
                self._pending = pending
                return b""
            wrapped = pending[0] & 0x0F == 8 and (pending[0] << 8 | pending[1]) % 31 == 0
            self._z, self._started = zlib.decompressobj(15 if wrapped else -15), True
        while self._z is not None and len(out) < room:
            z = self._z
            if z.eof:  # a further gzip member; after a deflate stream, bytes mean nothing
                if not (self._gzip and pending):
                    break
                self._z, self._members = zlib.decompressobj(31), self._members + 1
                continue
            try:
                out += z.decompress(pending, room - len(out))
            except zlib.error:
                if not self._members:
                    raise
                self._z, pending = None, b""  # padding after a whole member: ignored, as gzip does
                break
            pending = z.unused_data if z.eof else z.unconsumed_tail
            if not z.eof and not pending and len(out) < room:
                break  # every byte given is decoded
        self._pending = pending
        return out


class _Brotli:
    def __init__(self) -> None:
        self._b = brotlicffi.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        if self._b.is_finished():
            return b""
        out: bytes = self._b.process(data, output_buffer_limit=room)
        return out


_CODINGS: dict[str, Callable[[], _Inflater]] = {
    "gzip": lambda: _Zlib(True), "x-gzip": lambda: _Zlib(True), "deflate": lambda: _Zlib(False), "br": _Brotli}


class _Chain:
    """Codings applied one after another (`Content-Encoding: deflate, gzip`), removed last first:
    what the outer one gives is fed to the inner one, at most `room` bytes at a time."""

    def __init__(self, outer: _Inflater, inner: _Inflater) -> None:
        self._outer, self._inner = outer, inner

    def feed(self, data: bytes, room: int) -> bytes:
        while True:
            middle = self._outer.feed(data, room)
            data = b""
            out = self._inner.feed(middle, room)
            if out or not middle:
                return out


class Decoder:
    """Decodes one body piece by piece, never past `limit` bytes in all; `full` once it is met."""

    def __init__(self, inflater: _Inflater, limit: int) -> None:
        self._inflater, self.limit, self.size = inflater, limit, 0

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def feed(self, data: bytes, step: int = _STEP) -> Iterator[bytes]:
        """The decoded bytes `data` yields, `step` bytes at most at a time, each made only when
        the one before was taken (ValueError for bytes that are not of the coding)."""
        while not self.full:
            try:
                out = self._inflater.feed(data, min(step, self.limit - self.size))
            except (zlib.error, brotlicffi.error) as exc:
                raise ValueError(f"content coding is corrupt: {exc}") from None
            if not out:
                return
            data = b""
            self.size += len(out)
            yield out


def decoder_for(content_encoding: str | None, limit: int) -> Decoder | None:
    """A decoder for the codings named, in the order they were applied, or None: no coding,
    identity, or one we do not know (its bytes are then read as they are, as any client would)."""
    names = _named(content_encoding)
    if not names or any(name not in _CODINGS for name in names):
        return None
    inflater = _CODINGS[names[0]]()
    for name in names[1:]:  # the first applied is removed last: each later one wraps the ones before
        inflater = _Chain(_CODINGS[name](), inflater)
    return Decoder(inflater, limit)


def left_on(content_encoding: str | None) -> str:
    """Why a body's bytes are not its text: a coding left on it (zstd, compress...); "" when none is."""
    if all(name in _CODINGS for name in _named(content_encoding)):
        return ""
    return f"the body is sent in a content coding this checker does not decode ({(content_encoding or '').strip()})"


def _named(content_encoding: str | None) -> list[str]:
    """The codings a Content-Encoding names, in the order applied; identity is none."""
    names = (name.strip() for name in (content_encoding or "").lower().split(","))
    return [name for name in names if name not in ("", "identity")]


def decode(body: bytes, content_encoding: str | None, limit: int) -> tuple[bytes, bool]:
    """(decoded body, cut at `limit`) of a whole stored body. A body that does not decode is
    taken as it is: archives written before codings were kept hold decoded bytes."""
    decoder = decoder_for(content_encoding, limit)
    if decoder is None:
        return body, False
    try:
        out = b"".join(decoder.feed(body, limit))
    except ValueError:
        return body, False
    return out, decoder.full
