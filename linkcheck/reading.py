"""Reading a fetched body (soft 404, fragments, quotes, main text, drift) in a worker process,
under a time and a size budget, so that no page can hold the crawl."""
from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import content, evidence
from .model import FetchOutcome, Target

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .classify import Comparison

__all__ = ["INLINE_BYTES", "SCAN_BYTES", "Reader", "Reading", "Request", "read_page"]

# A body this small that needs only the soft-404 and fragment readings is read on the loop:
# lxml parses it in about a millisecond, less than a trip to a worker costs.
INLINE_BYTES = 64 * 1024
# A body up to this size asked only whether it is a soft 404 is scanned on the loop first (about
# half a millisecond, at most a few): most pages cannot say "not found" and need no worker at all.
SCAN_BYTES = 256 * 1024
# What one worker may map: far above any page within the size budget, far below what a
# runaway parser would take from the machine.
_WORKER_MEMORY = 2 * 1024 ** 3
# How often a worker looks whether the run that started it is still there.
_WATCH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Request:
    """One answer and what to read in it; sent to a worker as is."""

    outcome: FetchOutcome | None = None      # a 2xx answer with its body
    targets: tuple[Target, ...] = ()         # cited at it: their quotes and fragments are looked for
    page: bool = False                       # title and top headings: the soft-404 and sign-in signals
    anchors: bool = False                    # every id and name: the fragments
    texts: bool = False                      # some target has a quote, a text fragment or a PDF page
    destinations: bool = False               # a PDF's named destinations: its `#name` fragments
    drift: bool = False                      # main text, compared with the baseline's
    text: str | None = None                  # the body's main text, when known from an earlier run
    baseline_text: str | None = None
    baseline_body: bytes | None = None       # when the baseline's text is not known yet
    baseline_type: str = ""
    threshold: float = content.DEFAULT_DRIFT_THRESHOLD

    @property
    def body(self) -> bytes:
        return (self.outcome.body if self.outcome is not None else None) or b""

    @property
    def wanted(self) -> bool:
        return self.outcome is not None and (self.page or self.anchors or self.texts or self.drift
                                             or self.destinations)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.baseline_body or b"")

    def for_worker(self) -> Request:
        """What a worker needs of the request, and no more (it is pickled both ways): of the headers
        only a Content-Encoding (a coding left on the body makes it unreadable), not the body as
        sent (it reads the decoded one), and of each target its references, claims and fragment,
        not its citations."""
        outcome = self.outcome
        if outcome is not None and (outcome.headers or outcome.request_headers or outcome.wire_body is not None):
            coding = outcome.header("Content-Encoding")
            outcome = replace(outcome, headers=(("Content-Encoding", coding),) if coding else (), request_headers=(),
                              wire_body=None)
        targets = tuple(replace(t, citations=()) if t.citations else t for t in self.targets)
        return replace(self, outcome=outcome, targets=targets)

    @property
    def light(self) -> bool:
        """Cheap enough to read on the loop: a small page's headings and ids."""
        return not (self.texts or self.drift or self.destinations) and len(self.body) <= INLINE_BYTES

    def plainly_says_nothing(self) -> bool:
        """Asked only whether it is a soft 404 (no ids, texts or drift, no redirect after which to
        look for a sign-in form), of a body the loop may scan that cannot say "not found":
        `read_page` would say nothing of it, known without a worker."""
        outcome = self.outcome
        return (outcome is not None and outcome.body is not None and not outcome.hops and self.page
                and not (self.anchors or self.texts or self.drift or self.destinations)
                and len(outcome.body) <= SCAN_BYTES
                and not evidence.may_say_not_found(outcome.body, outcome.content_type))


@dataclass(frozen=True, slots=True)
class Reading:
    """What a body says. `unreadable` names the budget reached (or why the body could not be
    read); the other fields are then empty."""

    page: evidence.Page | None = None
    comparisons: tuple[Comparison | None, ...] = ()  # one for each target of the request, in order
    pdf_names: frozenset[str] | None = None  # None: not asked for, or the PDF could not be opened
    text: str | None = None
    baseline_text: str | None = None
    similarity: float | None = None
    changes: tuple[str, ...] = ()
    drift_unreadable: str | None = None  # why a drifted page's text may have been misread
    unreadable: str | None = None

    def comparison(self, index: int) -> Comparison | None:
        return self.comparisons[index] if index < len(self.comparisons) else None


# What a body says when nothing was asked of it, or nothing found: one value for every such page.
_NOTHING = Reading()


