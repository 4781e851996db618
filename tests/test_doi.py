"""DOIs end to end: a doi.org-like resolver and a Crossref-like API on loopback, through the CLI."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from linkcheck import crossref, doi
from linkcheck.classify import classify
from linkcheck.cli import main
from linkcheck.config import Config, Settings
from linkcheck.extract import extract_file
from linkcheck.model import ErrorKind, FetchOutcome, Hop, Target
from linkcheck.pipeline import run_check
from tests.conftest import InstantClock

CONTACT = "checks@ijm.example.org"


def _update(kind: str, label: str, notice: str, day: list[int]) -> dict[str, Any]:
    """One `updated-by` entry as the works API lists it."""
    stamp = f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}T00:00:00Z"
    return {"updated": {"date-parts": [day], "date-time": stamp, "timestamp": 1_600_000_000_000},
            "DOI": notice, "type": kind, "source": "publisher", "label": label, "record-id": notice}


def _work(name: str, title: str, updates: list[dict[str, Any]]) -> dict[str, Any]:
    """A `GET /works/{doi}` answer: an envelope around the work's message."""
    message: dict[str, Any] = {
        "DOI": f"10.5555/{name}", "type": "journal-article", "title": [title], "prefix": "10.5555",
        "publisher": "Example Academic Press", "container-title": ["Journal of Trafficking Studies"],
        "issued": {"date-parts": [[2019, 11, 2]]}, "URL": f"https://doi.org/10.5555/{name}",
        "reference-count": 41, "is-referenced-by-count": 12,
    }
    if updates:
        message["updated-by"] = updates
    return {"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": message}


WORKS = {
    "10.5555/retracted": _work("retracted", "Forty million victims: estimating modern slavery", [
        _update("correction", "Correction", "10.5555/retracted.corr", [2020, 2, 1]),
        _update("retraction", "Retraction", "10.5555/retracted.ret", [2021, 5, 4])]),
    "10.5555/corrected": _work("corrected", "Forced labour in supply chains", [
        _update("correction", "Correction", "10.5555/corrected.corr", [2021, 3, 2])]),
    "10.5555/plain": _work("plain", "A survey of cyber crime against British businesses", []),
}


class Sites:
    """A doi.org-like resolver, the publisher's landing pages, and a Crossref-like API."""

    def __init__(self) -> None:
        self.crossref: list[tuple[str, str, str]] = []  # (path, User-Agent, mailto)
        self.hang = False

    async def resolve(self, request: aioweb.Request) -> aioweb.StreamResponse:
        name = request.match_info["doi"]
        if f"10.5555/{name}" not in WORKS:
            return aioweb.Response(status=404, text="DOI Not Found", content_type="text/html")
        # 301 on purpose: the chain from a DOI resolver is never a `redirected` citation.
        status = 301 if name == "corrected" else 302
        raise (aioweb.HTTPMovedPermanently if status == 301 else aioweb.HTTPFound)(f"/article/{name}")

    async def article(self, request: aioweb.Request) -> aioweb.Response:
        name = request.match_info["name"]
        return aioweb.Response(text=f"<html><body><h1>{WORKS[f'10.5555/{name}']['message']['title'][0]}</h1>"
                                    "<p>Full text of the article.</p></body></html>", content_type="text/html")

    async def works(self, request: aioweb.Request) -> aioweb.Response:
        self.crossref.append((request.path, request.headers.get("User-Agent", ""),
                              request.query.get("mailto", "")))
        if self.hang:
            await asyncio.sleep(30)
        work = WORKS.get(request.match_info["doi"])
        if work is None:
            return aioweb.Response(status=404, text="Resource not found.")
        return aioweb.json_response(work)

    def app(self) -> aioweb.Application:
        app = aioweb.Application()
        app.router.add_get("/10.5555/{doi}", self.resolve)
        app.router.add_get("/article/{name}", self.article)
        app.router.add_get("/api/works/{doi:.+}", self.works)
        return app


