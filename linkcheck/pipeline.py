"""The order of the stages: extract, collect, gate, fetch, classify — the one module that knows it."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from urllib.parse import urljoin

from aiohttp.abc import AbstractResolver

from . import __version__, classify, evidence, fragments
from .cited import CitedBaselines, Found, dated_sources
from .collect import collect
from .config import Config, Settings
from .doi import Work, doi_of, doi_url
from .errors import InputError
from .extract import extract_file, find_documents
from .facts import Fact, Unchecked, Unreached
from .feed import drain
from .fetch import Clock, Fetcher
from .files import write_atomic
from .history import CachedResult, TrendInfo
from .hosts import host_key
from .localfile import look_up
from .model import (
    HISTORY_MISSING,
    LOST,
    Citation,
    ErrorKind,
    FetchOutcome,
    Reason,
    Reference,
    Result,
    RunReport,
    Snapshot,
    Target,
    Verdict,
)
from .policy import AddressPolicy, Gate, ip_is_public
from .reading import Reader, Request
from .redact import redact
from .reports import json as report_json
from .store import EvidenceStore, last_report_path
from .times import utc_now
from .urls import is_relative, is_root_relative, placeholder_reason, scheme_and_host, split_fragment

__all__ = ["extract_documents", "run_check"]

# Failures that an unplugged cable also produces; any real answer rules them out.
_NETWORK_DOWN = frozenset({ErrorKind.DNS_NOT_FOUND, ErrorKind.DNS_FAILURE, ErrorKind.CONNECTION,
                           ErrorKind.TIMEOUT, ErrorKind.HOST_DOWN})
_DNS = frozenset({ErrorKind.DNS_NOT_FOUND, ErrorKind.DNS_FAILURE})

Progress = Callable[[int, int], None]


def _display(path: Path) -> str:
    """A document's name in reports: relative to the working folder when it lies below it."""
    try:
        relative = os.path.relpath(path)
        return relative if not relative.startswith("..") else str(path)
    except ValueError:
        return str(path)


def extract_documents(paths: Sequence[Path]) -> tuple[list[Path], list[Citation]]:
    """Every document under `paths` and every citation in them, in document order."""
    documents = find_documents(list(paths))
    citations: list[Citation] = []
    for doc in documents:
        citations.extend(extract_file(doc, _display(doc)))
    return documents, citations


# The history fields of a result no earlier run is asked about (the Result's defaults).
_NO_HISTORY = TrendInfo(None, 0, None, None)


def _result(target: Target, judgement: classify.Judgement, outcome: FetchOutcome | None = None,
            snapshot: Snapshot | None = None, comparison: classify.Comparison | None = None, *,
            history: TrendInfo = _NO_HISTORY, baseline_note: str | None = None) -> Result:
    """The result of a target as judged; with its `history` (the store's `trend`) and the snapshot
    as shown, it is the result `EvidenceStore.note` would make of it, built once."""
    drifted = judgement.reason is Reason.CONTENT_DRIFT and comparison is not None
    read = comparison is not None and judgement.reason is not Reason.UNREADABLE
    lost = tuple(was for was, _ in comparison.figures_lost) if comparison is not None and read else ()
    return Result(
        url=target.url, verdict=judgement.verdict, reason=judgement.reason, detail=judgement.detail,
        http_status=outcome.status if outcome else None,
        final_url=outcome.final_url if outcome and (outcome.status or outcome.hops) else None,
        redirects=outcome.hops if outcome else (), citations=target.citations,
        reference_id=target.reference.id if target.reference else None,
        suggested_url=judgement.suggested_url, snapshot=snapshot,
        similarity=comparison.similarity if comparison else None,
        changes=comparison.changes if comparison and drifted else (),
        quotes=comparison.quotes if comparison else (),
        claims=target.claims, figures_found=comparison.figures_found if comparison and read else (),
        figures_not_found=tuple(t for t in comparison.figures_missing if t not in lost) if comparison and read else (),
        figures_lost=lost,
        then_now=comparison.then_now if comparison is not None and judgement.reason in _SHOWN_THEN else None,
        first_failed=history.first_failed, consecutive_failures=history.consecutive_failures,
        last_ok=history.last_ok, trend=history.trend, baseline_note=baseline_note)


# The reasons a result shows the cited sentence then and now for.
_SHOWN_THEN = frozenset({Reason.QUOTE_MISSING, Reason.FIGURE_MISSING})


def _wants_body(target: Target) -> bool:
    return bool(target.fragment or any(ref.quote for ref in target.references) or target.claims)


