"""The run-wide byte budget: how many bytes of response bodies a run holds at once."""
from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["ByteBudget"]


class ByteBudget:
    """Bytes of bodies held across all responses of a run, from the first chunk read until the
    page is judged. A reader takes each chunk's size before keeping it and waits while the budget
    is spent; first come, first served.

    A body being read holds its bytes while it waits for more. When every byte held belongs to a
    body that waits, nothing would ever be given back: the oldest of them is then favoured and
    reads on regardless to its end. The run holds at most the budget plus one body, and never stalls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self.peak = 0
        self._reading: dict[int, int] = {}  # id(reader) -> bytes it holds, while it reads
        self._waiters: deque[tuple[int, object, asyncio.Future[None]]] = deque()
        self._favoured: object | None = None

    def _fits(self, size: int) -> bool:
        return self.held == 0 or self.held + size <= self.limit

    async def take(self, size: int, reader: object) -> None:
        """Wait until `reader` (one body being read) may hold `size` more bytes."""
        if reader is self._favoured or (not self._waiters and self._fits(size)):
            self._grant(size, reader)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, reader, waiter)
        self._waiters.append(entry)
        self._wake()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give(size)  # granted just as it was cancelled: hand it back
                self._reading[id(reader)] = self._reading.get(id(reader), size) - size
            else:
                self._waiters.remove(entry)
                self._wake()
            raise

    def finished(self, reader: object) -> None:
        """`reader` is read to its end (or abandoned); its bytes stay held until `give`."""
        self._reading.pop(id(reader), None)
        if reader is self._favoured:
            self._favoured = None
        self._wake()

    def give(self, size: int) -> None:
        """`size` bytes are no longer held: the page was judged, or the answer thrown away."""
        self.held -= size
        self._wake()

    def _grant(self, size: int, reader: object) -> None:
        self.held += size
        self.peak = max(self.peak, self.held)
        self._reading[id(reader)] = self._reading.get(id(reader), 0) + size

    def _wake(self) -> None:
        while self._waiters:
            size, reader, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
            elif self._fits(size):
                self._waiters.popleft()
                self._release(size, reader, waiter)
            elif not self._stuck():
                return

    def _stuck(self) -> bool:
        """Every byte held belongs to a body that waits for more: favour the oldest of them."""
        if self._favoured is not None or self.held != sum(self._reading.values()):
            return False
        waiting = {id(reader) for _, reader, waiter in self._waiters if not waiter.done()}
        if not self._reading or not set(self._reading) <= waiting:
            return False
        entry = next(e for e in self._waiters if id(e[1]) in self._reading and not e[2].done())
        self._waiters.remove(entry)
        self._favoured = entry[1]
        self._release(entry[0], entry[1], entry[2])
        return True

    def _release(self, size: int, reader: object, waiter: asyncio.Future[None]) -> None:
        self._grant(size, reader)
        waiter.set_result(None)