@pytest.fixture
async def sites() -> AsyncIterator[tuple[Sites, str]]:
    site = Sites()
    server = TestServer(site.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield site, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


DRAFT = """# Review

A [now-retracted estimate](https://doi.org/10.5555/retracted) put it at 40 million.

Supply chains are covered in the literature (doi:10.5555/corrected).

An [unregistered paper](http://dx.doi.org/10.5555/unknown) is cited too.
"""


def _project(tmp_path: Path, base: str, crossref: str, title: str = "Forced labour in supply chains") -> Path:
    (tmp_path / "draft.md").write_text(DRAFT, encoding="utf-8")
    (tmp_path / "references.yaml").write_text(
        f"version: 1\ndocuments: [draft.md]\nsettings:\n  doi_resolver: {base}/\n  crossref_api: {crossref}\n"
        f"  contact_email: {CONTACT}\n  timeout: 1\n  retries: 0\n  archive_lookup: false\n"
        f"references:\n  - id: supply-chains\n    url: https://doi.org/10.5555/corrected\n"
        f"    title: {json.dumps(title)}\n", encoding="utf-8")
    return tmp_path / "references.yaml"


async def _cli(tmp_path: Path, references: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "check", "--references", str(references), "--report-dir", str(tmp_path / "reports"),
        "--state-dir", str(tmp_path / "state"), "--allow-private", "--quiet"])
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    return result.exit_code, {r["url"]: r for r in report["results"]}


async def test_retracted_corrected_and_unknown_dois_through_the_cli(sites: tuple[Sites, str], tmp_path: Path) -> None:
    site, base = sites
    code, results = await _cli(tmp_path, _project(tmp_path, base, f"{base}/api"))
    assert code == 1
    retracted = results["https://doi.org/10.5555/retracted"]
    assert (retracted["verdict"], retracted["reason"]) == ("changed", "retracted")
    assert "retracted on 2021-05-04: 10.5555/retracted.ret" in retracted["detail"]
    corrected = results["https://doi.org/10.5555/corrected"]
    assert (corrected["verdict"], corrected["reason"]) == ("ok", "ok")
    assert "corrected on 2021-03-02: 10.5555/corrected.corr" in corrected["detail"]
    assert corrected["redirects"] == [{"url": f"{base}/10.5555/corrected", "status": 301}]
    assert corrected["final_url"] == f"{base}/article/corrected"
    assert corrected["reference_id"] == "supply-chains"
    assert [(c["line"], c["text"]) for c in corrected["citations"]] == [(5, "doi:10.5555/corrected")]
    unknown = results["http://dx.doi.org/10.5555/unknown"]
    assert (unknown["verdict"], unknown["reason"], unknown["http_status"]) == ("broken", "http_status", 404)
    assert "Crossref has no record of this DOI" in unknown["detail"]
    # One polite request per DOI, saying who asks.
    assert sorted(path for path, _, _ in site.crossref) == [
        "/api/works/10.5555/corrected", "/api/works/10.5555/retracted", "/api/works/10.5555/unknown"]
    assert all(CONTACT in agent and mailto == CONTACT for _, agent, mailto in site.crossref)


async def test_a_title_unlike_the_works_is_a_note(sites: tuple[Sites, str], tmp_path: Path) -> None:
    _, base = sites
    references = _project(tmp_path, base, f"{base}/api", title="Wage theft among seasonal farm workers")
    _, results = await _cli(tmp_path, references)
    corrected = results["https://doi.org/10.5555/corrected"]
    assert corrected["verdict"] == "ok"
    assert ("the DOI's title is 'Forced labour in supply chains', not the cited "
            "'Wage theft among seasonal farm workers'") in corrected["detail"]