def _reading_request(outcome: FetchOutcome, members: Sequence[Target], settings: Settings) -> Request:
    """What to read in a 2xx body for the targets fetched with it: the soft-404 and sign-in signals
    of an HTML page, its ids when an element fragment is cited, the quotes, text fragments and PDF
    pages and the figures their citations state. Embedded images and media need no reading."""
    if (outcome.body is None or outcome.status is None or not 200 <= outcome.status < 300
            or all(t.embedded for t in members)):
        return Request()
    html = evidence.is_html(outcome.content_type)
    if not any(_wants_body(t) for t in members):  # no fragment, quote or figure: the page's signals alone
        return Request(outcome, tuple(members), page=html, threshold=settings.drift_threshold)
    final = outcome.final_url or outcome.url
    cited = [fragments.parse(t.fragment, final) for t in members]
    anchors = html and any(evidence.fragment_checkable(f.element) for f in cited)
    texts = any(ref.quote for t in members for ref in t.references) or any(t.claims for t in members) or any(
        f.texts or f.page is not None for f in cited)
    pdf = outcome.content_type.split(";", 1)[0].strip().lower() == "application/pdf"
    destinations = pdf and any(evidence.fragment_checkable(f.element) for f in cited)
    return Request(outcome, tuple(members), page=html, anchors=anchors, texts=texts, destinations=destinations,
                   threshold=settings.drift_threshold)


def _order(result: Result) -> tuple[str, str, int]:
    """Reports list results by URL, and placeholders (all "#") by where they are cited."""
    first = result.citations[0] if result.citations else None
    return (result.url, first.document if first else "", (first.line or 0) if first else 0)


def _looks_offline(errors: Sequence[ErrorKind | None], fetcher: Fetcher) -> bool:
    """Every fetch failed the way a dead network fails: names did not resolve, no name
    resolved at all, and no server answered. Then the probe decides."""
    return (fetcher.responses == 0 and fetcher.resolver.resolved == 0
            and any(error in _DNS for error in errors)
            and all(error in _NETWORK_DOWN for error in errors))


def _fetch_url(target: Target, doi_resolver: str) -> str:
    """Where a target is fetched: a DOI at the configured resolver, anything else as cited."""
    doi = doi_of(target.url)
    return doi_url(doi, doi_resolver) if doi is not None else target.url


def _prejudge(targets: Sequence[Target], gate: Gate,
              doi_resolver: str) -> tuple[dict[int, Result], dict[str, list[int]]]:
    """Verdicts for targets never fetched, and the rest grouped by the URL to fetch."""
    judged: dict[int, Result] = {}
    to_fetch: dict[str, list[int]] = {}
    for i, target in enumerate(targets):
        reason = placeholder_reason(target.url)
        if reason is not None:
            judged[i] = _result(target, classify.placeholder(target, reason))
            continue
        url = _fetch_url(target, doi_resolver)
        fact: Fact | None
        if _root_relative(target):
            fact = Unchecked(Unreached.NO_SITE, target.url)
        else:
            fact = look_up(target) if is_relative(url) else gate.precheck(url)
        if fact is not None:
            judged[i] = _result(target, classify.unfetched(fact))
            continue
        to_fetch.setdefault(split_fragment(url)[0], []).append(i)
    return judged, to_fetch


def _host_of(url: str) -> str:
    try:
        return host_key(scheme_and_host(url)[1])
    except ValueError:
        return ""


def _root_relative(target: Target) -> bool:
    """Written as `/about` (the target's own URL may be a local file's absolute path)."""
    if target.citations:
        return is_root_relative(target.citations[0].url)
    return target.reference is not None and is_root_relative(target.reference.url or "")


def _on_site(citations: list[Citation], references: Sequence[Reference],
             base_url: str | None) -> tuple[list[Citation], tuple[Reference, ...]]:
    """Root-relative links (`/about`) resolved against `settings.base_url`, when one is set;
    without it they stay as written and are judged to have no base, never looked for on disk."""
    if not base_url:
        return citations, tuple(references)
    return ([replace(c, url=urljoin(base_url, c.url.strip())) if is_root_relative(c.url) else c for c in citations],
            tuple(replace(r, url=urljoin(base_url, r.url.strip())) if r.url and is_root_relative(r.url) else r
                  for r in references))


def _copyable(result: Result) -> bool:
    return result.verdict in LOST and result.url.startswith(("http://", "https://"))


