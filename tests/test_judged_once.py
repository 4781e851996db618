"""A fetched target's result is built once, with its history, and its reading request skips the
parse of fragments no target has: both agree with the longer way round, on any input."""
from __future__ import annotations

import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkcheck import evidence, fragments, pipeline
from linkcheck.classify import Judgement
from linkcheck.classify.table import VERDICTS
from linkcheck.config import Config, Settings
from linkcheck.figures import Figure
from linkcheck.history import History, carried_trend, compute_trend, identity
from linkcheck.model import (
    Citation,
    FetchOutcome,
    Hop,
    Reason,
    Reference,
    Result,
    Snapshot,
    Target,
    Verdict,
)
from linkcheck.pipeline import run_check
from linkcheck.reading import Request
from linkcheck.redact import redact
from linkcheck.store import EvidenceStore, history_path
from tests.conftest import InstantClock
from tests.server import article, html, serving

PLAIN = "https://example.org/a"
SECRET = "https://user:pw@example.org/b?token=s3cret"  # history knows it masked, as results show it
NEW = "https://example.org/never-seen"
# Every row of the verdict table, the offline one (whose history is carried, not computed) included.
ROWS = sorted({(verdict, reason) for verdict, reason, _ in VERDICTS.values()}, key=str)
OFFLINE = (Verdict.ERROR, Reason.OFFLINE)
STARTED = "2024-01-04T00:00:00Z"


def _earlier_runs(state: Path) -> None:
    """Three runs before the one under test: a source that failed twice, one that flipped."""
    verdicts = {PLAIN: ("broken", "broken", "ok"), SECRET: ("ok", "broken", "ok")}
    with History(history_path(state)) as h:
        for n in range(3):
            h.start_run(f"run{n}", f"2024-01-0{n + 1}T00:00:00Z")
            h.record_results(f"run{n}", [
                Result(url, Verdict(seq[n]), Reason.OK if seq[n] == "ok" else Reason.HTTP_STATUS, "x",
                       reference_id=ref)
                for url, seq in verdicts.items() for ref in ("r1", None)])
            h.finish_run(f"run{n}", f"2024-01-0{n + 1}T01:00:00Z", {})


