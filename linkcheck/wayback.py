"""Archived copies of failing evidence, and asking the Wayback Machine to capture good evidence."""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.__version__ import __version__ as _requests_version

from . import __version__
from .memento import accept_datetime, links, memento_time, stamp_time
from .model import LOST, Result
from .redact import shareable
from .retry import parse_retry_after
from .times import parse_time

__all__ = ["ArchiveEndpoints", "ArchivedCopies", "SaveOutcome", "USER_AGENT", "closest_copy",
           "credentials_from_env", "new_session", "save_page_now"]

USER_AGENT = (f"linkcheck/{__version__} (citation and link-integrity checker; "
              f"requests/{_requests_version})")
ACCESS_KEY_ENV, SECRET_ENV = "LINKCHECK_WAYBACK_ACCESS_KEY", "LINKCHECK_WAYBACK_SECRET"
# ValueError: bad JSON, unparsable dates; RecursionError: JSON nested too deep to read.
_NETWORK = (requests.RequestException, ValueError, RecursionError)

SaveStatus = Literal["submitted", "rate_limited", "refused", "error"]
_Stop = tuple[SaveStatus, str]  # the status and detail given to every URL not submitted


@dataclass(frozen=True, slots=True)
class ArchiveEndpoints:
    """Where the archive answers; settings, so tests can point them at a local server."""

    availability: str = "https://archive.org/wayback/available"
    save: str = "https://web.archive.org/save"
    # A Memento TimeGate asked when availability has nothing, e.g. "https://web.archive.org/web/".
    timegate: str | None = None
    timeout: float = 20.0
    # Hosts never named to the archive (settings.private_hosts, regexes on the host name).
    private_hosts: tuple[str, ...] = ()

    def shareable(self, url: str) -> bool:
        """A URL with a credential in it, or on a private host, is never sent to the archive."""
        return shareable(url, tuple(re.compile(p) for p in self.private_hosts))


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What Save Page Now said about one URL; `job_id`/`archived_url` only when the answer gave one."""

    url: str
    status: SaveStatus
    job_id: str | None = None
    archived_url: str | None = None
    detail: str = ""


def new_session() -> requests.Session:
    """A session that says who is asking, so archive operators can tell us apart from scrapers."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _instant(value: str) -> datetime:
    """ISO 8601 (as history stores it) or a 14-digit Wayback timestamp, as aware UTC."""
    return _utc(datetime.strptime(value, "%Y%m%d%H%M%S") if re.fullmatch(r"\d{14}", value)
                else datetime.fromisoformat(value))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def _prefer_https(url: str) -> str:
    # Only archive.org is known to serve every snapshot over https; another archive may not.
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and (host == "archive.org" or host.endswith(".archive.org")):
        return "https://" + url[len("http://"):]
    return url


def _from_availability(url: str, before: datetime | None, session: requests.Session,
                       endpoints: ArchiveEndpoints) -> str | None:
    params = {"url": url} | ({"timestamp": _stamp(before)} if before else {})
    resp = session.get(endpoints.availability, params=params, timeout=endpoints.timeout)
    if resp.status_code != 200:
        return None
    body: Any = resp.json()
    snapshots = body.get("archived_snapshots") if isinstance(body, dict) else None
    closest = snapshots.get("closest") if isinstance(snapshots, dict) else None
    if not isinstance(closest, dict) or closest.get("available") is not True:
        return None
    status, snap, stamp = str(closest.get("status", "")), closest.get("url"), str(closest.get("timestamp", ""))
    if not status.startswith("2") or not isinstance(snap, str) or not snap:
        return None
    # The API answers the closest snapshot in either direction; one taken after the failure
    # would show the broken page, not the evidence.
    if before and (not re.fullmatch(r"\d{14}", stamp) or stamp > _stamp(before)):
        return None
    return _prefer_https(snap)


def _from_timegate(url: str, before: datetime | None, session: requests.Session,
                   endpoints: ArchiveEndpoints) -> str | None:
    headers = {"Accept-Datetime": accept_datetime(before or datetime.now(timezone.utc))}
    # No redirects and a streamed body: the memento's address is all we need, not its bytes.
    with session.get(f"{endpoints.timegate}{url}", headers=headers, timeout=endpoints.timeout,
                     allow_redirects=False, stream=True) as resp:
        mementos = {uri: params for uri, params in links(resp.headers.get("Link", ""))
                    if "memento" in params.get("rel", "").split()}
        target = resp.headers.get("Location") if resp.is_redirect else None
        target = target or next(iter(mementos), None)
        if not target:
            return None
        dated = mementos.get(target, {}).get("datetime") or resp.headers.get("Memento-Datetime")
        memento = urljoin(resp.url, target)
    when = memento_time(dated) or stamp_time(memento)
    # A memento of unknown date cannot be shown to predate the failure, so it does not count.
    if before and (when is None or parse_time(when) > before):
        return None
    return _prefer_https(memento)


def closest_copy(url: str, before: str | None, *, session: requests.Session,
                 endpoints: ArchiveEndpoints) -> str | None:
    """The archived copy closest to (and not after) `before`, or None; never raises for the network.

    `before` is ISO 8601 or a 14-digit timestamp; a malformed one is the caller's bug (ValueError).
    Asks the availability API, then the Memento TimeGate when `endpoints.timegate` is set.
    """
    return _closest(url, before, session, endpoints)[0]


