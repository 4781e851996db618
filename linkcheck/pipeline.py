"""The order of the stages: extract, collect, gate, fetch, classify — the one module that knows it."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from aiohttp.abc import AbstractResolver

from . import __version__, classify
from .collect import collect
from .config import Config, Settings
from .errors import InputError
from .extract import extract_file, find_documents
from .fetch import Clock, Fetcher
from .model import Citation, ErrorKind, FetchOutcome, Reason, Result, RunReport, Target, Verdict
from .policy import AddressPolicy, Gate, ip_is_public
from .urls import placeholder_reason, split_fragment

__all__ = ["check", "extract_documents", "run_check"]

# Failures that an unplugged cable also produces; any real answer rules them out.
_NETWORK_DOWN = frozenset({ErrorKind.DNS_NOT_FOUND, ErrorKind.DNS_FAILURE, ErrorKind.CONNECTION,
                           ErrorKind.TIMEOUT})
_DNS = frozenset({ErrorKind.DNS_NOT_FOUND, ErrorKind.DNS_FAILURE})

Progress = Callable[[int, int], None]


def _display(path: Path) -> str:
    """A document's name in reports: relative to the working folder when it lies below it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:
        return str(path)


def extract_documents(paths: Sequence[Path]) -> tuple[list[Path], list[Citation]]:
    """Every document under `paths` and every citation in them, in document order."""
    documents = find_documents(list(paths))
    citations: list[Citation] = []
    for doc in documents:
        citations.extend(extract_file(doc, _display(doc)))
    return documents, citations


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _result(target: Target, judgement: classify.Judgement, outcome: FetchOutcome | None = None) -> Result:
    return Result(
        url=target.url, verdict=judgement.verdict, reason=judgement.reason, detail=judgement.detail,
        http_status=outcome.status if outcome else None,
        final_url=outcome.final_url if outcome and (outcome.status or outcome.hops) else None,
        redirects=outcome.hops if outcome else (), citations=target.citations,
        reference_id=target.reference.id if target.reference else None,
        suggested_url=judgement.suggested_url)


def _wants_body(target: Target) -> bool:
    return bool(target.fragment or (target.reference and target.reference.quote))


def _order(result: Result) -> tuple[str, str, int]:
    """Reports list results by URL, and placeholders (all "#") by where they are cited."""
    first = result.citations[0] if result.citations else None
    return (result.url, first.document if first else "", (first.line or 0) if first else 0)


def _looks_offline(outcomes: Sequence[FetchOutcome], fetcher: Fetcher) -> bool:
    """Every fetch failed the way a dead network fails: names did not resolve, no name
    resolved at all, and no server answered. Then the probe decides."""
    return (fetcher.responses == 0 and fetcher.resolver.resolved == 0
            and any(o.error in _DNS for o in outcomes)
            and all(o.error in _NETWORK_DOWN for o in outcomes))


async def run_check(config: Config, paths: Sequence[Path] = (), *, settings: Settings | None = None,
                    need_body: bool = True, resolver: AbstractResolver | None = None,
                    clock: Clock | None = None, progress: Progress | None = None,
                    is_public: AddressPolicy = ip_is_public) -> RunReport:
    """Check every citation of the documents (default: the config's) and every reference URL."""
    settings = settings or config.settings
    started = _now()
    documents, citations = extract_documents(paths or config.documents) if (paths or config.documents) else ([], [])
    if not documents and not config.references:
        raise InputError(str(config.path or "."), "no documents to check and no references registered")
    targets = collect(citations, config.references)
    gate = Gate.from_settings(settings.exclude, settings.allow_private, is_public)

    judged: dict[int, Result] = {}
    to_fetch: dict[str, list[int]] = {}
    for i, target in enumerate(targets):
        reason = placeholder_reason(target.url)
        if reason is not None:
            judged[i] = _result(target, classify.placeholder(target, reason))
            continue
        pre = gate.precheck(target.url)
        if pre is not None:
            judged[i] = _result(target, classify.Judgement(*pre))
            continue
        to_fetch.setdefault(split_fragment(target.url)[0], []).append(i)

    done = len(judged)
    total = len(targets)
    if progress:
        progress(done, total)
    offline = False
    async with Fetcher(settings, resolver=resolver, clock=clock, is_public=is_public) as fetcher:

        async def one(url: str, members: list[int]) -> FetchOutcome:
            nonlocal done
            # Each distinct URL is fetched once, with its whole body when a citation needs it;
            # its targets are judged at once, while other fetches still wait on the network.
            outcome = await fetcher.fetch(url, need_body=need_body or any(_wants_body(targets[i]) for i in members))
            for i in members:
                judged[i] = _result(targets[i], classify.classify(targets[i], outcome), outcome)
            done += len(members)
            if progress:
                progress(done, total)
            return outcome

        outcomes = await asyncio.gather(*(one(url, members) for url, members in to_fetch.items()))
        if _looks_offline(outcomes, fetcher):
            offline = not await fetcher.resolver.probe(settings.online_probe_hosts)

    if offline:
        down = classify.Judgement(Verdict.ERROR, Reason.OFFLINE,
                                  "not checked: the checker's own network is down (no name resolved, no server answered)")
        for members in to_fetch.values():
            for i in members:
                judged[i] = _result(targets[i], down)

    results = tuple(sorted(judged.values(), key=_order))
    return RunReport(id=uuid.uuid4().hex, started=started, finished=_now(), tool_version=__version__,
                     results=results, offline=offline, documents=tuple(_display(d) for d in documents))


def check(config: Config, paths: Sequence[Path] = (), **kwargs: object) -> RunReport:
    """Synchronous entry point: `run_check` in a fresh event loop."""
    return asyncio.run(run_check(config, paths, **kwargs))  # type: ignore[arg-type]
