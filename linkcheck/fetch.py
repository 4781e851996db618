"""The crawler: one aiohttp session per run, bounded concurrency, retries, redirects followed by hand.

It records what happened for each URL as a FetchOutcome and never raises for a link;
deciding what that means is classify's job."""
from __future__ import annotations

import asyncio
import errno
import random
import socket
import ssl
import time
from dataclasses import replace
from http.cookies import BaseCookie
from typing import Protocol
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from . import __version__, coding
from .budget import ByteBudget
from .classify import unfetched
from .config import Settings
from .evidence import is_html
from .hosts import HostDown, HostScheduler, host_key
from .mime import effective_type, needs_sniff
from .policy import AddressPolicy, Gate, ip_is_public
from .resolver import PolicyResolver, PrivateAddressError
from .retry import parse_retry_after, retry_delay
from .times import utc_now
from .urls import from_header, host_is_usable, normalise, scheme_and_host, split_fragment
from .wire import ErrorKind, FetchOutcome, Hop

__all__ = ["Clock", "Fetcher", "SystemClock", "USER_AGENT", "map_exception"]

USER_AGENT = (f"linkcheck/{__version__} (citation and link-integrity checker; "
              f"aiohttp/{aiohttp.__version__})")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
# Pages we read to judge (soft 404, bot walls) but need not keep in full.
_SNIFF_BYTES = 256 * 1024
_CHUNK = 64 * 1024


