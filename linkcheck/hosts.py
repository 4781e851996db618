"""Politeness per host name: a limit on requests in flight, a pause after Retry-After, a breaker for dead hosts."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

__all__ = ["HOST_DOWN_AFTER", "HostDown", "HostScheduler", "host_key"]

# Timeouts or refused connections in a row, with no answer in between, after which a host's
# remaining URLs are not tried: each would only wait out its own timeouts and retries.
HOST_DOWN_AFTER = 5


class _Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


def host_key(hostname: str | None) -> str:
    """What politeness is counted by: the host name alone, whatever the port or scheme."""
    return (hostname or "").lower().rstrip(".")


class HostDown(Exception):
    """The host stopped answering earlier in the run: this request is not sent."""

    def __init__(self, host: str, failures: int) -> None:
        super().__init__(f"{failures} timeouts or refused connections in a row from {host}; not tried")


class _Host:
    """One host's state: O(1) to consult on every request."""

    __slots__ = ("failures", "paused_until", "slots")

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.paused_until = 0.0
        self.failures = 0


class HostScheduler:
    """One per run. Every request to a host name goes through `slot`: at most `per_host` at a
    time across all its ports and schemes, none while the host asked us (Retry-After) to wait."""

    def __init__(self, per_host: int, clock: _Clock, *, pause_cap: float) -> None:
        self._per_host = per_host
        self._clock = clock
        self._pause_cap = pause_cap
        self._hosts: dict[str, _Host] = {}

    def _host(self, key: str) -> _Host:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(self._per_host)
        return host

    async def acquire(self, key: str) -> _Host:
        """Wait for the host's pause to end and for one of its slots; a pause that begins while
        we queued for the slot is waited out too, without holding the slot. Raises HostDown,
        checked once the slot is ours, when the host stopped answering while we queued. A host
        never paused costs no clock reading."""
        host = self._hosts.get(key) or self._host(key)
        while True:
            if host.paused_until:
                wait = host.paused_until - self._clock.now()
                if wait > 0:
                    await self._clock.sleep(wait)
                    continue
            await host.slots.acquire()
            if host.failures >= HOST_DOWN_AFTER:
                host.slots.release()
                raise HostDown(key, host.failures)
            if not host.paused_until or host.paused_until <= self._clock.now():
                return host
            host.slots.release()

    @staticmethod
    def release(host: _Host) -> None:
        host.slots.release()

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """`acquire` and `release` around a block."""
        host = await self.acquire(key)
        try:
            yield
        finally:
            host.slots.release()

    def pause(self, key: str, seconds: float) -> None:
        """The host said when to come back (429/503 Retry-After): nobody asks it anything
        before then, capped so one answer cannot stall the run."""
        host = self._host(key)
        host.paused_until = max(host.paused_until, self._clock.now() + min(max(seconds, 0.0), self._pause_cap))

    def answered(self, key: str) -> None:
        """Any HTTP answer shows the host is there."""
        host = self._hosts.get(key)
        if host is not None:
            host.failures = 0

    def unanswered(self, key: str) -> None:
        """A timeout or a refused connection."""
        self._host(key).failures += 1

    def is_down(self, key: str) -> bool:
        host = self._hosts.get(key)
        return host is not None and host.failures >= HOST_DOWN_AFTER