async def test_a_crossref_that_hangs_changes_no_verdict(sites: tuple[Sites, str], tmp_path: Path,
                                                         clock: InstantClock) -> None:
    site, base = sites
    site.hang = True
    (tmp_path / "draft.md").write_text(DRAFT, encoding="utf-8")
    settings = Settings(timeout=1.0, retries=0, allow_private=True, doi_resolver=f"{base}/",
                        crossref_api=f"{base}/api", archive_lookup=False)
    started = time.monotonic()
    report = await run_check(Config(documents=(tmp_path / "draft.md",), settings=settings), settings=settings,
                             clock=clock)
    assert time.monotonic() - started < 5
    results = {r.url: r for r in report.results}
    retracted = results["https://doi.org/10.5555/retracted"]
    assert (retracted.verdict, retracted.reason) == ("ok", "ok")
    assert "Crossref could not be asked (no answer in time" in retracted.detail
    assert results["http://dx.doi.org/10.5555/unknown"].verdict == "broken"
    # Once it failed to answer, the other DOIs were not sent to it.
    assert len(site.crossref) <= 2


async def test_a_crossref_that_is_down_changes_no_verdict(sites: tuple[Sites, str], tmp_path: Path,
                                                           clock: InstantClock) -> None:
    _, base = sites
    closed = TestServer(aioweb.Application(), host="127.0.0.1")
    await closed.start_server()
    down = str(closed.make_url("")).rstrip("/")
    await closed.close()  # nothing listens there any more
    (tmp_path / "draft.md").write_text(DRAFT, encoding="utf-8")
    settings = Settings(timeout=1.0, retries=0, allow_private=True, doi_resolver=f"{base}/",
                        crossref_api=down, archive_lookup=False)
    report = await run_check(Config(documents=(tmp_path / "draft.md",), settings=settings), settings=settings,
                             clock=clock)
    results = {r.url: r for r in report.results}
    assert results["https://doi.org/10.5555/retracted"].verdict == "ok"
    assert "Crossref could not be asked" in results["https://doi.org/10.5555/corrected"].detail


async def test_dois_follow_the_address_policy(sites: tuple[Sites, str], tmp_path: Path, clock: InstantClock) -> None:
    site, base = sites
    (tmp_path / "draft.md").write_text(DRAFT, encoding="utf-8")
    settings = Settings(timeout=1.0, retries=0, doi_resolver=f"{base}/", crossref_api=f"{base}/api",
                        archive_lookup=False)
    report = await run_check(Config(documents=(tmp_path / "draft.md",), settings=settings), settings=settings,
                             clock=clock)
    assert {(r.verdict, r.reason) for r in report.results} == {("skipped", "private_address")}
    assert site.crossref == []