def read_page(request: Request) -> Reading:
    """Every reading of one body, in one place: a check added to evidence, content or the store's
    `quote_comparison` runs here, in the worker, under the budgets, with no change to the crawl."""
    outcome = request.outcome
    if outcome is None or outcome.body is None:
        return _NOTHING
    page = None
    # The soft-404 signal alone (no fragment, no redirect to look for a sign-in form at) needs a
    # parse only when a title or heading can say "not found": most pages cannot.
    if request.anchors or (request.page and (outcome.hops or evidence.may_say_not_found(outcome.body,
                                                                                      outcome.content_type))):
        page = evidence.parse_page(outcome.body, outcome.content_type, anchors=request.anchors,
                                   sign_in=bool(outcome.hops))
    names = None
    if request.destinations and not outcome.body_truncated:
        names = evidence.pdf_destinations(outcome.body)
    comparisons: tuple[Comparison | None, ...] = ()
    if request.texts:
        from .store import quote_comparison  # the store's imports, in the worker only when needed

        comparisons = tuple(quote_comparison(target, outcome) for target in request.targets)
    if not request.drift:
        nothing = page is None and not comparisons and names is None  # most pages: nothing said
        return _NOTHING if nothing else Reading(page=page, comparisons=comparisons, pdf_names=names)
    after = request.text if request.text is not None else content.main_text(outcome.body, outcome.content_type)
    before = request.baseline_text
    if before is None and request.baseline_body is not None:
        before = content.main_text(request.baseline_body, request.baseline_type)
    if before is None:
        return Reading(page=page, comparisons=comparisons, pdf_names=names, text=after)
    similarity = content.similarity(before, after)
    changes: tuple[str, ...] = ()
    why = None
    if similarity < request.threshold:
        changes = content.word_diff(before, after)
        why = content.why_unreadable(outcome.body, outcome.content_type, truncated=outcome.body_truncated,
                                    coding=outcome.header("Content-Encoding") or "") or None
    return Reading(page=page, comparisons=comparisons, pdf_names=names, text=after, baseline_text=before,
                   similarity=similarity, changes=changes, drift_unreadable=why)


def _start_worker(run_pid: int) -> None:
    """Cap a worker's address space: a bomb that slips past the size budget fails there. And
    leave with the run: killed outright (SIGKILL), it never tells its workers, which would wait on
    their queue forever, and keep the forkserver that made them, idle but alive."""
    if os.name == "posix":  # os.kill(pid, 0) only asks on POSIX; on Windows it would kill
        threading.Thread(target=_leave_with, args=(run_pid,), daemon=True).start()
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _WORKER_MEMORY if hard == resource.RLIM_INFINITY else min(_WORKER_MEMORY, hard)
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass  # no such limit on this platform: the time budget still holds


def _leave_with(run_pid: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        try:
            os.kill(run_pid, 0)
        except (ProcessLookupError, PermissionError):  # gone, or its number now another owner's
            os._exit(0)


class _Pool:
    """The worker processes, started on the first heavy reading and shared by the runs of this
    process; forkserver (or spawn) workers, never forked from a threaded loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._started: ProcessPoolExecutor | None = None  # the executor whose workers are up
        self.workers = max(1, min(2, os.cpu_count() or 1))

    def get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # Imported here: most runs read every page on the loop and never start a worker.
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                methods = multiprocessing.get_all_start_methods()
                context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
                self._executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                                     initargs=(os.getpid(),))
                atexit.register(self._forget)
            return self._executor

    async def submit(self, executor: ProcessPoolExecutor, request: Request) -> Future[Reading]:
        """Hand a reading to `executor`. The first hand-over to an executor starts its worker
        processes, a wait of a tenth of a second or more: that one is made from a thread, so that
        the loop goes on sending and receiving meanwhile."""
        if executor is self._started:
            return executor.submit(read_page, request)
        future = await asyncio.to_thread(executor.submit, read_page, request)
        self._started = executor
        return future

    def _forget(self) -> None:
        """At exit, let the executor go while the modules it needs still stand: imported on first
        use, they are torn down before this one, and its last callback would find them gone."""
        with self._lock:
            self._executor = self._started = None
        atexit.unregister(self._forget)

    def replace(self, executor: ProcessPoolExecutor) -> None:
        """Kill the workers of `executor` (one of them overran its budget); the next reading
        starts new ones. Readings in flight there fail with BrokenProcessPool and are retried."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
            if self._started is executor:
                self._started = None
        processes = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)


_POOL = _Pool()


class Reader:
    """Reads bodies for one run: small plain readings on the loop, and larger pages that the scan
    finds cannot be soft 404s; the rest in a worker within `seconds`; a body over `max_bytes` is
    not parsed at all. Past a budget the Reading says which."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._slots = asyncio.Semaphore(_POOL.workers)  # a reading's clock starts when a worker takes it

    async def read(self, request: Request) -> Reading:
        if not request.wanted:
            return _NOTHING
        if request.size > self.max_bytes:
            return Reading(unreadable=f"the page is {request.size:,} bytes, over the reading budget of "
                                      f"{self.max_bytes:,} bytes (read_max_bytes); not read")
        if request.light:
            return read_page(request)
        if request.plainly_says_nothing():
            return _NOTHING
        async with self._slots:
            for _ in range(3):
                executor = _POOL.get()
                try:
                    future = await _POOL.submit(executor, request.for_worker())
                except (BrokenExecutor, RuntimeError):
                    _POOL.replace(executor)
                    continue
                try:
                    return await asyncio.wait_for(asyncio.wrap_future(future), self.seconds)
                except TimeoutError:
                    _POOL.replace(executor)
                    return Reading(unreadable=f"reading the page took longer than the budget of {self.seconds:g} s "
                                              "(read_timeout); not read")
                except BrokenExecutor:  # the pool's BrokenProcessPool
                    _POOL.replace(executor)  # another reading overran, or a worker died: try in a new one
                except MemoryError:
                    return Reading(unreadable="reading the page needed more memory than a reader may use; not read")
                except Exception as exc:  # noqa: BLE001 - a parser's failure is the page's, not the run's
                    return Reading(unreadable=f"the page could not be read ({type(exc).__name__})")
        return Reading(unreadable="the page could not be read: its reader process died")
