"""The values that move through the pipeline: citations in, results out, judged in the one verdict
vocabulary of `verdicts`, from what `wire` says a fetch gave (the names of both are exported here too)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from .figures import Figure
from .redact import redact
from .thennow import ThenAndNow
from .verdicts import FAILING, GOOD, LOST, QUIET, REASONS_BY_VERDICT, Reason, Verdict, identity
from .wire import ErrorKind, FetchOutcome, Hop

__all__ = [
    "Citation", "ErrorKind", "FetchOutcome", "Hop", "Reason", "Reference", "Result",
    "RunReport", "Snapshot", "Target", "Verdict", "FAILING", "GOOD", "HISTORY_MISSING", "HISTORY_NOTE", "LOST",
    "QUIET", "REASONS_BY_VERDICT", "SCHEMA_VERSION", "identity",
]

SCHEMA_VERSION = 1

# RunReport.history: "found" (earlier runs were kept), "new" (a first run, none expected) or
# "missing" (earlier state was expected, e.g. by the action, and none was there).
HISTORY_MISSING = "missing"
HISTORY_NOTE = "no history found: baselines start again"


@dataclass(frozen=True, slots=True)
class Citation:
    """One place a document cites a target: the URL exactly as written, and where.

    `kind` is "" for a link a reader follows, or what the document embeds from the URL
    ("image", "audio", "video"): an embedded resource is checked for reachability only."""

    document: str
    line: int | None
    text: str
    url: str
    page: int | None = None
    kind: str = ""
    # The date the document says its author read the source ("accessed 12 October 2020"), ISO.
    accessed: str | None = None
    # The figures it states, in its anchor text or its sentence: what the source must still say.
    claims: tuple[Figure, ...] = ()

    @property
    def embedded(self) -> bool:
        return bool(self.kind)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"document": self.document, "line": self.line, "text": self.text}
        if self.page is not None:
            out["page"] = self.page
        if self.kind:
            out["embedded"] = True
            out["kind"] = self.kind
        if self.accessed is not None:
            out["accessed"] = self.accessed
        if self.claims:
            out["claims"] = [f.to_json() for f in self.claims]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], url: str) -> Citation:
        return cls(data["document"], data.get("line"), data.get("text", ""), url, data.get("page"),
                   data.get("kind", ""), data.get("accessed"),
                   tuple(Figure.from_json(f) for f in data.get("claims", ())))

    @property
    def location(self) -> str:
        """`file:line` (or `file:page N`) for people reading a report."""
        if self.line is not None:
            return f"{self.document}:{self.line}"
        if self.page is not None:
            return f"{self.document}:page {self.page}"
        return self.document

    @property
    def where(self) -> str:
        """The location, marked when the document embeds the URL rather than links to it."""
        return f"{self.location} (embedded {self.kind})" if self.kind else self.location


@dataclass(frozen=True, slots=True)
class Reference:
    """One cited source as registered in references.yaml."""

    id: str
    url: str | None
    title: str | None = None
    cited_as: str | None = None
    quote: str | None = None
    accept: tuple[int, ...] = ()
    line: int | None = None
    # When the author read it (ISO date): the date its evidence is judged from.
    accessed: str | None = None


_KIND = attrgetter("kind")  # asked of every target several times a fetch: no generator to make each time


@dataclass(frozen=True, slots=True)
class Target:
    """One distinct thing to check: a normalised URL with every citation of it."""

    url: str
    citations: tuple[Citation, ...] = ()
    reference: Reference | None = None
    also: tuple[Reference, ...] = ()  # further references with this URL: one source, several claims
    # The figures its citations state (placeholders standing for its reference included).
    claims: tuple[Figure, ...] = ()

    @property
    def references(self) -> tuple[Reference, ...]:
        """Every reference registered with this URL, the first one first."""
        return ((self.reference,) if self.reference is not None else ()) + self.also

    @property
    def fragment(self) -> str:
        _, _, frag = self.url.partition("#")
        return frag

    @property
    def embedded(self) -> bool:
        """Only embedded (an image, a video...), never linked or registered: checked for
        reachability, not read for a soft 404, a quote or drift."""
        return bool(self.citations) and self.reference is None and all(map(_KIND, self.citations))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where an archived copy of the evidence lives (filled by the archive stage)."""

    warc: str
    sha256: str
    offset: int | None = None
    time: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"warc": self.warc, "sha256": self.sha256}
        if self.offset is not None:
            out["offset"] = self.offset
        if self.time is not None:
            out["time"] = self.time
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Snapshot | None:
        if data is None:
            return None
        return cls(data["warc"], data["sha256"], data.get("offset"), data.get("time"))


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict on one target, as report.json spells it."""

    url: str
    verdict: Verdict
    reason: Reason
    detail: str
    http_status: int | None = None
    final_url: str | None = None
    redirects: tuple[Hop, ...] = ()
    citations: tuple[Citation, ...] = ()
    reference_id: str | None = None
    snapshot: Snapshot | None = None
    archived_url: str | None = None
    suggested_url: str | None = None
    # From history: how this URL has fared across runs.
    first_failed: str | None = None
    consecutive_failures: int = 0
    last_ok: str | None = None
    trend: str | None = None
    # From the comparison with the baseline snapshot (changed results).
    similarity: float | None = None
    changes: tuple[str, ...] = ()
    # (reference id, quote, found) when several references share the URL, each with its quote.
    quotes: tuple[tuple[str, str, bool], ...] = ()
    # A verdict reused under --cache-ttl: when the fetch that made it happened (kept in history only).
    checked_at: str | None = None
    # The figures the citations state, and (as written) those looked for on the source and found,
    # or not found there (nor in its baseline).
    claims: tuple[Figure, ...] = ()
    figures_found: tuple[str, ...] = ()
    figures_not_found: tuple[str, ...] = ()
    figures_lost: tuple[str, ...] = ()  # in the baseline, no longer on the source (figure_missing)
    # For a missing quote or a lost figure: its sentence when cited and the one in its place now.
    then_now: ThenAndNow | None = None
    # What the web archives gave as the baseline from when the source was cited, or why none.
    baseline_note: str | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        """What a reader should know beside the verdict."""
        figures = tuple(f"the figure {text!r} was not found on the source" for text in self.figures_not_found)
        return figures + ((self.baseline_note,) if self.baseline_note else ())

    def __post_init__(self) -> None:
        # Every output (console, reports, history, archive index, e-mail) is built from results:
        # masking credentials here, once, means no renderer can forget to. Only text holding an
        # "@" or "=" can hold one: the rest (nearly every result) costs a few membership tests.
        for name in _MASKED:
            value = getattr(self, name)
            if value and ("@" in value or "=" in value):
                object.__setattr__(self, name, redact(value))
        shown = self.then_now
        if shown is not None and shown.memento_url and ("@" in shown.memento_url or "=" in shown.memento_url):
            object.__setattr__(self, "then_now", replace(shown, memento_url=redact(shown.memento_url)))
        if any("@" in h.url or "=" in h.url for h in self.redirects):
            object.__setattr__(self, "redirects", tuple(Hop(redact(h.url), h.status) for h in self.redirects))
        if any("@" in c.url or "=" in c.url or "@" in c.text or "=" in c.text for c in self.citations):
            object.__setattr__(self, "citations", tuple(_redacted(c) for c in self.citations))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url,
            "verdict": str(self.verdict),
            "reason": str(self.reason),
            "detail": self.detail,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "redirects": [h.to_json() for h in self.redirects],
            "citations": [c.to_json() for c in self.citations],
            "reference_id": self.reference_id,
            "snapshot": self.snapshot.to_json() if self.snapshot else None,
            "archived_url": self.archived_url,
        }
        if self.suggested_url is not None:
            out["suggested_url"] = self.suggested_url
        out.update(first_failed=self.first_failed, consecutive_failures=self.consecutive_failures,
                   last_ok=self.last_ok, trend=self.trend)
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 3)
            out["changes"] = list(self.changes)
        if self.quotes:
            out["quotes"] = [{"reference_id": ref, "quote": quote, "found": found} for ref, quote, found in self.quotes]
        if self.claims:
            out["claims"] = [self._claim(f) for f in self.claims]
        if self.notes:
            out["notes"] = list(self.notes)
        if self.then_now is not None:
            out["then_and_now"] = self.then_now.to_json()
        return out

    def claim_state(self, figure: Figure) -> str:
        """"found" on the source, "not_found" there, "missing" (its baseline had it, the source no
        longer has), or "unchecked" (the source's text was not read)."""
        text = figure.text
        if text in self.figures_lost:
            return "missing"
        if text in self.figures_not_found:
            return "not_found"
        return "found" if text in self.figures_found else "unchecked"

    def _claim(self, figure: Figure) -> dict[str, Any]:
        """A claim, and whether it was on the source (None: its text was not read); `in_baseline`
        for a figure the baseline had and the source no longer has."""
        state = self.claim_state(figure)
        found = None if state == "unchecked" else state == "found"
        return {**figure.to_json(), "found": found, **({"in_baseline": True} if state == "missing" else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """A result as report.json spells it (the inverse of to_json)."""
        url = data["url"]
        return cls(
            url=url, verdict=Verdict(data["verdict"]), reason=Reason(data["reason"]), detail=data["detail"],
            http_status=data.get("http_status"), final_url=data.get("final_url"),
            redirects=tuple(Hop.from_json(h) for h in data.get("redirects", ())),
            citations=tuple(Citation.from_json(c, url) for c in data.get("citations", ())),
            reference_id=data.get("reference_id"), snapshot=Snapshot.from_json(data.get("snapshot")),
            archived_url=data.get("archived_url"), suggested_url=data.get("suggested_url"),
            first_failed=data.get("first_failed"), consecutive_failures=data.get("consecutive_failures", 0),
            last_ok=data.get("last_ok"), trend=data.get("trend"), similarity=data.get("similarity"),
            changes=tuple(data.get("changes", ())),
            quotes=tuple((q["reference_id"], q["quote"], q["found"]) for q in data.get("quotes", ())),
            claims=tuple(Figure.from_json(f) for f in data.get("claims", ())),
            figures_found=tuple(f["text"] for f in data.get("claims", ()) if f.get("found") is True),
            figures_not_found=tuple(f["text"] for f in data.get("claims", ())
                                    if f.get("found") is False and not f.get("in_baseline")),
            figures_lost=tuple(f["text"] for f in data.get("claims", ()) if f.get("in_baseline")),
            then_now=ThenAndNow.from_json(shown, Snapshot.from_json(shown.get("snapshot")))
            if (shown := data.get("then_and_now")) else None,
            baseline_note=next((n for n in data.get("notes", ()) if not n.startswith("the figure ")), None))


_MASKED = ("url", "final_url", "suggested_url", "archived_url", "detail")


def _redacted(citation: Citation) -> Citation:
    text, url = redact(citation.text), redact(citation.url)
    if text == citation.text and url == citation.url:
        return citation
    return replace(citation, text=text, url=url)


@dataclass(frozen=True, slots=True, repr=False)
class RunReport:
    """Everything one run found: what every report format renders from."""

    id: str
    started: str
    finished: str
    tool_version: str
    results: tuple[Result, ...] = ()
    offline: bool = False
    documents: tuple[str, ...] = field(default=())
    # (finished, {verdict: count}) of earlier finished runs, oldest first: for trend charts.
    previous_runs: tuple[tuple[str, dict[str, int]], ...] = ()
    history: str | None = None

    @property
    def history_missing(self) -> bool:
        return self.history == HISTORY_MISSING

    def __repr__(self) -> str:
        # Short, because Python repr()s it in full more than once: asyncio.run() on Python 3.11
        # formats its task's result into an error message it then discards.
        return (f"RunReport(id={self.id!r}, started={self.started!r}, finished={self.finished!r}, "
                f"results=<{len(self.results)}>, offline={self.offline!r})")

    @property
    def summary(self) -> dict[str, int]:
        counts = {str(v): 0 for v in Verdict}
        for verdict, n in Counter(map(attrgetter("verdict"), self.results)).items():  # counted in C
            counts[str(verdict)] += n
        return counts

    @property
    def figures_not_found(self) -> int:
        """How many figures the citations state were never found on their source."""
        return sum(map(len, map(attrgetter("figures_not_found"), self.results)))

    def failing(self, fail_on: frozenset[Verdict]) -> list[Result]:
        return [r for r in self.results if r.verdict in fail_on]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunReport:
        """A report read back from report.json, to render it again in other formats."""
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"report schema {data.get('schema_version')!r}, this linkcheck reads {SCHEMA_VERSION}")
        run = data["run"]
        return cls(id=run["id"], started=run["started"], finished=run["finished"], tool_version=run["tool_version"],
                   results=tuple(Result.from_json(r) for r in data["results"]), offline=run.get("offline", False),
                   documents=tuple(run.get("documents", ())),
                   previous_runs=tuple((t, dict(s)) for t, s in run.get("previous_runs", ())),
                   history=run.get("history"))

    def to_json(self, *, results: bool = True) -> dict[str, Any]:
        """The report.json schema; without `results`, all of it but the results."""
        return {
            "schema_version": SCHEMA_VERSION,
            "run": {"id": self.id, "started": self.started, "finished": self.finished,
                    "tool_version": self.tool_version, "offline": self.offline,
                    "documents": list(self.documents),
                    "previous_runs": [[t, s] for t, s in self.previous_runs],
                    **({"history": self.history} if self.history is not None else {})},
            "summary": {**self.summary, **({"figures_not_found": n} if (n := self.figures_not_found) else {})},
            **({"results": [r.to_json() for r in self.results]} if results else {}),
        }
