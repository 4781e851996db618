"""A bounded work queue over many hosts: a fixed number of workers instead of one task per URL.

A task per URL created up front costs its coroutine frames, future and scheduler entries for every
URL of a run at once (about 3 KiB each): at 100,000 URLs that alone is hundreds of megabytes. Here
at most `limit` URLs are in progress at any time, and at most `per_host` of them on one host, so
that a document citing one host thousands of times in a row never starves the other hosts."""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

__all__ = ["drain"]


class _Picker:
    """Which URL to start next: round-robin over the hosts that have work and a free place."""

    __slots__ = ("_open", "_per_host", "_queues", "_running", "_wake", "left")

    def __init__(self, items: Iterable[tuple[str, str]], per_host: int) -> None:
        self._queues: dict[str, deque[str]] = {}
        for host, url in items:
            queue = self._queues.get(host)
            if queue is None:
                queue = self._queues[host] = deque()
            queue.append(url)
        self.left = sum(len(q) for q in self._queues.values())
        self._per_host = per_host
        self._running: dict[str, int] = {}
        self._open: deque[str] = deque(self._queues)  # hosts with work and room, each once
        self._wake = asyncio.Event()

    async def take(self) -> tuple[str, str] | None:
        """The next (host, URL) to work on; None when nothing is left to start."""
        while self.left:
            if self._open:
                host = self._open.popleft()
                queue = self._queues[host]
                url = queue.popleft()
                self.left -= 1
                running = self._running[host] = self._running.get(host, 0) + 1
                if queue and running < self._per_host:
                    self._open.append(host)
                elif not queue:
                    del self._queues[host]
                return host, url
            self._wake.clear()
            await self._wake.wait()
        return None

    def done(self, host: str) -> None:
        """One URL of `host` is finished: the host has room again."""
        running = self._running[host] - 1
        if running:
            self._running[host] = running
        else:
            del self._running[host]
        if host in self._queues and running == self._per_host - 1:
            self._open.append(host)
            self._wake.set()
        elif not self.left:
            self._wake.set()  # the workers still waiting may end


async def drain(items: Iterable[tuple[str, str]], work: Callable[[str], Awaitable[None]], *,
                limit: int, per_host: int) -> None:
    """Run `work(url)` for every (host, URL) of `items`, at most `limit` at once and at most
    `per_host` at once per host, each host's URLs in their given order. The first exception
    stops the rest and is raised."""
    picker = _Picker(items, max(1, per_host))

    async def worker() -> None:
        while (taken := await picker.take()) is not None:
            host, url = taken
            try:
                await work(url)
            finally:
                picker.done(host)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(max(1, limit), picker.left))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()  # after a failure: the others stop too (a no-op on those that ended)
