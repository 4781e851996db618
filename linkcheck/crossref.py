"""Asking Crossref about DOIs: each work's title and update notices, politely and within a budget."""
from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from urllib.parse import quote

import aiohttp
from aiohttp.abc import AbstractResolver

from . import __version__
from .doi import Work, work_from_json
from .policy import AddressPolicy, ip_is_public
from .resolver import PolicyResolver

__all__ = ["CONCURRENCY", "MAX_BYTES", "MAX_TIMEOUT", "lookup_works", "user_agent"]

# Crossref's public pool asks clients to keep to a few requests at a time.
CONCURRENCY = 2
# A work record is a few kilobytes; one with thousands of references is rarely over a megabyte.
MAX_BYTES = 4 * 1024 * 1024
# Metadata is a side light on the verdict: it never holds a run up for long.
MAX_TIMEOUT = 10.0


def user_agent(contact: str | None) -> str:
    """Crossref's etiquette: say who is asking and how to reach them."""
    mail = f"; mailto:{contact}" if contact else ""
    return f"linkcheck/{__version__} (citation and link-integrity checker{mail})"


class _Lookups:
    """The run's lookups: once Crossref fails to answer, the rest are not tried (nor waited for)."""

    def __init__(self, session: aiohttp.ClientSession, api: str, contact: str | None) -> None:
        self.session, self.api, self.contact = session, api, contact
        self.gate = asyncio.Semaphore(CONCURRENCY)
        self.down: str | None = None

    async def one(self, doi: str) -> Work:
        async with self.gate:
            if self.down is not None:
                return Work(doi, unavailable=f"{self.down}, earlier in this run")
            work = await _one(self.session, self.api, doi, self.contact)
            # A 4xx other than 429 is about this DOI (a malformed one); anything else about Crossref.
            if work.unavailable and not re.match(r"HTTP 4(?!29)", work.unavailable):
                self.down = work.unavailable
            return work


async def _one(session: aiohttp.ClientSession, api: str, doi: str, contact: str | None) -> Work:
    url = f"{api.rstrip('/')}/works/{quote(doi, safe='/')}"
    params = {"mailto": contact} if contact else None
    try:
        async with session.get(url, params=params, allow_redirects=False) as resp:
            if resp.status == 404:
                return Work(doi, found=False)
            if resp.status != 200:
                return Work(doi, unavailable=f"HTTP {resp.status}")
            body = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > MAX_BYTES:
                    break
            if len(body) > MAX_BYTES:
                return Work(doi, unavailable="the record is larger than we read")
        return work_from_json(doi, json.loads(body))
    except asyncio.TimeoutError:
        return Work(doi, unavailable="no answer in time")
    except (aiohttp.ClientError, OSError) as exc:
        return Work(doi, unavailable=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except (ValueError, RecursionError):  # RecursionError: arrays or objects nested too deep to read
        return Work(doi, unavailable="the answer is not JSON")


async def lookup_works(dois: Iterable[str], *, api: str, contact: str | None = None, timeout: float = MAX_TIMEOUT,
                       allow_private: bool = False, resolver: AbstractResolver | None = None,
                       is_public: AddressPolicy = ip_is_public) -> dict[str, Work]:
    """{doi: Work} for each distinct DOI: one GET `{api}/works/{doi}` each, at most two at a time,
    each within `timeout` (capped at MAX_TIMEOUT). Never raises for the network: a Crossref
    that is down, slow or private (without `allow_private`) gives a Work saying so."""
    wanted = list(dict.fromkeys(dois))
    if not wanted:
        return {}
    policy = PolicyResolver(resolver, allow_private=allow_private, is_public=is_public)
    budget = min(timeout, MAX_TIMEOUT)
    connector = aiohttp.TCPConnector(resolver=policy, limit=CONCURRENCY)
    async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=budget, sock_connect=budget),
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": user_agent(contact), "Accept": "application/json"}) as session:
        lookups = _Lookups(session, api, contact)
        works = await asyncio.gather(*(lookups.one(doi) for doi in wanted))
    return dict(zip(wanted, works, strict=True))