def test_doi_strings_are_extracted_from_markdown_and_text(tmp_path: Path) -> None:
    text = ("See doi:10.1000/xyz123. And DOI: 10.1038/nphys1170,\n"
            "also (doi:10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI3>3.0.CO;2-O)\n"
            "and [linked](https://doi.org/10.1000/abc) doi:10.1000/abc\n"
            "not adoi:10.1/x nor doi:11.1000/x\n")
    for name in ("paper.md", "paper.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
        found = [(c.line, c.text, c.url) for c in extract_file(tmp_path / name, name)]
        assert (1, "doi:10.1000/xyz123", "https://doi.org/10.1000/xyz123") in found
        assert (1, "DOI: 10.1038/nphys1170", "https://doi.org/10.1038/nphys1170") in found
        sici = [f for f in found if f[0] == 2]
        assert len(sici) == 1 and doi.doi_of(sici[0][2]) == "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI3>3.0.CO;2-O"
        assert [f[2] for f in found if f[0] == 3] == ["https://doi.org/10.1000/abc"]  # not repeated
        assert not [f for f in found if f[0] == 4]


@pytest.mark.parametrize(("url", "expected"), [
    ("https://doi.org/10.1000/xyz", "10.1000/xyz"),
    ("http://dx.doi.org/10.1000/a%2Fb", "10.1000/a/b"),
    ("https://doi.org/10.1000/xyz#section", "10.1000/xyz"),
    ("https://doi.org/", None),
    ("https://doi.org/handbook", None),
    ("https://example.org/10.1000/xyz", None),
])
def test_doi_of_a_resolver_url(url: str, expected: str | None) -> None:
    assert doi.doi_of(url) == expected


def test_a_works_record_gives_title_and_notices() -> None:
    work = doi.work_from_json("10.5555/retracted", WORKS["10.5555/retracted"])
    assert work.title == "Forty million victims: estimating modern slavery"
    assert [(u.kind, u.date) for u in work.updates] == [("correction", "2020-02-01"), ("retraction", "2021-05-04")]
    assert doi.retraction(work) == work.updates[1]
    assert doi.work_from_json("10.5555/x", {"status": "failed"}).unavailable
    assert not doi.title_mismatch("Forced labour in supply chains", "Forced Labour in Supply Chains: a review")
    assert doi.title_mismatch("Wage theft among seasonal farm workers", "Forced labour in supply chains")


RETRACTED = doi.work_from_json("10.5555/retracted", WORKS["10.5555/retracted"])


@pytest.mark.parametrize(("status", "error", "expected"), [
    (200, None, ("changed", "retracted")),
    (403, None, ("changed", "retracted")),     # the publisher turns robots away; Crossref still tells
    (404, None, ("broken", "http_status")),    # the resolver does not know the DOI
    (None, ErrorKind.TIMEOUT, ("error", "timeout")),
])
def test_a_retraction_overrides_what_the_landing_page_allows(status: int | None, error: ErrorKind | None,
                                                             expected: tuple[str, str]) -> None:
    target = Target("https://doi.org/10.5555/retracted")
    outcome = FetchOutcome("https://doi.org/10.5555/retracted", status=status, error=error,
                           content_type="text/html", body=b"<html><body><p>An article.</p></body></html>")
    judgement = classify(target, outcome, None, RETRACTED)
    assert (str(judgement.verdict), str(judgement.reason)) == expected
    assert ("retracted on 2021-05-04" in judgement.detail) == (expected[1] == "retracted")


def test_without_a_work_a_doi_is_judged_on_its_landing_page() -> None:
    outcome = FetchOutcome("https://doi.org/10.5555/x", status=200, final_url="https://publisher.example.net/a/1",
                           hops=(Hop("https://doi.org/10.5555/x", 301),), content_type="text/plain", body=b"text")
    judgement = classify(Target("https://doi.org/10.5555/x"), outcome)
    assert (judgement.verdict, judgement.reason) == ("ok", "ok")
    assert judgement.detail == "HTTP 200: the DOI resolves to https://publisher.example.net/a/1"
    assert classify(Target("https://elsewhere.example.net/x"), outcome).verdict == "redirected"


async def test_crossref_is_asked_once_per_doi_and_at_most_two_at_a_time() -> None:
    asked: list[str] = []
    now = busiest = 0

    async def works(request: aioweb.Request) -> aioweb.Response:
        nonlocal now, busiest
        asked.append(request.match_info["doi"])
        now += 1
        busiest = max(busiest, now)
        await asyncio.sleep(0.05)
        now -= 1
        return aioweb.json_response(WORKS["10.5555/plain"])

    app = aioweb.Application()
    app.router.add_get("/works/{doi:.+}", works)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        dois = [f"10.5555/w{i}" for i in range(6)] * 2
        found = await crossref.lookup_works(dois, api=str(server.make_url("")), allow_private=True)
    finally:
        await server.close()
    assert sorted(asked) == sorted(set(dois)) and busiest == 2
    assert {w.title for w in found.values()} == {"A survey of cyber crime against British businesses"}


async def test_a_crossref_answer_nested_too_deep_is_no_answer() -> None:
    """json.loads gives up on deep nesting with RecursionError, not ValueError: still the answer's fault."""
    async def works(request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(body=b"[" * 200_000, content_type="application/json")

    app = aioweb.Application()
    app.router.add_get("/works/{doi:.+}", works)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        found = await crossref.lookup_works(["10.5555/deep"], api=str(server.make_url("")), allow_private=True)
    finally:
        await server.close()
    assert found["10.5555/deep"].unavailable == "the answer is not JSON"