class Clock(Protocol):
    """Time as the fetcher sees it: injected so retry tests do not wait."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def map_exception(exc: BaseException) -> tuple[ErrorKind, str]:
    """aiohttp's exception tree to our ErrorKind, most specific class first (DNS and TLS
    errors are subclasses of the connector error)."""
    if isinstance(exc, asyncio.TimeoutError):  # includes ServerTimeoutError, ConnectionTimeoutError
        return ErrorKind.TIMEOUT, ""
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError)):
        reason = getattr(getattr(exc, "certificate_error", None), "verify_message", None)
        return ErrorKind.TLS, str(reason or getattr(exc, "strerror", None) or exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, PrivateAddressError):
            return ErrorKind.PRIVATE_ADDRESS, str(os_error)
        if isinstance(os_error, socket.gaierror) or isinstance(exc, aiohttp.ClientConnectorDNSError):
            nxdomain = getattr(os_error, "errno", None) in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))
            return (ErrorKind.DNS_NOT_FOUND if nxdomain else ErrorKind.DNS_FAILURE), f"{exc.host}"
        if isinstance(os_error, ConnectionRefusedError):
            return ErrorKind.CONNECTION_REFUSED, f"{exc.host}:{exc.port}"
        if isinstance(os_error, ssl.SSLError):
            return ErrorKind.TLS, str(os_error)
        return ErrorKind.CONNECTION, str(os_error or exc)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError,
                        BrokenPipeError)) or (isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS):
        return ErrorKind.CONNECTION_RESET, str(exc) or exc.__class__.__name__
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return ErrorKind.UNSUPPORTED_SCHEME, str(exc)
    if isinstance(exc, (aiohttp.InvalidURL, ValueError, UnicodeError)):
        return ErrorKind.INVALID_URL, str(exc)
    return ErrorKind.CONNECTION, f"{exc.__class__.__name__}: {exc}"


def _ssl_context() -> ssl.SSLContext:
    """The system trust store; OpenSSL reads SSL_CERT_FILE / SSL_CERT_DIR, which is how
    organisations with their own CA point every client at it."""
    return ssl.create_default_context()


class _Chain:
    """The cookies of one redirect chain. Sites that set a cookie on a redirect expect it back;
    no other URL sees it, so a verdict never depends on which URL went first. Made on the
    first Set-Cookie: most chains set none."""

    __slots__ = ("jar",)

    def __init__(self) -> None:
        self.jar: aiohttp.CookieJar | None = None

    def __len__(self) -> int:
        return len(self.jar) if self.jar is not None else 0

    def cookies_for(self, url: URL) -> BaseCookie[str] | None:
        return self.jar.filter_cookies(url) if self.jar is not None and len(self.jar) else None

    def keep(self, resp: aiohttp.ClientResponse) -> None:
        if "Set-Cookie" in resp.headers:
            if self.jar is None:
                self.jar = aiohttp.CookieJar(unsafe=True)
            self.jar.update_cookies(resp.cookies, resp.url)


_UNANSWERED = frozenset({ErrorKind.TIMEOUT, ErrorKind.CONNECTION_REFUSED})


class Fetcher:
    """Fetches URLs politely: a global limit and one scheduler per host name (a limit across its
    ports and schemes, a pause after Retry-After, no more tries once it stops answering),
    retries with backoff, every redirect hop recorded and re-checked against the address policy."""

    def __init__(self, settings: Settings, *, resolver: AbstractResolver | None = None,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 is_public: AddressPolicy = ip_is_public) -> None:
        self.settings = settings
        self.resolver = PolicyResolver(resolver, allow_private=settings.allow_private, is_public=is_public)
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.gate = Gate.from_settings(settings.exclude, settings.allow_private, is_public)
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts = HostScheduler(settings.per_host, self.clock, pause_cap=settings.retry_after_cap)
        self._session: aiohttp.ClientSession | None = None
        self._tls: ssl.SSLContext | None = None  # built on the first https URL: it costs a read of the trust store
        self.responses = 0  # HTTP answers received: proof that our own network works
        # Bytes of bodies held at once, across every response of the run.
        self.budget = ByteBudget(settings.max_bytes_in_flight)

    async def __aenter__(self) -> Fetcher:
        connector = aiohttp.TCPConnector(resolver=self.resolver, limit=self.settings.concurrency, limit_per_host=0,
                                         ttl_dns_cache=300)
        # One deadline per request, from sending to the body's last byte: a connect or read timer of
        # the same length could never fire first, and a read timer is re-armed on every chunk.
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        # No jar for the run: each redirect chain keeps its own cookies (_Chain).
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            headers={"User-Agent": self.settings.user_agent or USER_AGENT,
                     "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8",
                     "Accept-Encoding": coding.ACCEPT_ENCODING},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str, *, need_body: bool = True, peek: bool = True,
                    hold: bool = False) -> FetchOutcome:
        """Fetch one URL (its fragment is ignored), retrying transient failures.

        `need_body`: keep the whole body (capped) as evidence; otherwise only an HTML page's
        first bytes are read, for the soft-404 check, unless `peek` is false (an embedded
        image or video: reachability is all that is judged). With `settings.head_first` and no
        body needed, the chain is first followed with HEAD, and again with GET when HEAD ends
        anywhere but a non-HTML 2xx answer (an error, a loop, too many hops, a 405 ...).

        Bodies are read within the run's byte budget. With `hold`, the body's bytes stay counted
        until `release(outcome)`, so that pages waiting to be judged count too."""
        url, _ = split_fragment(url)
        attempt = 0
        while True:
            outcome = await self._attempt(url, need_body, peek)
            delay = retry_delay(outcome, attempt, self.settings.retries, self.settings.retry_after_cap, self.rng)
            if delay is not None and outcome.error in _UNANSWERED:
                delay = None if self._hosts.is_down(host_key(scheme_and_host(url)[1])) else delay
            if delay is not None or not hold:  # an answer thrown away for a retry holds nothing
                self.release(outcome)
            if delay is None:
                return outcome if attempt == 0 else replace(outcome, attempts=attempt + 1)
            attempt += 1
            await self.clock.sleep(delay)

    def release(self, outcome: FetchOutcome) -> None:
        """The outcome's body is no longer held (it was judged): its bytes leave the budget."""
        if outcome.body:
            self.budget.give(len(outcome.body))
        if outcome.wire_body is not None and outcome.wire_body is not outcome.body:
            self.budget.give(len(outcome.wire_body))

    async def _attempt(self, url: str, need_body: bool, peek: bool) -> FetchOutcome:
        """HEAD when the body is not wanted and the settings ask for it; servers lie on HEAD
        (loops, 405, resets), so any trouble means GET for the whole chain."""
        if self.settings.head_first and not need_body:
            head = await self._follow(url, "HEAD", False, peek)
            if (head.error is None and head.status is not None and 200 <= head.status < 300
                    and not is_html(head.content_type)):
                return head
        return await self._follow(url, "GET", need_body, peek)

    async def _follow(self, url: str, method: str, need_body: bool, peek: bool) -> FetchOutcome:
        """One chain: follow redirects by hand so every hop is recorded and re-checked."""
        hops: list[Hop] = []
        # URL -> cookies held when we asked for it: coming back with new cookies is how
        # cookie-setting redirects work; coming back with none new is a loop.
        visited: dict[str, int] = {}
        chain = _Chain()
        current = url
        for _ in range(self.settings.max_redirects + 1):
            scheme, hostname = scheme_and_host(current)
            if scheme not in ("http", "https"):
                return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.UNSUPPORTED_SCHEME,
                                    error_detail=current, final_url=current)
            if hops:  # the cited URL itself was judged before the fetch
                refused = self._hop_refusal(current, hostname or "")
                if refused is not None:
                    kind, detail = refused
                    return FetchOutcome(url, hops=tuple(hops), error=kind, error_detail=detail, final_url=current)
            refusal = self.gate.address_refusal(hostname or "")
            if refusal is not None:
                return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.PRIVATE_ADDRESS,
                                    error_detail=unfetched(refusal).detail, final_url=current)
            host = host_key(hostname)
            visited[current] = len(chain)
            try:
                answer = await self._send(method, current, need_body, peek, chain, scheme, host, url, tuple(hops))
            except HostDown as exc:
                return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.HOST_DOWN, error_detail=str(exc),
                                    final_url=current)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a value
                kind, detail = map_exception(exc)
                if kind in _UNANSWERED:
                    self._hosts.unanswered(host)
                return FetchOutcome(url, hops=tuple(hops), error=kind, error_detail=detail, final_url=current)
            location = answer.header("Location") if answer.status in _REDIRECTS else None
            if location and answer.status is not None:
                hops.append(Hop(current, answer.status))
                try:
                    current = split_fragment(normalise(urljoin(current, from_header(location.strip()))))[0]
                except ValueError:
                    return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.INVALID_URL,
                                        error_detail=from_header(location))
                if current in visited and visited[current] == len(chain):
                    return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.REDIRECT_LOOP,
                                        error_detail=f"back to {current}", final_url=current)
                continue
            return answer
        return FetchOutcome(url, hops=tuple(hops), error=ErrorKind.TOO_MANY_REDIRECTS,
                            error_detail=f"more than {self.settings.max_redirects}", final_url=current)

    def _hop_refusal(self, url: str, host: str) -> tuple[ErrorKind, str] | None:
        """A redirect hop is never requested when no client could (a host no URL may hold) or
        the settings exclude it."""
        if not host_is_usable(host):
            return ErrorKind.INVALID_URL, url
        pattern = self.gate.excluded(url)
        if pattern is not None:
            return ErrorKind.EXCLUDED, f"{url} (excluded by the pattern {pattern!r})"
        return None

    async def _send(self, method: str, url: str, need_body: bool, peek: bool, chain: _Chain, scheme: str, host: str,
                    origin: str, hops: tuple[Hop, ...]) -> FetchOutcome:
        """One request within the host's and the run's limits (the caller's split of `url` reused): its
        answer as the outcome of the chain from `origin` through `hops`, should it be the last."""
        held = await self._hosts.acquire(host)
        try:
            async with self._global:
                return await self._request(method, url, need_body, peek, chain, scheme, host, origin, hops)
        finally:
            self._hosts.release(held)

    async def _request(self, method: str, url: str, need_body: bool, peek: bool, chain: _Chain, scheme: str,
                       host: str, origin: str, hops: tuple[Hop, ...]) -> FetchOutcome:
        assert self._session is not None
        target = URL(url, encoded=True)
        async with self._session.request(method, target, allow_redirects=False, cookies=chain.cookies_for(target),
                                         ssl=self._tls_for(scheme)) as resp:
            self.responses += 1
            retry_after = self._answered(host, resp)
            chain.keep(resp)
            content_type = resp.headers.get("Content-Type", "")
            headers = tuple(resp.headers.items())
            body = wire = None
            truncated = False
            if method == "GET":
                limit = self._body_limit(resp.status, content_type, need_body, peek)
                if limit:
                    body, wire, truncated = await _read_capped(resp, limit, self.budget)
                # Untyped: taken as a browser would (the stored headers stay as sent).
                content_type = effective_type(content_type, body)
            version = f"{resp.version.major}.{resp.version.minor}" if resp.version else "1.1"
            sent = tuple(resp.request_info.headers.items())
            return FetchOutcome(origin, status=resp.status, final_url=url, hops=hops, content_type=content_type,
                                headers=headers, body=body, body_truncated=truncated, method=method,
                                retry_after=retry_after, request_headers=sent, reason_phrase=resp.reason or "",
                                http_version=version, fetched_at=utc_now(precise=True), wire_body=wire)

    def _answered(self, host: str, resp: aiohttp.ClientResponse) -> float | None:
        """The host is there; if it asked us to wait, the pause begins before its slot is let go.
        Returns the Retry-After in seconds, if any."""
        self._hosts.answered(host)
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is not None and resp.status in (429, 503):
            self._hosts.pause(host, retry_after)
        return retry_after

    def _tls_for(self, scheme: str) -> ssl.SSLContext | bool:
        if scheme.lower() != "https":
            return True  # aiohttp's default; plain HTTP never uses it
        if self._tls is None:
            self._tls = _ssl_context()
        return self._tls

    def _body_limit(self, status: int, content_type: str, need_body: bool, peek: bool = True) -> int:
        """How much of a body to read: all of it (capped) when it is evidence, a sniff when
        only its words matter (soft 404, bot walls), nothing otherwise."""
        if 200 <= status < 300 and need_body:
            return self.settings.max_body_bytes
        if 200 <= status < 300 and peek and (is_html(content_type) or needs_sniff(content_type)):
            return min(_SNIFF_BYTES, self.settings.max_body_bytes)
        if status in (401, 403, 429):
            return min(_SNIFF_BYTES, self.settings.max_body_bytes)
        return 0


