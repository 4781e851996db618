"""Shared fixtures: the loopback web of named behaviours, and an instant clock."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from tests.server import Catalogue


class InstantClock:
    """Records every wait instead of sleeping, so retry and Retry-After tests take no time."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._t = 0.0

    def now(self) -> float:
        return self._t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._t += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock()


@pytest.fixture
async def web() -> AsyncIterator[tuple[Catalogue, str]]:
    """(catalogue, base URL) of a real aiohttp server on 127.0.0.1."""
    catalogue = Catalogue()
    server = TestServer(catalogue.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield catalogue, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