async def _with_archived_copies(results: list[Result], store: EvidenceStore, settings: Settings) -> list[Result]:
    """Broken and changed results with the snapshot that still shows the evidence, and an
    archived copy: our replay server's, else the Wayback Machine's closest before the failure."""
    failing = [r for r in results if _copyable(r)]
    if not failing:
        return results
    from .wayback import ArchivedCopies, ArchiveEndpoints  # requests, only when something failed

    good = {r.url: kept for r in failing if (kept := store.last_good(r)) is not None}
    replay = settings.archive_replay_url
    own = {url: f"{replay.rstrip('/')}/{''.join(c for c in snap.time or '' if c.isdigit())}/{captured}"
           for url, (snap, captured) in good.items()} if replay else {}
    endpoints = ArchiveEndpoints(availability=settings.archive_availability_url, save=settings.archive_save_url,
                                 timegate=settings.archive_timegate_url, timeout=settings.timeout,
                                 private_hosts=settings.private_hosts)
    if settings.archive_lookup:
        # requests is blocking: the lookups run on a worker thread, spaced politely.
        copies = await asyncio.to_thread(ArchivedCopies(endpoints=endpoints).suggest, failing,
                                         failing_since=lambda r: r.first_failed,
                                         own_snapshot_url=lambda r: own.get(r.url))
    else:
        copies = dict(own)
    def evidence(result: Result) -> Snapshot | None:
        """A broken result shows the last good evidence (never its own "not found" page); a
        changed one shows what the page says now."""
        if result.verdict is not Verdict.BROKEN:
            return result.snapshot
        return store.display(good[result.url][0]) if result.url in good else None

    return [replace(r, archived_url=copies.get(r.url, r.archived_url), snapshot=evidence(r)) if _copyable(r) else r
            for r in results]


def _with_cited_copies(results: list[Result], dated: dict[str, str], store: EvidenceStore) -> list[Result]:
    """A broken source's archived copy is the capture closest before the date it was cited: what
    the author read, not what the page became."""
    def before(result: Result) -> str | None:
        url = split_fragment(result.url)[0]
        return store.memento_before(url, dated[url]) if url in dated else None

    return [replace(r, archived_url=copy) if r.verdict is Verdict.BROKEN and (copy := before(r)) else r
            for r in results]


def _from_cache(target: Target, hit: CachedResult) -> Result:
    judged = classify.reused(hit)
    return Result(url=target.url, verdict=judged.verdict, reason=judged.reason, detail=judged.detail,
                  checked_at=hit.checked_at, http_status=hit.http_status, final_url=hit.final_url,
                  citations=target.citations, reference_id=target.reference.id if target.reference else None,
                  snapshot=hit.snapshot, claims=target.claims)