def _closest(url: str, before: str | None, session: requests.Session,
             endpoints: ArchiveEndpoints) -> tuple[str | None, bool]:
    """(the copy or None, whether the archive could not be reached at all)."""
    when = _instant(before) if before else None
    url = url.partition("#")[0]  # archives key on the resource, never the fragment
    unreachable = True
    for lookup in [_from_availability] + ([_from_timegate] if endpoints.timegate else []):
        try:
            found = lookup(url, when, session, endpoints)
            unreachable = False
        except _NETWORK as exc:
            found = None
            # No connection at all (no route, no DNS, no answer in time), as opposed to a bad answer.
            unreachable = unreachable and isinstance(exc, (requests.ConnectionError, requests.Timeout))
        if found:
            return found, False
    return None, unreachable


class ArchivedCopies:
    """Suggests a copy of each broken or changed source: our own snapshot, else the Wayback Machine's."""

    def __init__(self, *, session: requests.Session | None = None,
                 endpoints: ArchiveEndpoints = ArchiveEndpoints(), max_lookups: int = 50,
                 delay: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.session = session or new_session()
        self.endpoints, self.max_lookups, self.delay = endpoints, max_lookups, delay
        self._sleep, self._now = sleep, now

    def suggest(self, results: Sequence[Result], *, failing_since: Callable[[Result], str | None],
                own_snapshot_url: Callable[[Result], str | None]) -> dict[str, str]:
        """{result.url: archived URL} for broken/changed results that have a copy.

        Lookups are sequential, spaced by `delay`, and capped at `max_lookups` a run: the
        Wayback Machine is a shared public service, and a long bibliography must not flood it.
        When it cannot be reached at all, the remaining lookups are not tried (nor waited for).
        """
        found: dict[str, str] = {}
        lookups = 0
        reachable = True
        for result in results:
            if result.verdict not in LOST or result.url in found:
                continue
            own = own_snapshot_url(result)
            if own:
                found[result.url] = own
                continue
            if lookups >= self.max_lookups or not reachable or not self.endpoints.shareable(result.url):
                continue  # later results may still have snapshots of our own
            if lookups:
                self._sleep(self.delay)
            lookups += 1
            before = failing_since(result) or self._now().isoformat()
            copy, unreachable = _closest(result.url, before, self.session, self.endpoints)
            reachable = not unreachable
            if copy:
                found[result.url] = copy
        return found


def credentials_from_env(env: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
    """(access key, secret) for Save Page Now from the environment; blank counts as unset."""
    return env.get(ACCESS_KEY_ENV) or None, env.get(SECRET_ENV) or None


def _judge(url: str, resp: requests.Response | SaveOutcome,
           endpoints: ArchiveEndpoints) -> tuple[SaveOutcome, _Stop | None]:
    """The outcome of one POST, and why to stop submitting, if the answer says so."""
    if isinstance(resp, SaveOutcome):
        return resp, None
    code = resp.status_code
    if code == 429:
        return SaveOutcome(url, "rate_limited", detail="HTTP 429"), ("rate_limited", "not submitted: rate limited")
    if code in (401, 403):
        return SaveOutcome(url, "refused", detail=f"HTTP {code}"), ("refused", f"not submitted: refused (HTTP {code})")
    if not (200 <= code < 300 or resp.is_redirect):
        return SaveOutcome(url, "error", detail=f"HTTP {code}"), None
    try:
        body: Any = resp.json()
    except (ValueError, RecursionError):
        body = None
    body = body if isinstance(body, dict) else {}
    if body.get("status") == "error":  # SPN2 answers some refusals (daily quota, excluded site) with 200
        return SaveOutcome(url, "error", detail=str(body.get("message") or body.get("status_ext"))), None
    place = resp.headers.get("Content-Location") or (resp.headers.get("Location") if resp.is_redirect else None)
    job = body.get("job_id")
    return SaveOutcome(url, "submitted", job_id=str(job) if job else None,
                       archived_url=urljoin(endpoints.save, place) if place else None,
                       detail=str(body.get("message") or f"HTTP {code}")), None


def save_page_now(urls: Sequence[str], *, session: requests.Session, endpoints: ArchiveEndpoints,
                  access_key: str | None = None, secret: str | None = None,
                  sleep: Callable[[float], None] = time.sleep, delay: float = 5.0,
                  max_requests: int = 20, retry_after_cap: float = 60.0) -> dict[str, SaveOutcome]:
    """Ask Save Page Now to capture each URL; every URL gets an outcome, submitted or not.

    Sequential, `delay` apart, at most `max_requests` URLs a run. The first 429 is waited out
    once (its Retry-After, up to the cap; a longer demand is not retried early); the next stops
    the run, as does 401/403. The secret goes only to `endpoints.save` (no redirects followed)
    and is never logged.
    """
    headers = {"Accept": "application/json"}
    if access_key and secret:
        headers["Authorization"] = f"LOW {access_key}:{secret}"

    def post(url: str) -> requests.Response | SaveOutcome:
        try:
            return session.post(endpoints.save, data={"url": url}, headers=headers,
                                timeout=endpoints.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return SaveOutcome(url, "error", detail=type(exc).__name__)

    out: dict[str, SaveOutcome] = {}
    sent, waited = 0, False
    stop: _Stop | None = None
    for url in dict.fromkeys(urls):
        if not endpoints.shareable(url):
            out[url] = SaveOutcome(url, "refused", detail="not submitted: private host or credentials in the URL")
            continue
        if stop is None and sent >= max_requests:
            stop = ("rate_limited", f"not submitted: over {max_requests} requests this run")
        if stop:
            out[url] = SaveOutcome(url, stop[0], detail=stop[1])
            continue
        if sent:
            sleep(delay)
        resp, sent = post(url), sent + 1
        if isinstance(resp, requests.Response) and resp.status_code == 429 and not waited:
            waited = True
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            wait = retry_after_cap if wait is None else wait  # no hint: the longest we would wait
            if wait <= retry_after_cap:
                sleep(wait)
                resp = post(url)
        out[url], stop = _judge(url, resp, endpoints)
    return out
