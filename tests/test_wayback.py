"""Wayback Machine lookups and Save Page Now: only snapshots from before the failure, and politeness."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from linkcheck import __version__
from linkcheck.model import Reason, Result, Verdict
from linkcheck.wayback import (
    USER_AGENT,
    ArchivedCopies,
    ArchiveEndpoints,
    closest_copy,
    credentials_from_env,
    new_session,
    save_page_now,
)

AVAILABLE = "https://archive.test/wayback/available"
SAVE = "https://archive.test/save"
TIMEGATE = "https://archive.test/web/"
ENDPOINTS = ArchiveEndpoints(availability=AVAILABLE, save=SAVE, timeout=2.0)
CITED = "https://gov.example.org/report"
FAILED = "2024-05-01T12:00:00Z"


def closest(timestamp: str = "20230919044612", status: str = "200", available: bool = True) -> dict[str, object]:
    return {"url": CITED, "archived_snapshots": {"closest": {
        "status": status, "available": available, "timestamp": timestamp,
        "url": f"http://web.archive.org/web/{timestamp}/{CITED}"}}}


def result(url: str, verdict: Verdict = Verdict.BROKEN, reason: Reason = Reason.HTTP_STATUS) -> Result:
    return Result(url=url, verdict=verdict, reason=reason, detail="")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as rsps:
        yield rsps


@pytest.fixture
def session() -> requests.Session:
    return new_session()


# --- closest_copy: the availability API -------------------------------------------------------

def test_availability_hit_gives_the_snapshot_over_https(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest(), match=[matchers.query_param_matcher(
        {"url": CITED, "timestamp": "20240501120000"})])
    found = closest_copy(CITED + "#section-2", FAILED, session=session, endpoints=ENDPOINTS)
    assert found == f"https://web.archive.org/web/20230919044612/{CITED}"
    assert mocked.calls[0].request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"linkcheck/{__version__} (")


def test_snapshot_taken_after_the_failure_does_not_count(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest(timestamp="20240501120001"))
    assert closest_copy(CITED, FAILED, session=session, endpoints=ENDPOINTS) is None


def test_snapshot_taken_at_the_failure_time_counts(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest(timestamp="20240501120000"))
    assert closest_copy(CITED, FAILED, session=session, endpoints=ENDPOINTS)


def test_without_a_failure_time_any_snapshot_counts(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest(timestamp="20990101000000"),
               match=[matchers.query_param_matcher({"url": CITED})])
    assert closest_copy(CITED, None, session=session, endpoints=ENDPOINTS)


@pytest.mark.parametrize("body", [
    {"url": CITED, "archived_snapshots": {}},
    {"archived_snapshots": []},
    closest(status="404"),
    closest(available=False),
    closest(timestamp="2023"),
    ["not", "an", "object"],
])
def test_no_usable_snapshot_gives_none(mocked, session, body) -> None:
    mocked.get(AVAILABLE, json=body)
    assert closest_copy(CITED, FAILED, session=session, endpoints=ENDPOINTS) is None


@pytest.mark.parametrize("failure", [requests.ConnectTimeout("slow"), requests.ReadTimeout("slow"),
                                     requests.ConnectionError("refused")])
def test_network_failure_gives_none(mocked, session, failure) -> None:
    mocked.get(AVAILABLE, body=failure)
    assert closest_copy(CITED, FAILED, session=session, endpoints=ENDPOINTS) is None


@pytest.mark.parametrize("status, body", [(500, "{}"), (503, "busy"), (200, "<html>not json</html>"),
                                          (200, "[" * 100_000)])
def test_bad_answer_gives_none(mocked, session, status, body) -> None:
    mocked.get(AVAILABLE, status=status, body=body)
    assert closest_copy(CITED, FAILED, session=session, endpoints=ENDPOINTS) is None


def test_malformed_failure_time_is_the_callers_bug(session) -> None:
    with pytest.raises(ValueError):
        closest_copy(CITED, "last tuesday", session=session, endpoints=ENDPOINTS)


# --- closest_copy: the Memento TimeGate fallback ----------------------------------------------

GATED = replace(ENDPOINTS, timegate=TIMEGATE)


def test_timegate_gives_the_memento_without_fetching_it(mocked, session) -> None:
    mocked.get(AVAILABLE, json={"archived_snapshots": {}})
    memento = f"http://web.archive.org/web/20240102030405/{CITED}"
    mocked.get(TIMEGATE + CITED, status=302, headers={
        "Location": memento,
        "Link": f'<{CITED}>; rel="original", <{memento}>; rel="memento"; datetime="Tue, 02 Jan 2024 03:04:05 GMT"'},
        match=[matchers.header_matcher({"Accept-Datetime": "Wed, 01 May 2024 12:00:00 GMT"})])
    found = closest_copy(CITED, FAILED, session=session, endpoints=GATED)
    assert found == f"https://web.archive.org/web/20240102030405/{CITED}"
    assert len(mocked.calls) == 2  # the memento itself was never requested


def test_timegate_memento_after_the_failure_does_not_count(mocked, session) -> None:
    mocked.get(AVAILABLE, status=500)
    mocked.get(TIMEGATE + CITED, status=302,
               headers={"Location": f"https://archive.test/web/20240601000000/{CITED}"})
    assert closest_copy(CITED, FAILED, session=session, endpoints=GATED) is None


def test_timegate_link_header_alone_is_enough(mocked, session) -> None:
    mocked.get(AVAILABLE, json={"archived_snapshots": {}})
    mocked.get(TIMEGATE + CITED, status=200, body="", headers={
        "Link": f'</web/20200101000000/{CITED}>; rel="first memento"; datetime="Wed, 01 Jan 2020 00:00:00 GMT"'})
    found = closest_copy(CITED, FAILED, session=session, endpoints=GATED)
    assert found == f"https://archive.test/web/20200101000000/{CITED}"


def test_timegate_not_asked_when_availability_answers(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest())
    assert closest_copy(CITED, FAILED, session=session, endpoints=GATED)
    assert len(mocked.calls) == 1


def test_timegate_failure_gives_none(mocked, session) -> None:
    mocked.get(AVAILABLE, json={"archived_snapshots": {}})
    mocked.get(TIMEGATE + CITED, body=requests.ConnectionError("refused"))
    assert closest_copy(CITED, FAILED, session=session, endpoints=GATED) is None


# --- ArchivedCopies.suggest -------------------------------------------------------------------

def copies(session: requests.Session, sleeps: list[float], *, max_lookups: int = 50,
           delay: float = 1.0) -> ArchivedCopies:
    return ArchivedCopies(session=session, endpoints=ENDPOINTS, sleep=sleeps.append, max_lookups=max_lookups,
                          delay=delay, now=lambda: datetime(2024, 6, 1, tzinfo=timezone.utc))


def test_suggest_prefers_our_own_snapshot(mocked, session) -> None:
    own = {CITED: "file:///evidence/run.warc.gz#sha256=ab12"}
    found = copies(session, []).suggest([result(CITED)], failing_since=lambda r: FAILED,
                                        own_snapshot_url=lambda r: own.get(r.url))
    assert found == own
    assert not mocked.calls


def test_suggest_asks_wayback_before_the_first_failure(mocked, session) -> None:
    other = "https://other.example.org/gone"
    mocked.get(AVAILABLE, json=closest())
    mocked.get(AVAILABLE, json={"archived_snapshots": {}})
    sleeps: list[float] = []
    results = [result(CITED), result(other, Verdict.CHANGED, Reason.CONTENT_DRIFT)]
    since = {CITED: FAILED}
    found = copies(session, sleeps, delay=1.5).suggest(
        results, failing_since=lambda r: since.get(r.url), own_snapshot_url=lambda r: None)
    assert found == {CITED: f"https://web.archive.org/web/20230919044612/{CITED}"}
    assert mocked.calls[0].request.params == {"url": CITED, "timestamp": "20240501120000"}
    # No first failure known: now is the bound.
    assert mocked.calls[1].request.params == {"url": other, "timestamp": "20240601000000"}
    assert sleeps == [1.5]


@pytest.mark.parametrize("verdict, reason", [
    (Verdict.OK, Reason.OK), (Verdict.PLACEHOLDER, Reason.PLACEHOLDER),
    (Verdict.BLOCKED, Reason.BOT_BLOCKED), (Verdict.ERROR, Reason.TIMEOUT),
    (Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT)])
def test_suggest_skips_evidence_that_is_not_gone(mocked, session, verdict, reason) -> None:
    asked: list[Result] = []

    def own(r: Result) -> str:
        asked.append(r)
        return "own"

    found = copies(session, []).suggest([result(CITED, verdict, reason)], failing_since=lambda r: FAILED,
                                        own_snapshot_url=own)
    assert found == {} and asked == [] and not mocked.calls


def test_suggest_caps_lookups_but_still_uses_own_snapshots(mocked, session) -> None:
    mocked.get(AVAILABLE, json=closest())
    urls = [f"https://gov.example.org/r{i}" for i in range(5)]
    own = {urls[4]: "https://evidence.example.org/r4"}
    sleeps: list[float] = []
    found = copies(session, sleeps, max_lookups=2).suggest(
        [result(u) for u in urls], failing_since=lambda r: FAILED, own_snapshot_url=lambda r: own.get(r.url))
    assert len(mocked.calls) == 2
    assert set(found) == {urls[0], urls[1], urls[4]}
    assert found[urls[4]] == own[urls[4]]
    assert sleeps == [1.0]


# --- Save Page Now ----------------------------------------------------------------------------

@pytest.mark.parametrize("key, secret, expected", [
    ("AK", "S3CR3T", "LOW AK:S3CR3T"), ("AK", None, None), (None, "S3CR3T", None), (None, None, None)])
def test_save_sends_low_auth_only_with_both_keys(mocked, session, key, secret, expected) -> None:
    mocked.post(SAVE, json={"url": CITED, "job_id": "spn2-abc"},
                match=[matchers.urlencoded_params_matcher({"url": CITED})])
    out = save_page_now([CITED], session=session, endpoints=ENDPOINTS, access_key=key, secret=secret,
                        sleep=lambda s: None)
    assert out[CITED].status == "submitted" and out[CITED].job_id == "spn2-abc"
    assert mocked.calls[0].request.headers.get("Authorization") == expected
    assert "S3CR3T" not in repr(out)


def test_save_reads_content_location_and_spaces_requests(mocked, session) -> None:
    second = "https://gov.example.org/data.csv"
    mocked.post(SAVE, status=200, body="<html>saved</html>",
                headers={"Content-Location": f"/web/20240501120000/{CITED}"})
    mocked.post(SAVE, json={"status": "error", "status_ext": "error:too-many-daily-captures",
                            "message": "This URL has been captured 10 times today."})
    sleeps: list[float] = []
    out = save_page_now([CITED, second], session=session, endpoints=ENDPOINTS, sleep=sleeps.append)
    assert out[CITED].archived_url == f"https://archive.test/web/20240501120000/{CITED}"
    assert (out[second].status, out[second].detail) == ("error", "This URL has been captured 10 times today.")
    assert sleeps == [5.0]


def test_save_reads_an_answer_nested_too_deep_as_no_json(mocked, session) -> None:
    mocked.post(SAVE, status=200, body="[" * 100_000, headers={"Content-Location": f"/web/20240501120000/{CITED}"})
    out = save_page_now([CITED], session=session, endpoints=ENDPOINTS, sleep=lambda s: None)
    assert (out[CITED].status, out[CITED].job_id) == ("submitted", None)
    assert out[CITED].archived_url == f"https://archive.test/web/20240501120000/{CITED}"


def test_save_honours_retry_after_once_then_marks_the_rest_rate_limited(mocked, session) -> None:
    mocked.post(SAVE, status=429, headers={"Retry-After": "3"})
    urls = [CITED, "https://gov.example.org/b", "https://gov.example.org/c"]
    sleeps: list[float] = []
    out = save_page_now(urls, session=session, endpoints=ENDPOINTS, sleep=sleeps.append)
    assert sleeps == [3.0]
    assert len(mocked.calls) == 2  # the first URL, and once more after the wait
    assert [out[u].status for u in urls] == ["rate_limited"] * 3


def test_save_retry_after_success_goes_on(mocked, session) -> None:
    mocked.post(SAVE, status=429, headers={"Retry-After": "3"})
    mocked.post(SAVE, json={"job_id": "spn2-1"})
    mocked.post(SAVE, json={"job_id": "spn2-2"})
    out = save_page_now([CITED, "https://gov.example.org/b"], session=session, endpoints=ENDPOINTS,
                        sleep=lambda s: None, delay=0)
    assert [o.job_id for o in out.values()] == ["spn2-1", "spn2-2"]


def test_save_does_not_retry_before_a_long_retry_after(mocked, session) -> None:
    mocked.post(SAVE, status=429, headers={"Retry-After": "3600"})
    sleeps: list[float] = []
    out = save_page_now([CITED, "https://gov.example.org/b"], session=session, endpoints=ENDPOINTS,
                        sleep=sleeps.append)
    assert sleeps == [] and len(mocked.calls) == 1
    assert {o.status for o in out.values()} == {"rate_limited"}


@pytest.mark.parametrize("status", [401, 403])
def test_save_stops_entirely_when_refused(mocked, session, status) -> None:
    mocked.post(SAVE, status=status)
    urls = [CITED, "https://gov.example.org/b"]
    out = save_page_now(urls, session=session, endpoints=ENDPOINTS, access_key="AK", secret="bad",
                        sleep=lambda s: None)
    assert len(mocked.calls) == 1
    assert [out[u].status for u in urls] == ["refused", "refused"]


def test_save_errors_and_cap(mocked, session) -> None:
    mocked.post(SAVE, body=requests.ConnectionError("reset"))
    mocked.post(SAVE, status=502)
    urls = [CITED, "https://gov.example.org/b", "https://gov.example.org/c"]
    out = save_page_now(urls, session=session, endpoints=ENDPOINTS, sleep=lambda s: None, max_requests=2)
    assert [out[u].status for u in urls] == ["error", "error", "rate_limited"]
    assert out[urls[1]].detail == "HTTP 502"
    assert len(mocked.calls) == 2


def test_credentials_from_env() -> None:
    env = {"LINKCHECK_WAYBACK_ACCESS_KEY": "AK", "LINKCHECK_WAYBACK_SECRET": "S"}
    assert credentials_from_env(env) == ("AK", "S")
    assert credentials_from_env({"LINKCHECK_WAYBACK_ACCESS_KEY": "AK", "LINKCHECK_WAYBACK_SECRET": ""}) == ("AK", None)
    assert credentials_from_env({}) == (None, None)


# --- End to end: a real availability endpoint on loopback --------------------------------------

class _FakeAvailability(BaseHTTPRequestHandler):
    """Answers like archive.org/wayback/available, for one known URL."""

    snapshots = {CITED: "20230919044612"}
    seen: list[tuple[dict[str, list[str]], str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        type(self).seen.append((query, self.headers.get("User-Agent", "")))
        url = query.get("url", [""])[0]
        stamp = self.snapshots.get(url)
        snapshots = {"closest": {"status": "200", "available": True, "timestamp": stamp,
                                 "url": f"http://web.archive.org/web/{stamp}/{url}"}} if stamp else {}
        payload = json.dumps({"url": url, "archived_snapshots": snapshots}).encode()
        self.send_response(200 if parts.path == "/wayback/available" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def availability_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeAvailability)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wayback/available"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_archived_url_filled_from_a_local_availability_endpoint_for_a_broken_link(availability_server) -> None:
    _FakeAvailability.seen.clear()
    session = new_session()
    session.trust_env = False  # a proxy from the environment must not intercept loopback
    finder = ArchivedCopies(session=session, endpoints=ArchiveEndpoints(availability=availability_server,
                                                                         timeout=5.0), sleep=lambda s: None)
    broken = result(CITED)
    ok = result("https://gov.example.org/fine", Verdict.OK, Reason.OK)
    unknown = result("https://gov.example.org/never-archived")
    found = finder.suggest([broken, ok, unknown], failing_since=lambda r: FAILED, own_snapshot_url=lambda r: None)
    filled = [replace(r, archived_url=found.get(r.url)) for r in (broken, ok, unknown)]
    assert [r.archived_url for r in filled] == [f"https://web.archive.org/web/20230919044612/{CITED}", None, None]
    assert [(q["url"], q["timestamp"]) for q, _ in _FakeAvailability.seen] == [
        ([CITED], ["20240501120000"]), (["https://gov.example.org/never-archived"], ["20240501120000"])]
    assert all(agent == USER_AGENT for _, agent in _FakeAvailability.seen)


def test_an_unreachable_archive_is_asked_once_and_not_waited_for() -> None:
    sleeps: list[float] = []
    results = [Result(url=f"https://gone.org/{i}", verdict=Verdict.BROKEN, reason=Reason.HTTP_STATUS, detail="404")
               for i in range(5)]
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, AVAILABLE, body=requests.ConnectionError("no route to host"))
        copies = ArchivedCopies(endpoints=ArchiveEndpoints(availability=AVAILABLE), sleep=sleeps.append)
        found = copies.suggest(results, failing_since=lambda r: None, own_snapshot_url=lambda r: None)
        assert found == {} and len(mock.calls) == 1
    assert sleeps == []