async def run_check(config: Config, paths: Sequence[Path] = (), *, settings: Settings | None = None,
                    state_dir: Path | None = None, archive: bool = True, cache_ttl: float | None = None,
                    resolver: AbstractResolver | None = None, clock: Clock | None = None,
                    progress: Progress | None = None, is_public: AddressPolicy = ip_is_public,
                    archived_copies: bool = False, expect_history: bool = False) -> RunReport:
    """Check every citation of the documents (default: the config's) and every reference URL.

    With a `state_dir`, evidence is archived (unless `archive` is false), compared with the
    quote and the baseline, and every result recorded in history; without one the run
    keeps nothing. With `archived_copies`, broken and changed evidence gets the last good
    snapshot and an archived copy to cite instead (this asks the Wayback Machine)."""
    settings = settings or config.settings
    run_id, started = uuid.uuid4().hex, utc_now()
    sources = list(paths or config.documents)
    documents, citations = extract_documents(sources) if sources else ([], [])
    if not documents and not config.references:
        raise InputError(str(config.path or "."), "no documents to check and no references registered")
    citations, references = _on_site(citations, config.references, settings.base_url)
    targets = collect(citations, references)
    judged, to_fetch = _prejudge(targets, Gate.from_settings(settings.exclude, settings.allow_private, is_public),
                                 settings.doi_resolver)
    store = (EvidenceStore(state_dir, run_id, started, archive=archive, drift_threshold=settings.drift_threshold)
             if state_dir is not None else None)
    with store if store is not None else nullcontext():
        note = store.note if store is not None else _as_is
        judged = {i: note(result) for i, result in judged.items()}
        done, total = len(judged), len(targets)
        if progress:
            progress(done, total)
        works = _crossref(targets, to_fetch, settings, resolver, is_public)
        reader = Reader(settings.read_timeout, settings.read_max_bytes)
        dated = dated_sources(targets, to_fetch, config.published) if store is not None else {}
        async with (Fetcher(settings, resolver=resolver, clock=clock, is_public=is_public) as fetcher,
                    CitedBaselines({url: day for url, day in dated.items() if store and store.wants_memento(url, day)},
                                   settings, fetcher, resolver=resolver, is_public=is_public) as cited):

            errors: list[ErrorKind | None] = []  # of each fetch; an outcome itself is let go once judged

            async def judge(outcome: FetchOutcome, members: list[int], found: Found | None) -> None:
                snapshot = await store.keep(outcome) if store else None
                shown = store.display(snapshot) if store is not None and snapshot is not None else None
                baseline_note = found.note if found and found.note else None
                request = _reading_request(outcome, [targets[i] for i in members], settings)
                if store is not None:
                    request = store.drift_request(request, outcome, snapshot)
                reading = await reader.read(request)  # once per URL, off the loop unless trivial
                if store is not None:
                    store.remember(outcome, reading)
                known = await works if works is not None and any(doi_of(targets[i].url) for i in members) else {}
                for k, i in enumerate(members):
                    target = targets[i]
                    quoted = reading.comparison(k)
                    comparison = store.compare(target, outcome, quoted, reading) if store else quoted
                    work = known.get(doi_of(target.url) or "")
                    judgement = classify.classify(target, outcome, comparison, work, reading)
                    # Built once with what `note` adds: the history fields, the snapshot as shown.
                    history = _NO_HISTORY if store is None else store.trend(
                        redact(target.url), target.reference.id if target.reference else None,
                        judgement.verdict, judgement.reason)
                    judged[i] = _result(target, judgement, outcome, shown, comparison, history=history,
                                        baseline_note=baseline_note)

            async def one(url: str, members: list[int]) -> None:
                nonlocal done
                hits = [store.cached(targets[i], cache_ttl, started) for i in members] if store else []
                if hits and all(hits):
                    judged.update((i, note(_from_cache(targets[i], hit)))
                                  for i, hit in zip(members, hits, strict=True) if hit)
                else:
                    # Fetched once however often cited.
                    # Embedded images and media are neither archived nor read: reaching them is the check.
                    linked = [i for i in members if not targets[i].embedded]
                    wants_body = (archive and bool(linked)) or any(_wants_body(targets[i]) for i in members)
                    # What the source said when it was cited becomes its baseline before it is judged.
                    found = await cited.found(url)
                    if found is not None and store is not None:
                        await store.adopt(found)
                    outcome = await fetcher.fetch(url, need_body=wants_body, peek=bool(linked), hold=True)
                    errors.append(outcome.error)
                    try:
                        # Judged only after the request that was waiting for this slot has gone out:
                        # slots kept busy are what bounds a crawl, so sending comes before judging.
                        await asyncio.sleep(0)
                        await judge(outcome, members, found)
                    finally:
                        fetcher.release(outcome)  # its body leaves the run's byte budget
                done += len(members)
                if progress:
                    progress(done, total)

            try:
                # Bounded: a few hundred URLs in progress, whatever the number cited.
                await drain(((_host_of(url), url) for url in to_fetch), lambda url: one(url, to_fetch[url]),
                            limit=2 * settings.concurrency, per_host=2 * settings.per_host)
            finally:
                if works is not None and not works.done():
                    works.cancel()  # every DOI's result came from the cache: nothing waits for it
            offline = _looks_offline(errors, fetcher) and not await fetcher.resolver.probe(
                settings.online_probe_hosts)
        if offline:
            down = classify.unfetched(Unchecked(Unreached.OFFLINE))
            judged.update((i, note(_result(targets[i], down))) for members in to_fetch.values() for i in members)
        results = sorted(judged.values(), key=_order)
        if store is not None and archived_copies and not offline:
            results = await _with_archived_copies(results, store, settings)
        if store is not None and dated:
            results = _with_cited_copies(results, dated, store)
        previous = store.previous_runs() if store is not None else ()
        report = RunReport(id=run_id, started=started, finished=utc_now(), tool_version=__version__,
                           results=tuple(results), offline=offline, documents=tuple(_display(d) for d in documents),
                           previous_runs=previous, history=_history(store is not None, bool(previous), expect_history))
        if store is not None:
            store.finish(report.results, report.finished, report.summary, offline=offline)
    if state_dir is not None:  # kept so that `linkcheck report` can render it again
        write_atomic(last_report_path(state_dir), report_json.chunks(report))
    return report


def _crossref(targets: Sequence[Target], to_fetch: dict[str, list[int]], settings: Settings,
              resolver: AbstractResolver | None, is_public: AddressPolicy) -> asyncio.Task[dict[str, Work]] | None:
    """Crossref's records of the DOIs to fetch, asked while the fetches run (None: none to ask)."""
    dois = [d for members in to_fetch.values() for i in members if (d := doi_of(targets[i].url))]
    if not dois or not settings.crossref_lookup:
        return None
    from .crossref import lookup_works  # only when a DOI is cited

    return asyncio.create_task(lookup_works(
        dois, api=settings.crossref_api, contact=settings.contact_email, timeout=settings.timeout,
        allow_private=settings.allow_private, resolver=resolver, is_public=is_public))


def _history(kept: bool, found: bool, expected: bool) -> str | None:
    """What the run found of earlier runs: None when it keeps no state."""
    if not kept:
        return None
    return "found" if found else HISTORY_MISSING if expected else "new"


def _as_is(result: Result) -> Result:
    return result