async def _read_capped(resp: aiohttp.ClientResponse, limit: int,
                       budget: ByteBudget) -> tuple[bytes, bytes | None, bool]:
    """(decoded body, body as sent when it has a content coding, truncated): at most `limit` bytes
    off the wire and `limit` decoded, within the run's byte budget, both counted. A huge, endless or
    decompression-bomb body costs no more, and many at once no more than the budget. The chunks are
    joined once, trimmed before they are kept. The bytes kept stay taken from the budget."""
    encoding = resp.headers.get("Content-Encoding", "").strip()
    decoder = coding.decoder_for(encoding, limit) if encoding else None
    chunks: list[bytes] = []
    wire: list[bytes] | None = [] if encoding and encoding.lower() != "identity" else None
    held = size = 0
    try:
        async for chunk in resp.content.iter_chunked(_CHUNK):
            chunk = chunk[:limit - size] if size + len(chunk) > limit else chunk
            size += len(chunk)
            await budget.take(len(chunk), chunks)
            held += len(chunk)
            (chunks if wire is None or decoder is None else wire).append(chunk)
            for piece in decoder.feed(chunk) if decoder is not None else ():
                await budget.take(len(piece), chunks)
                held += len(piece)
                chunks.append(piece)
            if size >= limit or (decoder is not None and decoder.full):
                break
        else:
            return _joined(chunks, wire, decoder, False)
        return _joined(chunks, wire, decoder, True)
    except ValueError as exc:  # as aiohttp itself reports a body it cannot decode
        budget.give(held)
        raise aiohttp.ClientPayloadError(f"{encoding}: {exc}") from None
    except BaseException:
        budget.give(held)
        raise
    finally:
        budget.finished(chunks)


def _joined(chunks: list[bytes], wire: list[bytes] | None, decoder: coding.Decoder | None,
            truncated: bool) -> tuple[bytes, bytes | None, bool]:
    body = b"".join(chunks)
    if wire is None:
        return body, None, truncated
    return body, (b"".join(wire) if decoder is not None else body), truncated
