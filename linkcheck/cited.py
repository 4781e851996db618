"""Baselines from when a source was cited: the run's Memento lookups, asked while the crawl goes on.

A source with a date (its reference's `accessed`, a citation's "accessed ...", else the register's
`published`) and no baseline of our own is looked up once: the TimeGates of
`settings.memento_timegates` are asked in order for the capture closest to that date, and the
first one found is fetched (through the run's Fetcher: its address policy, size and time limits)
to become the source's baseline. An archive that is down, slow or holds no capture changes no
verdict: the result carries a note, and the lookups of the whole run end at one deadline."""
from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from .config import Settings
from .fetch import USER_AGENT, Fetcher
from .memento import Answer, ArchiveDown, Memento, ask, human, memento_time, raw, when_cited
from .model import FetchOutcome, Target
from .policy import AddressPolicy
from .redact import shareable
from .resolver import PolicyResolver
from .times import format_time

__all__ = ["CONCURRENCY", "CitedBaselines", "Found", "dated_sources"]

# Archives are shared public services: a long bibliography is looked up a few sources at a time.
CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Found:
    """What the archives gave for one source and its citation date. `memento` (with the bytes in
    `outcome`) becomes the baseline; `before` is the latest capture at or before the date, the
    archived copy a broken source points to. `final` answers are remembered: the source is not
    looked up again (an archive that did not answer is asked again next run)."""

    url: str
    cited: str
    memento: Memento | None = None
    before: Memento | None = None
    outcome: FetchOutcome | None = None
    note: str | None = None
    final: bool = True


def dated_sources(targets: Sequence[Target], to_fetch: Mapping[str, Sequence[int]],
                  published: str | None) -> dict[str, str]:
    """{URL to fetch: the date its evidence is judged from}: the earliest date a reference or a
    citation of it gives, else the submission's `published` date."""
    out = {}
    for url, members in to_fetch.items():
        if not url.startswith(("http://", "https://")):
            continue
        days = [ref.accessed for i in members for ref in targets[i].references if ref.accessed]
        days += [c.accessed for i in members for c in targets[i].citations if c.accessed]
        day = min(days) if days else published
        if day:
            out[url] = day
    return out


def _host(prefix: str) -> str:
    return urlsplit(prefix).hostname or prefix


class CitedBaselines:
    """The run's lookups: one task per source, started at once, all ended by one deadline."""

    def __init__(self, wanted: Mapping[str, str], settings: Settings, fetcher: Fetcher, *,
                 resolver: AbstractResolver | None = None, is_public: AddressPolicy) -> None:
        private = tuple(re.compile(p) for p in settings.private_hosts)
        # An intranet's addresses, and URLs with credentials in them, are nobody else's business.
        self.wanted = {url: day for url, day in wanted.items() if shareable(url, private)}
        self.timegates = settings.memento_timegates
        self.deadline = settings.memento_deadline
        self.fetcher = fetcher
        self.user_agent = settings.user_agent or USER_AGENT
        self._policy = PolicyResolver(resolver, allow_private=settings.allow_private, is_public=is_public)
        self._per_request = min(settings.timeout, self.deadline)
        self._session: aiohttp.ClientSession | None = None
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._down: dict[str, str] = {}  # TimeGate -> why it is not asked again this run
        self._tasks: dict[str, asyncio.Task[Found]] = {}
        self._start = 0.0

    async def __aenter__(self) -> CitedBaselines:
        if self.wanted and self.timegates:
            timeout = aiohttp.ClientTimeout(total=self._per_request, sock_connect=self._per_request)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=self._policy, limit=CONCURRENCY), timeout=timeout,
                cookie_jar=aiohttp.DummyCookieJar(), headers={"User-Agent": self.user_agent})
            self._start = asyncio.get_running_loop().time()
            self._tasks = {url: asyncio.create_task(self._bounded(url, day)) for url, day in self.wanted.items()}
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def found(self, url: str) -> Found | None:
        """The source's lookup, once done (None: it is not looked up)."""
        task = self._tasks.get(url)
        return await task if task is not None else None

    async def _bounded(self, url: str, day: str) -> Found:
        left = self._start + self.deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(self._lookup(url, day), max(0.0, left))
        except asyncio.TimeoutError:
            return Found(url, day, final=False, note=(
                f"not compared with an archived capture: the archives gave none within {self.deadline:g} s"))
        except Exception as exc:  # noqa: BLE001 - what an archive answers never stops the run
            return Found(url, day, final=False, note=f"not compared with an archived capture: {type(exc).__name__}")

    async def _lookup(self, url: str, day: str) -> Found:
        assert self._session is not None
        moment = when_cited(day)
        unanswered: list[str] = []
        async with self._gate:
            for timegate in self.timegates:
                if timegate in self._down:
                    unanswered.append(f"{_host(timegate)} ({self._down[timegate]})")
                    continue
                try:
                    answer = await ask(self._session, timegate, url, moment)
                except ArchiveDown as exc:
                    self._down[timegate] = str(exc)
                    unanswered.append(f"{_host(timegate)} ({exc})")
                    continue
                if answer.closest is not None:
                    return await self._fetched(url, day, answer)
        if unanswered:
            return Found(url, day, final=False, note="not compared with an archived capture: "
                         + ", ".join(unanswered) + " did not answer")
        return Found(url, day, note=f"no archived capture of it near {day}, when it was cited "
                     f"({', '.join(_host(t) for t in self.timegates)})")

    async def _fetched(self, url: str, day: str, answer: Answer) -> Found:
        """The closest memento's bytes as archived, dated by its Memento-Datetime."""
        assert answer.closest is not None
        outcome = await self.fetcher.fetch(raw(answer.closest.uri), need_body=True)
        time = memento_time(outcome.header("Memento-Datetime")) or answer.closest.time
        shown = human(answer.closest.uri)
        if outcome.status != 200 or outcome.body is None or outcome.body_truncated or time is None:
            why = f"HTTP {outcome.status}" if outcome.status else (outcome.error_detail or "no answer")
            return Found(url, day, before=answer.before, final=False,
                         note=f"not compared with the archived capture {shown}: {why if time else 'it has no date'}")
        earlier = Memento(human(answer.before.uri), answer.before.time) if answer.before else None
        dated = [m for m in (earlier, Memento(shown, time)) if m is not None and m.time is not None
                 and m.time <= format_time(when_cited(day))]
        before = max(dated, key=lambda m: m.time or "", default=None)
        return Found(url, day, Memento(shown, time), before, outcome,
                     note=f"compared with the archived capture of {time} ({shown}), the closest to {day}, "
                          "when it was cited")
