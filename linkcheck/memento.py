"""Asking web archives for a page as it was on a date: the Memento protocol (RFC 7089).

A TimeGate answers `GET {prefix}{URI-R}` sent with `Accept-Datetime` by redirecting (302) to the
memento (URI-M) closest to that moment, with `Vary: accept-datetime` and a `Link` header naming the
original resource, the TimeMap and often the first, previous, next and last mementos with their
datetimes. The memento itself answers with `Memento-Datetime`. A TimeGate may also answer 200 with
the memento itself (`Memento-Datetime` on the TimeGate's own answer, RFC 7089 section 4.1.2)."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp

from .times import format_time

__all__ = ["ArchiveDown", "Answer", "Memento", "accept_datetime", "ask", "human", "links", "memento_time",
           "raw", "stamp_time", "when_cited"]

# `<uri>; rel="..."; datetime="..."`: one link of a Link header (RFC 8288).
_LINK = re.compile(r'<([^<>]*)>\s*((?:;\s*[A-Za-z*-]+\s*=\s*(?:"[^"]*"|[^;,\s]*)\s*)*)')
_PARAM = re.compile(r';\s*([A-Za-z*-]+)\s*=\s*(?:"([^"]*)"|([^;,\s]*))')
# Wayback-style memento paths, `/web/20201012000000/...` or with a replay modifier (`im_`, `if_`):
# the Internet Archive, pywb (the UK Government Web Archive, arquivo.pt) and OpenWayback all
# serve the bytes as archived, without the rewritten links and banner, under the `id_` modifier.
_STAMP = re.compile(r"/(\d{14})(?:[a-z]{2}_)?/")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# An archive's TimeGate says where the memento is; its body is an HTML note read by nobody.
_MAX_HEADER_ANSWER = 64 * 1024


class ArchiveDown(Exception):
    """The archive did not answer (no connection, no answer in time, a 5xx): nothing is known."""


@dataclass(frozen=True, slots=True)
class Memento:
    """One archived capture: where the archive serves it (URI-M) and when it was captured (None
    until the memento itself says, when the TimeGate's answer did not)."""

    uri: str
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a TimeGate said about a source and a date: the closest memento, and the latest one at or
    before the date (the evidence as it stood when cited), when it named one."""

    closest: Memento | None = None
    before: Memento | None = None


def links(header: str) -> list[tuple[str, dict[str, str]]]:
    """The (URI, parameters) of each link in a Link header; `rel` may hold several space-separated types."""
    out = []
    for match in _LINK.finditer(header):
        params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                  for m in _PARAM.finditer(match.group(2))}
        out.append((match.group(1).strip(), params))
    return out


def when_cited(day: str) -> datetime:
    """The moment a citation date stands for: the end of that day (UTC), so that the captures taken
    during the day the author read the source count as taken before the citation."""
    return datetime.fromisoformat(day[:10]).replace(hour=23, minute=59, second=59, tzinfo=timezone.utc)


def accept_datetime(moment: datetime) -> str:
    """RFC 7089's Accept-Datetime: an HTTP-date (RFC 7231 IMF-fixdate) in GMT."""
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def memento_time(value: str | None) -> str | None:
    """An HTTP-date (Memento-Datetime, a link's `datetime`) as our time format; None when unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return format_time(moment) if moment is not None else None


def stamp_time(uri: str) -> str | None:
    """The 14-digit timestamp in a Wayback-style memento URI, as our time format."""
    stamp = _STAMP.search(urlsplit(uri).path)
    if stamp is None:
        return None
    try:
        return format_time(datetime.strptime(stamp.group(1), "%Y%m%d%H%M%S"))
    except ValueError:
        return None


def raw(uri: str) -> str:
    """Where the memento's bytes are served as archived: Wayback-style archives rewrite the page
    they replay (links, a banner, scripts) unless the timestamp carries the `id_` modifier."""
    return _modified(uri, "id_")


def human(uri: str) -> str:
    """The memento as a reader opens it (the archive's replay, not the raw bytes)."""
    return _modified(uri, "")


def _modified(uri: str, modifier: str) -> str:
    parts = urlsplit(uri)
    stamp = _STAMP.search(parts.path)
    if stamp is None:
        return uri
    path = parts.path[:stamp.start()] + f"/{stamp.group(1)}{modifier}/" + parts.path[stamp.end():]
    return parts._replace(path=path).geturl()


async def ask(session: aiohttp.ClientSession, timegate: str, url: str, moment: datetime) -> Answer:
    """The TimeGate's answer for `url` at `moment`; an empty Answer when the archive has no capture.
    Raises ArchiveDown when the archive did not answer (or answered with a server error)."""
    try:
        async with session.get(f"{timegate}{url}", allow_redirects=False,
                               headers={"Accept-Datetime": accept_datetime(moment)}) as resp:
            await resp.content.read(_MAX_HEADER_ANSWER)  # let the connection be reused
            status, headers, here = resp.status, resp.headers, str(resp.url)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
        raise ArchiveDown(_why(exc)) from exc
    if status >= 500 or status == 429:
        raise ArchiveDown(f"HTTP {status}")
    listed = [(urljoin(here, uri), params) for uri, params in links(headers.get("Link", ""))
              if "memento" in params.get("rel", "").split()]
    if status in _REDIRECTS and headers.get("Location"):
        target = urljoin(here, headers["Location"])
    elif 200 <= status < 300 and headers.get("Memento-Datetime"):
        target = urljoin(here, headers.get("Content-Location") or here)
    else:
        return Answer()  # 404 and the like: the archive holds no capture of it
    dated = {uri: memento_time(params.get("datetime")) for uri, params in listed}
    closest = Memento(target, dated.get(target) or memento_time(headers.get("Memento-Datetime"))
                      or stamp_time(target))
    return Answer(closest, _before(closest, dated, format_time(moment)))


def _before(closest: Memento, dated: dict[str, str | None], limit: str) -> Memento | None:
    """The latest memento at or before `limit` among those the answer named (the closest one, and
    the `prev memento`, `first memento`... links with their datetimes)."""
    known = {uri: time for uri, time in dated.items() if time is not None}
    if closest.time is not None:
        known[closest.uri] = closest.time
    earlier = [(time, uri) for uri, time in known.items() if time <= limit]
    if not earlier:
        return None
    time, uri = max(earlier)
    return Memento(uri, time)


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