_CASES = st.tuples(st.sampled_from([PLAIN, SECRET, NEW, PLAIN + "#intro"]), st.booleans(), st.sampled_from(ROWS) | st.just(OFFLINE),
                   st.sampled_from(["fine", "see ?key=abc"]), st.sampled_from([(), (Hop(PLAIN, 301),)]),
                   st.sampled_from([None, Snapshot("w.warc.gz", "a" * 64, 10, "2024-01-04T00:00:00Z")]),
                   st.sampled_from([None, "not compared with an archived capture"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(_CASES, min_size=1, max_size=6))
def test_a_result_built_with_its_history_is_the_noted_one(tmp_path: Path, cases: list[tuple]) -> None:
    """Several results judged in one run, as the crawl judges them: what the store remembers of
    one (sources with no history) never changes another."""
    state = tmp_path / "state"
    if not history_path(state).exists():
        _earlier_runs(state)
    with History(history_path(state)) as h:
        recent = h.recent_verdicts()

    def noted(result: Result) -> Result:
        """What the store's `note` always made of a result: its history worked out in full."""
        previous = recent.get(identity(result.url, result.reference_id or ""), [])
        info = (carried_trend(previous) if result.reason is Reason.OFFLINE
                else compute_trend(previous, str(result.verdict), STARTED))
        return replace(result, first_failed=info.first_failed, last_ok=info.last_ok, trend=info.trend,
                       consecutive_failures=info.consecutive_failures,
                       snapshot=store.display(result.snapshot) if result.snapshot else None)

    with EvidenceStore(state, "now", STARTED, archive=False, drift_threshold=0.6) as store:
        for url, registered, (verdict, reason), detail, hops, snapshot, note in cases:
            reference = Reference("r1", url) if registered else None
            target = Target(url, (Citation("doc.md", 3, "the source", url),), reference)
            judgement = Judgement(verdict, reason, detail)
            outcome = FetchOutcome(url, status=200, final_url=url, hops=hops)
            once = pipeline._result(
                target, judgement, outcome, store.display(snapshot) if snapshot else None,
                history=store.trend(redact(target.url), reference.id if reference else None, verdict, reason),
                baseline_note=note)
            plain = pipeline._result(target, judgement, outcome, snapshot)
            full = replace(plain, baseline_note=note) if note else plain
            assert once == noted(full) == store.note(full)


def test_history_reaches_a_result_whose_url_holds_a_secret(tmp_path: Path) -> None:
    """The property above could pass with no history found at all: here it is found."""
    state = tmp_path / "state"
    _earlier_runs(state)
    gone = Judgement(Verdict.BROKEN, Reason.HTTP_STATUS, "404")
    with EvidenceStore(state, "now", "2024-01-04T00:00:00Z", archive=False, drift_threshold=0.6) as store:
        info = store.trend(redact(SECRET), None, gone.verdict, gone.reason)
        result = pipeline._result(Target(SECRET), gone, history=info)
    assert (result.trend, result.first_failed, result.last_ok) == ("flaky", "2024-01-04T00:00:00Z",
                                                                     "2024-01-03T00:00:00Z")


FIGURE = Figure("40 million", Decimal(40_000_000))


def _full_request(outcome: FetchOutcome, members: list[Target], threshold: float) -> Request:
    """The reading request worked out target by target, every fragment parsed: the long way."""
    status = outcome.status or 0
    if outcome.body is None or not 200 <= status < 300 or not any(not t.embedded for t in members):
        return Request()
    parsed = [fragments.parse(t.fragment, outcome.final_url or outcome.url) for t in members]
    ids = any(evidence.fragment_checkable(f.element) for f in parsed)
    reads_text = any(bool(f.texts) or f.page is not None or bool(t.claims) or any(r.quote for r in t.references)
                     for t, f in zip(members, parsed, strict=True))
    html = evidence.is_html(outcome.content_type)
    pdf = outcome.content_type.partition(";")[0].strip().lower() == "application/pdf"
    return Request(outcome, tuple(members), page=html, anchors=html and ids, texts=reads_text,
                   destinations=pdf and ids, threshold=threshold)


_TARGETS = st.builds(
    lambda fragment, kind, quote, claims: Target(
        "https://example.org/p" + fragment, (Citation("doc.md", 1, "x", "https://example.org/p", kind=kind),),
        Reference("r1", "https://example.org/p", quote=quote) if quote is not None else None,
        claims=(FIGURE,) if claims else ()),
    st.just("") | st.sampled_from(["#intro", "#top", "#page=3", "#:~:text=hello", "#/route", "#zoom=2"]),
    st.just("") | st.just("image"), st.sampled_from([None, "", "a quote"]), st.booleans())


@settings(max_examples=600, deadline=None)
@given(members=st.lists(_TARGETS, min_size=1, max_size=3),
       content_type=st.sampled_from(["text/html", "text/html; charset=utf-8", "application/pdf", "image/png",
                                     "application/xhtml+xml", ""]),
       status=st.just(200) | st.sampled_from([204, 404]), body=st.sampled_from([b"<title>x</title>", b"", None]))
def test_the_reading_request_is_the_full_one(members: list[Target], content_type: str, status: int,
                                              body: bytes | None) -> None:
    outcome = FetchOutcome("https://example.org/p", status=status, content_type=content_type, body=body)
    assert pipeline._reading_request(outcome, members, Settings()) == _full_request(
        outcome, members, Settings().drift_threshold)


async def test_a_rerun_gives_each_fetched_result_its_history_and_shown_snapshot(tmp_path: Path) -> None:
    """End to end, the way the crawl builds results: a source whose URL holds a token fails on the
    second run ("new", since the first), one stays good, and each shows its snapshot's path."""
    answers = iter([200, 404])

    async def page(request: web.Request) -> web.Response:
        if request.path == "/gone":
            return html(article("Report"), status=next(answers))
        return html(article("Labour force brief"))

    app = web.Application()
    app.router.add_get("/gone", page)
    app.router.add_get("/kept", page)
    async with serving(app) as base:
        doc = tmp_path / "doc.md"
        doc.write_text(f"[a]({base}/gone?token=s3cret) and [b]({base}/kept)\n", encoding="utf-8")
        fast = Settings(timeout=2.0, retries=0, allow_private=True)
        config = Config(documents=(doc,), settings=fast)
        runs = [await run_check(config, settings=fast, state_dir=tmp_path / "state", clock=InstantClock())
                for _ in range(2)]
    first, second = ({r.url.split("?")[0].rsplit("/", 1)[1]: r for r in run.results} for run in runs)
    assert second["gone"].url == f"{base}/gone?token=REDACTED"
    assert (second["gone"].verdict, second["gone"].trend, second["gone"].first_failed, second["gone"].last_ok,
            second["gone"].consecutive_failures) == (Verdict.BROKEN, "new", runs[1].started, runs[0].started, 1)
    assert (second["kept"].trend, second["kept"].last_ok, first["kept"].last_ok) == (
        None, runs[1].started, runs[0].started)
    for result in (first["gone"], first["kept"], second["kept"]):
        assert result.snapshot is not None and result.snapshot.warc.startswith(
            str(Path(os.path.relpath(tmp_path / "state")) / "archive"))


@given(kinds=st.lists(st.sampled_from(["", "image", "video"]), max_size=3), registered=st.booleans())
def test_a_target_is_embedded_when_every_citation_embeds_it_and_no_reference_names_it(
        kinds: list[str], registered: bool) -> None:
    url = "https://example.org/p.png"
    target = Target(url, tuple(Citation("doc.md", 1, "x", url, kind=kind) for kind in kinds),
                    Reference("r1", url) if registered else None)
    assert target.embedded is (bool(kinds) and not registered and "" not in kinds)
