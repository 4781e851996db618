"""The state dir during one run: snapshots into the WARC archive, results and baselines into history."""
from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from . import content, figures, fragments, thennow
from .archive import Original, WarcWriter, capture_digests, read_capture, target_uri, warc_date
from .classify import Comparison
from .history import CachedResult, History, MementoRow, TrendInfo, carried_trend, compute_trend, identity
from .history.write import Capture
from .model import GOOD, FetchOutcome, Reason, Result, Snapshot, Target, Verdict
from .reading import Reading, Request
from .redact import redact
from .times import utc_now

if TYPE_CHECKING:
    from .cited import Found

__all__ = ["EvidenceStore", "archive_dir", "history_path", "last_report_path", "quote_comparison"]



def history_path(state_dir: Path) -> Path:
    return state_dir / "history.sqlite"


def archive_dir(state_dir: Path) -> Path:
    return state_dir / "archive"


def last_report_path(state_dir: Path) -> Path:
    """The last run's report.json, kept so that `linkcheck report` can render it again."""
    return state_dir / "last-report.json"


class EvidenceStore:
    """Keeps what one run saw: every evidence response archived (identical payloads as
    revisits), indexed for seeking, compared with the quote and the baseline, and every
    result recorded so the next run can tell what is new, still broken, or fixed.

    History is only read while the run goes on; `finish` writes the whole run (index rows,
    main texts, results, baselines, the run itself) in one transaction. A run that never gets
    there leaves history as it found it: only its WARC records, which no index row names."""

    def __init__(self, state_dir: Path, run_id: str, started: str, *, archive: bool,
                 drift_threshold: float) -> None:
        self.state_dir = state_dir
        self.run_id = run_id
        self.started = started
        self.archive = archive
        self.drift_threshold = drift_threshold
        self.history: History | None = None
        self.writer: WarcWriter | None = None
        self._seen: dict[str, Original] = {}       # payloads archived in full during this run
        self._pending: list[Capture] = []  # index rows, written when the run finishes
        self._texts: dict[str, str] = {}  # main texts read during this run, by payload sha256
        self._with_baseline: set[str] = set()
        self._archived: set[str] = set()
        self._recent: dict[tuple[str, str], list[tuple[str, str]]] = {}  # earlier verdicts, for trends
        self._drifting: dict[str, tuple[str | None, str, str]] = {}  # URL -> baseline time, its sha, this sha
        self._mementos: dict[tuple[str, str], MementoRow] = {}  # (URL, date cited) -> the archives' answer
        self._asked: list[MementoRow] = []  # answers given during this run
        self._cited: dict[str, tuple[Snapshot, FetchOutcome]] = {}  # URL -> its memento, kept, not yet compared
        self._adopted: dict[str, tuple[Snapshot, str]] = {}  # URL -> its memento kept this run, and its time
        self._shown: dict[str, str] = {}  # WARC file name -> its path as reports show it

    def __enter__(self) -> EvidenceStore:
        self.history = History(history_path(self.state_dir))
        self._with_baseline = self.history.baseline_urls()
        self._archived = self.history.archived_payloads()
        self._recent = self.history.recent_verdicts()
        self._mementos = self.history.memento_answers()
        if self.archive:
            self.writer = WarcWriter(archive_dir(self.state_dir), self.run_id, self.started).__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.writer is not None:
            self.writer.__exit__(exc_type, exc, tb)
        if self.history is not None:
            self.history.close()

    @property
    def _db(self) -> History:
        assert self.history is not None, "EvidenceStore used outside its with-block"
        return self.history

    # -- before fetching ---------------------------------------------------------------------------

    def cached(self, target: Target, ttl: float | None, now: str) -> CachedResult | None:
        """A recent ok result to reuse without a request (never for anything that failed)."""
        if not ttl:
            return None
        return self._db.cached_ok(redact(target.url), ttl, now)

    # -- after fetching ----------------------------------------------------------------------------

    async def keep(self, outcome: FetchOutcome, fields: dict[str, str] | None = None) -> Snapshot | None:
        """Archive the response; a payload already stored becomes a revisit record.

        The records are built on the event loop's own thread (a writer thread building them was
        no faster: that work holds the GIL and stalls the loop for whole switch intervals); only
        a large capture's deflating leaves it."""
        if self.writer is None or outcome.body is None or outcome.status is None or outcome.method != "GET":
            return None
        digests = capture_digests(outcome)
        digest, sha = digests
        original = self._seen.get(sha) or self._stored_original(sha)
        if original is not None and original.digest != digest:
            original = None  # the same content sent with another coding: its bytes are kept
        uri = target_uri(outcome.final_url or outcome.url)
        if original is None:
            self._seen[sha] = Original(uri, warc_date(outcome.fetched_at), digest)
        snapshot = await self.writer.write_off_loop(outcome, original, digests=digests, fields=fields)
        if snapshot is None:
            return None
        # Indexed when the run finishes: until then no later run takes this record for an original.
        self._pending.append((redact(outcome.url), snapshot, outcome.status, digest, original is not None, uri))
        return snapshot

    def _stored_original(self, sha: str) -> Original | None:
        if sha not in self._archived:
            return None
        earlier = self._db.original_for(sha)
        if earlier is None:
            return None
        if earlier.target_uri:
            return Original(earlier.target_uri, earlier.time, earlier.digest)
        # Indexed before target URIs were: the record itself names it.
        stored = read_capture(archive_dir(self.state_dir), earlier.warc, earlier.offset)
        return Original(stored.url, stored.date, earlier.digest)

    # -- baselines from when a source was cited (mementos) ------------------------------------------

    def wants_memento(self, url: str, cited: str) -> bool:
        """Whether to ask the archives about the source: it has no baseline of our own, and they
        were never asked about it for that date."""
        key = redact(url)
        return self.writer is not None and key not in self._with_baseline and (key, cited) not in self._mementos

    def memento_before(self, url: str, cited: str) -> str | None:
        """The archived capture at or before the date the source was cited, as an earlier run found it."""
        row = self._mementos.get((redact(url), cited))
        return row.before_url if row is not None else None

    async def adopt(self, found: Found) -> None:
        """Remember the archives' answer, and make the memento the source's baseline: kept in the WARC
        as a capture of the source itself, dated by its Memento-Datetime, with the URI-M it came from
        in WARC-Source-URI and when we fetched it in WARC-Creation-Date (as pywb records from an archive)."""
        url = redact(found.url)
        if found.final:
            m, b = found.memento, found.before
            row = MementoRow(url, found.cited, utc_now(), m.uri if m else None, m.time if m else None,
                             b.uri if b else None, b.time if b else None)
            self._mementos[(url, found.cited)] = row
            self._asked.append(row)
        if found.memento is None or found.memento.time is None or found.outcome is None:
            return
        fetched = found.outcome
        snapshot = await self.keep(replace(fetched, url=found.url, final_url=found.url, hops=(),
                                           fetched_at=found.memento.time),
                                   fields={"WARC-Source-URI": target_uri(fetched.final_url or fetched.url),
                                           "WARC-Creation-Date": warc_date(fetched.fetched_at)})
        if snapshot is not None:
            self._cited[url] = (snapshot, fetched)
            self._adopted[url] = (snapshot, found.memento.time)

    def drift_request(self, request: Request, outcome: FetchOutcome, snapshot: Snapshot | None) -> Request:
        """`request` with the drift check added when the page has a baseline with other bytes: the
        baseline's main text (or its body, from the archive, when its text was never read) and
        this body's text when an earlier run read the same bytes. Texts are cached by payload hash.
        A memento adopted this run is the baseline, its bytes still at hand."""
        url = redact(outcome.url)  # history knows URLs only as results show them
        cited = self._cited.pop(url, None)
        if (snapshot is None or (url not in self._with_baseline and cited is None) or outcome.body is None
                or outcome.status is None or not 200 <= outcome.status < 300):
            return request
        if cited is not None:
            kept, memento = cited
            if kept.sha256 == snapshot.sha256:
                return request
            return self._drift(request, outcome, snapshot, (kept.time, kept.sha256),
                               self._text_for(kept.sha256), memento.body, memento.content_type)
        baseline = self._db.baseline(url)
        if baseline is None or baseline.sha256 == snapshot.sha256:
            return request
        before = self._text_for(baseline.sha256)
        body, content_type = None, ""
        if before is None:
            row = self._db.original_for(baseline.sha256)
            if row is None:
                return request
            stored = read_capture(archive_dir(self.state_dir), row.warc, row.offset)
            body = stored.body
            content_type = dict((k.lower(), v) for k, v in stored.headers).get("content-type", "")
        return self._drift(request, outcome, snapshot, (baseline.time, baseline.sha256), before, body, content_type)

    def _drift(self, request: Request, outcome: FetchOutcome, snapshot: Snapshot, baseline: tuple[str | None, str],
               before: str | None, body: bytes | None, content_type: str) -> Request:
        self._drifting[outcome.url] = (baseline[0], baseline[1], snapshot.sha256)
        return replace(request, drift=True, text=self._text_for(snapshot.sha256), baseline_text=before,
                       baseline_body=None if before is not None else body, baseline_type=content_type,
                       threshold=self.drift_threshold)

    def remember(self, outcome: FetchOutcome, reading: Reading) -> None:
        """Keep the main texts a drift reading extracted, so that no later run extracts them again."""
        drift = self._drifting.get(outcome.url)
        if drift is None or reading.unreadable:
            return
        _, before_sha, after_sha = drift
        for sha, text in ((before_sha, reading.baseline_text), (after_sha, reading.text)):
            if text is not None and self._text_for(sha) is None:
                self._texts[sha] = text

    def _text_for(self, sha: str) -> str | None:
        return self._texts[sha] if sha in self._texts else self._db.text_for(sha)

    def compare(self, target: Target, outcome: FetchOutcome, quoted: Comparison | None,
                reading: Reading) -> Comparison | None:
        """Quote and drift checks for a page that answered 2xx; None when nothing to compare.
        `quoted` is what `quote_comparison` found for the target, as the reading worked it out."""
        if outcome.status is None or not 200 <= outcome.status < 300 or outcome.body is None:
            return None
        drift = self._drifting.get(outcome.url)
        similarity = reading.similarity if drift is not None else None
        if quoted is None and similarity is None:
            return None
        quoted = quoted or Comparison()
        if similarity is not None and similarity < self.drift_threshold and quoted.unreadable is None:
            quoted = replace(quoted, unreadable=reading.drift_unreadable)
        kept = self._db.last_good_snapshot(redact(target.url)) if quoted.quote_found is False else None
        last_seen = kept[0].time if kept else None  # a good verdict means its quote was there
        if quoted.then_now is not None and kept:
            quoted = replace(quoted, then_now=quoted.then_now.seen(last_seen, self.display(kept[0])))
        quoted = self._figures_lost(quoted, outcome, reading)
        return replace(quoted, quote_last_seen=last_seen, similarity=similarity, threshold=self.drift_threshold,
                       baseline_time=drift[0] if drift is not None and similarity is not None else None,
                       changes=reading.changes if similarity is not None else ())

    def _figures_lost(self, quoted: Comparison, outcome: FetchOutcome, reading: Reading) -> Comparison:
        """Of the figures not on the page, those its baseline had, each with the number now standing
        in its place: in the main texts the drift reading extracted (or an earlier run kept)."""
        drift = self._drifting.get(outcome.url)
        if not quoted.figures_missing or quoted.unreadable or drift is None:
            return quoted
        baseline_time, before_sha, after_sha = drift
        before = reading.baseline_text or self._text_for(before_sha)
        if not before:
            return quoted
        after = reading.text or self._text_for(after_sha) or ""
        had = figures.find_figures(before)
        lost = []
        shown: thennow.ThenAndNow | None = None
        for text in quoted.figures_missing:
            claim = next((c for c in quoted.claims if c.text == text), None)
            if claim is not None and figures.present(claim, had):
                now = figures.stand_in(claim, before, after)
                lost.append((text, now.text if now else None))
                shown = shown or thennow.for_figure(claim, before, after, now)
        if not lost:
            return quoted
        if shown is not None:
            url = redact(outcome.url)
            row = self._db.baseline(url)
            kept = self._adopted[url][0] if url in self._adopted else row.snapshot if row is not None else None
            shown = shown.seen(baseline_time, self.display(kept) if kept is not None else None,
                               self._memento_for(url, baseline_time))
        return replace(quoted, figures_lost=tuple(lost), figures_baseline=baseline_time,
                       then_now=shown or quoted.then_now)

    def _memento_for(self, url: str, time: str | None) -> str | None:
        """The web archive's copy a baseline came from, when the baseline is a memento."""
        return next((row.memento_url for (of, _), row in self._mementos.items()
                     if of == url and time is not None and row.memento_time == time), None)

    # -- after classifying -------------------------------------------------------------------------

    def note(self, result: Result) -> Result:
        """The result as reports show it: its history (first failure, streak, last ok, trend) as the
        runs before this one left it, and its snapshot's path. Nothing is written: `finish`
        records the run's results once, as they end."""
        info = self.trend(result.url, result.reference_id, result.verdict, result.reason)
        return replace(result, first_failed=info.first_failed, last_ok=info.last_ok,
                       consecutive_failures=info.consecutive_failures, trend=info.trend,
                       snapshot=self.display(result.snapshot) if result.snapshot else None)

    def trend(self, url: str, reference_id: str | None, verdict: Verdict, reason: Reason) -> TrendInfo:
        """The history fields `note` gives a result with this URL (as results show it), reference,
        verdict and reason: a result built with them needs no `note`."""
        previous = self._recent.get(identity(url, reference_id or ""), [])
        return carried_trend(previous) if reason is Reason.OFFLINE else compute_trend(previous, str(verdict),
                                                                                     self.started)

    def last_good(self, result: Result) -> tuple[Snapshot, str] | None:
        """(snapshot, URL captured) that still shows the evidence: for a changed page its baseline,
        for a broken one the last capture judged good (a soft 404's own capture is not)."""
        if result.verdict is Verdict.CHANGED:
            row = self._db.baseline(_fetched_url(result))
            return (row.snapshot, row.target_uri or row.url) if row is not None else None
        return self._db.last_good_snapshot(result.url)

    def previous_runs(self, limit: int = 12) -> tuple[tuple[str, dict[str, int]], ...]:
        """(finished, summary) of the last finished runs before this one, oldest first."""
        rows = [r for r in self._db.runs(2 * limit + 1) if r.finished and not r.offline and r.id != self.run_id]
        return tuple((r.finished, r.summary) for r in reversed(rows[:limit]) if r.finished)

    def finish(self, results: Sequence[Result], finished: str, summary: dict[str, int], *,
               offline: bool = False) -> None:
        """Write the run in one transaction: its captures indexed, the main texts it read, its
        final `results`, what the web archives answered, a page's first good snapshot as its
        baseline, and the run, finished: from then on it counts, unless it was `offline`. The run's
        WARC is closed first, on disk: nothing is archived after the run is counted."""
        # The WARC is made durable first: the index rows must never name records a power cut lost.
        if self.writer is not None:
            self.writer.close()
        # A memento adopted this run comes first: it is what the source said when it was cited.
        cited = [(url, kept.sha256, time) for url, (kept, time) in self._adopted.items()]
        self._db.commit_run(
            self.run_id, self.started, finished, summary, offline=offline, results=results,
            snapshots=self._pending, texts=self._texts.items(), mementos=self._asked,
            baselines=itertools.chain(cited, ((_fetched_url(r), r.snapshot.sha256, r.snapshot.time or finished)
                                              for r in results if r.verdict in GOOD and r.snapshot is not None)))

    def display(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot as a report shows it: the WARC's path from the working folder (history
        keeps the file's name alone)."""
        shown = self._shown.get(snapshot.warc)
        if shown is None:  # one string per WARC file, not one per result
            shown = self._shown[snapshot.warc] = os.path.join(self._shown_archive, snapshot.warc)
        return replace(snapshot, warc=shown)

    @functools.cached_property
    def _shown_archive(self) -> str:
        try:
            return os.path.relpath(archive_dir(self.state_dir))
        except ValueError:  # another drive: no relative path
            return str(archive_dir(self.state_dir))


def quote_comparison(target: Target, outcome: FetchOutcome) -> Comparison | None:
    """Whether a 2xx page still holds its reference's quote and its URL's text fragments, and how
    many pages a PDF cited at `#page=N` has; None when there is nothing to look for. When what was
    looked for is not there, whether the text could be read at all. It parses the body: the run
    calls it through `reading.read_page`, in a worker, under the reading budgets."""
    quoted = [(ref.id, ref.quote) for ref in target.references if ref.quote]
    quote = quoted[0][1] if quoted else None
    claims = target.claims
    body = outcome.body
    if body is None or outcome.status is None or not 200 <= outcome.status < 300:
        return None
    fragment = fragments.parse(target.fragment, outcome.final_url or outcome.url)
    wants_page = fragment.page is not None and content.is_pdf(body, outcome.content_type)
    if not (quote or fragment.texts or wants_page or claims):
        return None
    text = content.page_text(body, outcome.content_type) if quote or fragment.texts or claims else ""
    # Every reference with this URL has its own quote checked; the first missing one is reported.
    checks = tuple((ref_id, q, content.quote_present(q, text)) for ref_id, q in quoted)
    gone = [check for check in checks if not check[2]]
    found = (not gone) if checks else None
    quote = gone[0][1] if gone else quote
    missing = tuple(str(d) for d in fragment.texts if not fragments.text_present(d, text))
    pages = content.pdf_pages(body) if wants_page else None
    on_page = figures.find_figures(text) if claims else []
    absent = tuple(c.text for c in claims if not figures.present(c, on_page))
    unreadable = None
    # A page past the end of a cut PDF may be in the part not read.
    doubt = wants_page and (pages is None or (outcome.body_truncated and (fragment.page or 0) > pages))
    if found is False or missing or doubt or absent:
        unreadable = content.why_unreadable(body, outcome.content_type, truncated=outcome.body_truncated,
                                            coding=outcome.header("Content-Encoding") or "") or (
            "the PDF's pages could not be counted" if wants_page and pages is None else None)
    gone_text = quote if found is False else missing[0] if missing else None
    then_now = thennow.for_quote(gone_text, text) if gone_text and not unreadable else None
    return Comparison(quote=quote, quote_found=found, texts_missing=missing, pdf_pages=pages, unreadable=unreadable,
                      quotes=checks if len(checks) > 1 else (), claims=claims, then_now=then_now,
                      figures_found=tuple(c.text for c in claims if c.text not in absent), figures_missing=absent)


def _fetched_url(result: Result) -> str:
    return result.url.partition("#")[0]
