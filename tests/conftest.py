"""Shared fixtures: the loopback web of named behaviours, and an instant clock."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.server import Catalogue, serving


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


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests reach loopback only: any other name lookup in the test process fails at once, so a
    code path that would quietly go to the internet fails its test instead."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name == "localhost" or _loopback(name):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"tests reach loopback only, not {name}")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


def _loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock()


@pytest.fixture
async def web() -> AsyncIterator[tuple[Catalogue, str]]:
    """(catalogue, base URL) of a real aiohttp server on 127.0.0.1."""
    catalogue = Catalogue()
    async with serving(catalogue.app) as base:
        yield catalogue, base
