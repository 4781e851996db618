"""Name resolution with the address policy enforced on the addresses actually connected to."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from .policy import AddressPolicy, ip_is_public

__all__ = ["PolicyResolver", "PrivateAddressError", "StaticResolver"]


class PrivateAddressError(OSError):
    """Every address of a name is non-public; raised inside aiohttp's connector, mapped by fetch."""


class StaticResolver(AbstractResolver):
    """Resolves from a fixed table (tests, and sites pinned by configuration); unknown names fail
    as NXDOMAIN does."""

    def __init__(self, table: Mapping[str, str | list[str]], failure: int = socket.EAI_NONAME) -> None:
        self._table = {k.lower(): [v] if isinstance(v, str) else list(v) for k, v in table.items()}
        self._failure = failure

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = self._table.get(host.lower().rstrip("."))
        if not addresses:
            raise socket.gaierror(self._failure, "Name or service not known")
        return [ResolveResult(hostname=host, host=a, port=port,
                              family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for a in addresses]

    async def close(self) -> None:
        return None


class PolicyResolver(AbstractResolver):
    """Wraps a resolver, drops non-public addresses (unless allowed) and counts outcomes.

    The check sits here, not on the URL, because a public-looking name can resolve to
    169.254.169.254; aiohttp connects only to what this returns. The counts tell the
    pipeline whether the checker's own network is down."""

    def __init__(self, inner: AbstractResolver | None = None, *, allow_private: bool = False,
                 is_public: AddressPolicy = ip_is_public) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()
        self.allow_private = allow_private
        self.is_public = is_public
        self.resolved = 0
        self.failed = 0

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError:
            self.failed += 1
            raise
        self.resolved += 1
        if self.allow_private:
            return results
        public = [r for r in results if self.is_public(ipaddress.ip_address(r["host"].split("%", 1)[0]))]
        if not public:
            refused = ", ".join(sorted({r["host"] for r in results}))
            raise PrivateAddressError(f"{host} resolves only to non-public addresses ({refused})")
        return public

    async def probe(self, hosts: tuple[str, ...], timeout: float = 5.0) -> bool:
        """True when any of some well-known names resolves: is our own network up?"""

        async def one(host: str) -> bool:
            try:
                await asyncio.wait_for(self._inner.resolve(host, 443, socket.AF_UNSPEC), timeout)
                return True
            except (OSError, asyncio.TimeoutError):
                return False

        return any(await asyncio.gather(*(one(h) for h in hosts)))

    async def close(self) -> None:
        await self._inner.close()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        state: dict[str, Any] = {"resolved": self.resolved, "failed": self.failed}
        return f"PolicyResolver({state})"
