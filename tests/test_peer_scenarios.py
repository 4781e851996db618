"""The network scenarios of Sphinx's linkcheck tests and lychee's mock-server tests, re-created on
a loopback server, each with the verdict our contract gives it (the table: tests/PEER_SCENARIOS.md)."""
from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkcheck.config import Config
from linkcheck.model import Reference, Verdict
from linkcheck.pipeline import run_check
from linkcheck.urls import placeholder_reason
from tests.conftest import InstantClock
from tests.peer_server import FAST, Peers, answer, check, delayed, peers, redirect, reset, run, typed, untyped, verdict

__all__ = ["peers"]  # a fixture

DEFAULT_FAIL_ON = frozenset({Verdict.BROKEN, Verdict.CHANGED, Verdict.PLACEHOLDER})
ANCHOR_PAGE = b'<!DOCTYPE html><html><body><a id="found"></a></body></html>'


def sphinx_defaults(served: Peers) -> None:
    """HEAD and GET on "/" and "/anchor.html", untyped; everything else 404."""
    async def root(request: web.Request) -> web.StreamResponse:
        return untyped(b"" if request.method == "HEAD" else b"ok\n\n")

    async def anchor(request: web.Request) -> web.StreamResponse:
        return untyped(b"" if request.method == "HEAD" else ANCHOR_PAGE)

    served.route("/", root)
    served.route("/anchor.html", anchor)


def redirect_once(served: Peers, *, support_head: bool) -> None:
    """Any path answers 302 to "/?redirected=1", which answers 204."""
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "HEAD" and not support_head:
            return web.Response(status=405)
        if request.query.get("redirected") == "1":
            return web.Response(status=204)
        return web.Response(status=302, headers={"Location": "/?redirected=1"})

    for path in ("/", "/path1", "/path2"):
        served.route(path, handler)


async def infinite_redirect_on_head(request: web.Request) -> web.StreamResponse:
    if request.method == "HEAD":
        return web.Response(status=302, headers={"Location": "/redirected"})
    return untyped(b"ok\n")


# == Sphinx: tests/test_builders/test_build_linkcheck.py =============================================

# Mirrors Sphinx test_defaults
async def test_defaults_document(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    sphinx_defaults(served)
    (tmp_path / "conf.py").write_text("project = 'x'\n")
    lines = [base + "/", base + "/#!bar", base + "#!bar", base + "/#top", base + "#does-not-exist",
             "conf.py", "path/to/notfound", f"![image]({base}/image.png)", f"![figure]({base}/image2.png)",
             base + "/anchor.html#found"]
    results = await check(tmp_path, lines, settings=FAST.replace(per_host=2))
    assert {u.replace(base, "B").replace(f"{tmp_path}/", ""): verdict(r) for u, r in results.items()} == {
        "B/": ("ok", "ok"),
        "B/#!bar": ("ok", "ok"),                                # a route: never checked
        "B/#top": ("ok", "ok"),                                 # Sphinx: broken; the HTML standard's top
        "B/#does-not-exist": ("error", "unreadable"),           # Sphinx: broken; "ok" is plain text
        "conf.py": ("skipped", "local_file"),
        "path/to/notfound": ("broken", "file_missing"),
        "B/image.png": ("broken", "http_status"),
        "B/image2.png": ("broken", "http_status"),
        "B/anchor.html#found": ("ok", "ok"),                   # untyped HTML, sniffed
    }
    assert 1 <= len(served.ports) <= 2  # connections are reused, never more than the per-host limit


# Mirrors Sphinx test_too_many_retries, test_invalid_ssl
async def test_https_link_to_a_plain_http_server(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    sphinx_defaults(served)
    url = base.replace("http://", "https://") + "/doesnotexist"
    result = (await check(tmp_path, [url]))[url]
    assert verdict(result) == ("error", "tls"), result.detail  # Sphinx: broken
    assert served.log == []  # no HTTP request was ever made


# Mirrors Sphinx test_anchors_ignored
async def test_hashbang_and_top_anchors_are_not_looked_for(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: typed("ok\n", "text/plain")))
    results = await check(tmp_path, [base + "/#!bar", base + "/#top"])
    assert [verdict(r) for r in results.values()] == [("ok", "ok"), ("ok", "ok")]


# Mirrors Sphinx test_anchors_ignored_for_url
async def test_anchors_on_chunked_untyped_pages(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    def chunked(text: str, status: int = 200) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(status=status, headers={"X-Test-Untyped": "1"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            raw = text.encode()
            for i in range(0, len(raw), 20):
                await response.write(raw[i:i + 20])
            await response.write_eof()
            return response
        return handler

    served.route("/valid", chunked("<h1 id='valid-anchor'>valid anchor</h1>\n"))
    served.route("/ignored", chunked("no anchor but page exists\n"))
    served.route("/invalid", chunked("not found\n", status=404))
    urls = ["/valid", "/valid#valid-anchor", "/valid#py:module::urllib.parse", "/valid#invalid-anchor",
            "/ignored", "/ignored#invalid-anchor", "/invalid", "/invalid#anchor"]
    results = await check(tmp_path, [base + u for u in urls])
    assert {u: verdict(results[base + u]) for u in urls} == {
        "/valid": ("ok", "ok"),
        "/valid#valid-anchor": ("ok", "ok"),
        "/valid#py:module::urllib.parse": ("broken", "fragment_missing"),
        "/valid#invalid-anchor": ("broken", "fragment_missing"),
        "/ignored": ("ok", "ok"),
        "/ignored#invalid-anchor": ("error", "unreadable"),  # Sphinx: ok, by its per-URL anchor setting
        "/invalid": ("broken", "http_status"),
        "/invalid#anchor": ("broken", "http_status"),
    }


# Mirrors Sphinx test_raises_for_invalid_status
async def test_server_error_on_an_anchored_link(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: typed("Internal Server Error", "text/html", status=500)))
    result = (await check(tmp_path, [base + "/#anchor"], settings=FAST.replace(retries=1)))[base + "/#anchor"]
    assert verdict(result) == ("error", "http_5xx") and result.http_status == 500  # Sphinx: broken
    assert served.methods("/") == ["GET", "GET"]  # retried once: a 500 may pass


# Mirrors Sphinx test_incomplete_html_anchor
async def test_anchor_in_untyped_text_that_is_not_html(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: untyped(b'this is <div id="anchor">not</div> a valid HTML document')))
    result = (await check(tmp_path, [base + "/#anchor"]))[base + "/#anchor"]
    assert verdict(result) == ("error", "unreadable")  # Sphinx: ok; a browser shows it as plain text
    assert "text/plain" in result.detail


# Mirrors Sphinx test_decoding_error_anchor_ignored
async def test_anchor_in_an_undecodable_body(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: untyped(b"\x80\x00\x80\x00")))
    result = (await check(tmp_path, [base + "/#anchor"]))[base + "/#anchor"]
    assert verdict(result) == ("error", "unreadable") and "application/octet-stream" in result.detail


# Mirrors Sphinx test_auth_header_uses_first_match, test_unauthorized_broken, test_auth_header_no_match;
# lychee test_basic_auth (client.rs and cli.rs), test_multi_basic_auth
async def test_basic_auth_protected_page(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    seen: list[str | None] = []

    async def protected(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") is None:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="members"'})
        return web.Response(status=403)

    served.route("/", protected)
    results = await check(tmp_path, [base + "/"])
    assert [verdict(r) for r in results.values()] == [("blocked", "auth_required")]  # Sphinx: broken
    assert seen == [None]
    with_credentials = base.replace("http://", "http://user1:password@") + "/"
    results = await check(tmp_path, [with_credentials])
    assert [r.verdict for r in results.values()] == ["blocked"]  # a person must look, with their own login
    assert all("password" not in r.url + r.detail for r in results.values())


# Mirrors Sphinx test_linkcheck_request_headers, test_linkcheck_request_headers_no_slash,
# test_linkcheck_request_headers_default
async def test_server_that_serves_html_to_html_clients_only(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    async def picky(request: web.Request) -> web.StreamResponse:
        accepted = request.headers.get("Accept", "").split(",")[0]
        return web.Response(status=200 if accepted == "text/html" and "X-Secret" not in request.headers else 400)

    served.route("/", picky)
    result = (await check(tmp_path, [base + "/"]))[base + "/"]
    assert verdict(result) == ("ok", "ok")


# Mirrors Sphinx test_follows_redirects_on_HEAD
async def test_temporary_redirect_followed_with_head(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    redirect_once(served, support_head=True)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True)))[base + "/"]
    assert verdict(result) == ("ok", "ok")  # Sphinx: redirected; a temporary redirect is fine as cited
    assert served.log == [("HEAD", "/"), ("HEAD", "/?redirected=1")]
    assert [(h.url, h.status) for h in result.redirects] == [(base + "/", 302)]


# Mirrors Sphinx test_follows_redirects_on_GET; lychee test_method_fallback
async def test_head_refused_then_redirect_followed_with_get(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    redirect_once(served, support_head=False)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True)))[base + "/"]
    assert verdict(result) == ("ok", "ok")
    assert served.log == [("HEAD", "/"), ("GET", "/"), ("GET", "/?redirected=1")]


# Mirrors Sphinx test_warns_disallowed_redirects, test_linkcheck_allowed_redirects
async def test_temporary_redirects_are_fine_as_cited(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    redirect_once(served, support_head=True)
    results = await check(tmp_path, [base + "/path1", base + "/path2"])
    assert {verdict(r) for r in results.values()} == {("ok", "ok")}  # Sphinx: redirected (warned)
    assert all(r.final_url == base + "/?redirected=1" and r.http_status == 204 for r in results.values())


@pytest.fixture
async def self_signed(tmp_path: Path) -> AsyncIterator[tuple[str, Path, Path]]:
    """(URL of an HTTPS server with a certificate of an unknown CA, that CA's bundle, and the
    bundle of a CA whose certificate for the server has expired)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    app = web.Application()
    app.router.add_get("/", _ok_text)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    try:
        yield f"https://127.0.0.1:{server.port}/", bundle, tmp_path
    finally:
        await server.close()


async def _ok_text(request: web.Request) -> web.Response:
    return typed("ok\n", "text/plain")


# Mirrors Sphinx test_connect_to_selfsigned_fails, test_connect_to_selfsigned_with_tls_verify_false
async def test_self_signed_certificate(self_signed: tuple[str, Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, _, _ = self_signed
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = (await check(tmp_path, [url]))[url]
    assert verdict(result) == ("error", "tls") and "certificate" in result.detail  # no switch turns it off


# Mirrors Sphinx test_connect_to_selfsigned_with_tls_cacerts, test_connect_to_selfsigned_with_requests_env_var
async def test_self_signed_certificate_trusted_through_ssl_cert_file(self_signed: tuple[str, Path, Path],
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url, bundle, _ = self_signed
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert verdict((await check(tmp_path, [url]))[url]) == ("ok", "ok")


# Mirrors lychee test_invalid_ssl (client.rs)
async def test_expired_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = trustme.CA()
    now = datetime.now(timezone.utc)
    expired = ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    expired.configure_cert(context)
    app = web.Application()
    app.router.add_get("/", _ok_text)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=context)
    try:
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # trusted CA: only the date is wrong
        url = f"https://127.0.0.1:{server.port}/"
        result = (await check(tmp_path, [url]))[url]
    finally:
        await server.close()
    assert verdict(result) == ("error", "tls") and "expired" in result.detail


# Mirrors Sphinx test_TooManyRedirects_on_HEAD
async def test_endless_redirects_on_head_but_get_answers(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", infinite_redirect_on_head)
    served.route("/redirected", infinite_redirect_on_head)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True, max_redirects=5)))[
        base + "/"]
    assert verdict(result) == ("ok", "ok") and result.redirects == ()
    assert served.log[-1] == ("GET", "/") and served.methods("/").count("GET") == 1


# Mirrors Sphinx test_ignore_local_redirection
async def test_redirect_to_an_excluded_url_on_head_only(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", infinite_redirect_on_head)
    settings = FAST.replace(head_first=True, exclude=(f"^{base}/redirected",))
    result = (await check(tmp_path, [base + "/"], settings=settings))[base + "/"]
    # Sphinx: ignored. HEAD's chain leads to the excluded hop, so GET is asked, and answers 200.
    assert verdict(result) == ("ok", "ok")
    assert "/redirected" not in served.paths() and served.log == [("HEAD", "/"), ("GET", "/")]


# Mirrors Sphinx test_ignore_local_redirection (the redirect on GET too)
async def test_redirect_to_an_excluded_local_url(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", redirect(302, "/redirected"))
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(exclude=(f"^{base}/redirected",))))[
        base + "/"]
    assert verdict(result) == ("skipped", "excluded") and base + "/redirected" in result.detail
    assert [h.status for h in result.redirects] == [302] and "/redirected" not in served.paths()


# Mirrors Sphinx test_ignore_remote_redirection
async def test_redirect_to_an_excluded_remote_url(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", redirect(301, "/local"))
    served.route("/local", redirect(301, "http://example.test/migrated"))
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(exclude=("http://example.test",))))[
        base + "/"]
    assert verdict(result) == ("skipped", "excluded")
    assert "http://example.test/migrated" in result.detail
    assert [h.url for h in result.redirects] == [base + "/", base + "/local"]


def _ok_page() -> web.Response:
    return typed("<html><body><p>Open data</p></body></html>", "text/html")


def then_ok(served: Peers, path: str, first: list[web.Response]) -> None:
    """`path` answers each of `first` in turn, then 200."""
    async def handler(request: web.Request) -> web.StreamResponse:
        done = served.count(path) - 1
        return first[done] if done < len(first) else _ok_page()
    served.route(path, handler)


# Mirrors Sphinx test_too_many_requests_retry_after_int_delay
async def test_rate_limited_once_with_retry_after_seconds(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    then_ok(served, "/", [web.Response(status=429, headers={"Retry-After": "0"})])
    clock = InstantClock()
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(retries=2), clock=clock))[base + "/"]
    assert verdict(result) == ("ok", "ok") and served.methods("/") == ["GET", "GET"]
    assert clock.sleeps == [0.0]


# Mirrors Sphinx test_too_many_requests_retry_after_HTTP_date
@pytest.mark.parametrize("ahead", [0, 3])
async def test_rate_limited_once_with_retry_after_date(peers: tuple[Peers, str], tmp_path: Path,
                                                       ahead: int) -> None:
    served, base = peers
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=ahead), usegmt=True)
    then_ok(served, "/", [web.Response(status=429, headers={"Retry-After": when})])
    clock = InstantClock()
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(retries=2), clock=clock))[base + "/"]
    assert verdict(result) == ("ok", "ok") and served.methods("/") == ["GET", "GET"]
    assert len(clock.sleeps) == 1 and max(0, ahead - 2) <= clock.sleeps[0] <= ahead


# Mirrors Sphinx test_too_many_requests_retry_after_without_header; lychee test_retry (cli.rs)
async def test_rate_limited_once_without_retry_after(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    then_ok(served, "/", [web.Response(status=429)])
    clock = InstantClock()
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(retries=2), clock=clock))[base + "/"]
    assert verdict(result) == ("ok", "ok") and served.methods("/") == ["GET", "GET"]
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0  # a backoff of our own


# Mirrors Sphinx test_too_many_requests_user_timeout
async def test_rate_limited_for_good(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: web.Response(status=429)))
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(retries=2)))[base + "/"]
    assert verdict(result) == ("blocked", "rate_limited")  # Sphinx: broken
    assert served.methods("/") == ["GET", "GET", "GET"]


# Mirrors Sphinx test_requests_timeout; lychee test_timeout (client.rs), test_accept_timeout (cli.rs)
async def test_answer_slower_than_the_timeout(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", delayed(1.0, answer(_ok_page)))
    report = await run(tmp_path, [base + "/"], settings=FAST.replace(timeout=0.1))
    assert [verdict(r) for r in report.results] == [("error", "timeout")]
    assert report.failing(DEFAULT_FAIL_ON) == []  # undecided, so not a failure by default


# Mirrors Sphinx test_connection_contention
async def test_many_links_to_one_host_through_one_connection(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    redirect_once(served, support_head=True)
    in_flight = most = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await delayed(0.01, answer(_ok_page))(request)
        finally:
            in_flight -= 1

    for i in range(10):
        served.route(f"/page{i}", counted)
    results = await check(tmp_path, [f"{base}/page{i}" for i in range(10)],
                          settings=FAST.replace(per_host=1, concurrency=10))
    assert len(results) == 10 and {verdict(r) for r in results.values()} == {("ok", "ok")}
    assert most == 1


# Mirrors Sphinx test_get_after_head_raises_connection_error
async def test_head_connection_dropped_then_get(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    async def handler(request: web.Request) -> web.StreamResponse:
        return await reset(request) if request.method == "HEAD" else web.Response(status=200)

    served.route("/", handler)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True)))[base + "/"]
    methods = served.methods("/")
    assert verdict(result) == ("ok", "ok") and methods[0] == "HEAD" and methods[-1] == "GET"
    assert methods.count("GET") == 1


# Mirrors Sphinx test_linkcheck_case_sensitivity
async def test_redirect_that_changes_the_case_of_the_path(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    async def capitalise(request: web.Request) -> web.StreamResponse:
        if request.path.islower():
            return web.Response(status=301, headers={"Location": request.path.upper()})
        return untyped(b"ok\n\n")

    for path in ("/path1", "/path2", "/PATH1", "/PATH2", "/PATH3"):
        served.route(path, capitalise)
    results = await check(tmp_path, [base + "/path1", base + "/path2", base + "/PATH3"])
    assert verdict(results[base + "/path1"]) == ("redirected", "permanent_redirect")
    assert results[base + "/path1"].suggested_url == base + "/PATH1"
    assert verdict(results[base + "/path2"]) == ("redirected", "permanent_redirect")
    assert verdict(results[base + "/PATH3"]) == ("ok", "ok")


# == lychee: lychee-lib/src/client.rs, checker/website.rs, lychee-bin/tests/{cli,rate_limit}.rs ======

# Mirrors lychee test_nonexistent (client.rs), test_failure_404_link (cli.rs)
async def test_not_found(peers: tuple[Peers, str], tmp_path: Path) -> None:
    _, base = peers
    report = await run(tmp_path, [base + "/"])
    assert [verdict(r) for r in report.results] == [("broken", "http_status")]
    assert report.failing(DEFAULT_FAIL_ON) == list(report.results)  # the exit status is 1


# Mirrors lychee test_nonexistent_with_path (client.rs)
async def test_nothing_listening(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/invalid"
    result = (await check(tmp_path, [url]))[url]
    assert verdict(result) == ("broken", "connection_refused")


# Mirrors lychee test_github, test_github_nonexistent_repo, test_github_nonexistent_file (client.rs)
async def test_code_host_repository_pages(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    readme = ('<html><head><title>lycheeverse/lychee</title></head><body><article class="markdown-body">'
              '<h2><a id="user-content-installation" href="#installation">Installation</a></h2></article>'
              '</body></html>')
    served.route("/lycheeverse/lychee", answer(lambda: typed(readme, "text/html; charset=utf-8")))
    urls = ["/lycheeverse/lychee", "/lycheeverse/lychee#installation", "/lycheeverse/not-lychee",
            "/lycheeverse/lychee/blob/master/NON_EXISTENT_FILE.md"]
    results = await check(tmp_path, [base + u for u in urls])
    assert [verdict(results[base + u]) for u in urls] == [
        ("ok", "ok"), ("ok", "ok"), ("broken", "http_status"), ("broken", "http_status")]


# Mirrors lychee test_non_github (client.rs)
async def test_plain_200(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: web.Response(status=200)))
    assert [verdict(r) for r in (await check(tmp_path, [base + "/"])).values()] == [("ok", "ok")]


# Mirrors lychee test_exponential_backoff (client.rs)
async def test_timeouts_retried_with_growing_waits(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", delayed(1.0, answer(_ok_page)))
    clock = InstantClock()
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(timeout=0.05, retries=3), clock=clock))[
        base + "/"]
    assert verdict(result) == ("error", "timeout") and "4 attempts" in result.detail
    assert len(clock.sleeps) == 3 and clock.sleeps[0] < clock.sleeps[2]
    assert served.methods("/") == ["GET"] * 4


# Mirrors lychee test_avoid_reqwest_panic (client.rs)
async def test_quote_mark_as_host(tmp_path: Path) -> None:
    assert placeholder_reason('http://"') == "invalid_url"
    results = await check(tmp_path, [], references=(Reference(id="q", url='http://"'),))
    assert [verdict(r) for r in results.values()] == [("placeholder", "invalid_url")]


# Mirrors lychee test_max_redirects (client.rs)
async def test_redirect_to_itself_and_too_many_redirects(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/redirect", redirect(308, "/redirect"))

    async def onwards(request: web.Request) -> web.StreamResponse:
        n = int(request.query.get("n", "0"))
        return web.Response(status=308, headers={"Location": f"/onwards?n={n + 1}"})

    served.route("/onwards", onwards)
    results = await check(tmp_path, [base + "/redirect", base + "/onwards"], settings=FAST.replace(max_redirects=15))
    assert verdict(results[base + "/redirect"]) == ("broken", "redirect_loop")  # lychee: error 308
    assert served.methods("/redirect") == ["GET"]  # a loop is seen at once, not after 15 hops
    assert verdict(results[base + "/onwards"]) == ("broken", "too_many_redirects")
    assert len(results[base + "/onwards"].redirects) == 16


# Mirrors lychee test_redirects (client.rs), test_redirect_json (cli.rs)
async def test_permanent_redirect_to_a_good_page(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/redirect", redirect(308, "/ok"))
    served.route("/ok", answer(_ok_page))
    result = (await check(tmp_path, [base + "/redirect"]))[base + "/redirect"]
    assert verdict(result) == ("redirected", "permanent_redirect")  # lychee: ok, with the hop listed
    assert [(h.url, h.status) for h in result.redirects] == [(base + "/redirect", 308)]
    assert result.final_url == base + "/ok" and result.suggested_url == base + "/ok"


# Mirrors lychee test_unsupported_scheme (client.rs)
async def test_schemes_that_are_not_fetched(tmp_path: Path) -> None:
    urls = ["ftp://ftp.gnu.org/", "gopher://gopher.floodgap.com/", "slack://open"]
    results = await check(tmp_path, urls)
    assert {u: verdict(r) for u, r in results.items()} == {u: ("skipped", "unsupported_scheme") for u in urls}


# Mirrors lychee test_fallback_returns_last_status_when_all_fail (checker/website.rs)
async def test_head_and_get_both_refused(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=404 if request.method == "HEAD" else 403)

    served.route("/", handler)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True)))[base + "/"]
    assert verdict(result) == ("blocked", "bot_blocked") and result.http_status == 403  # GET's answer


# Mirrors lychee test_timeout_short_circuits_fallback (checker/website.rs)
async def test_head_timeout_then_get(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers

    async def handler(request: web.Request) -> web.StreamResponse:
        return await (delayed(2.0, answer(_ok_page)) if request.method == "HEAD" else answer(_pdf))(request)

    served.route("/", handler)
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(head_first=True, timeout=0.2)))[base + "/"]
    assert verdict(result) == ("ok", "ok")  # lychee: timeout; any HEAD trouble means GET here
    assert served.methods("/") == ["HEAD", "GET"]


def _pdf() -> web.Response:
    return typed(b"%PDF-1.4\n", "application/pdf")


# Mirrors lychee test_stdin_input_failure (cli.rs)
async def test_internal_server_error(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: web.Response(status=500)))
    report = await run(tmp_path, [base + "/"])
    assert [verdict(r) for r in report.results] == [("error", "http_5xx")]
    assert report.failing(DEFAULT_FAIL_ON) == []  # lychee exits 2; undecided is not failing by default


# Mirrors lychee test_cache_unknown_status_code (cli.rs)
async def test_unknown_status_999(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: web.Response(status=999)))
    report = await run(tmp_path, [base + "/"], archive=True, cache_ttl=3600.0)
    assert [verdict(r) for r in report.results] == [("blocked", "bot_blocked")]
    again = await run(tmp_path, [base + "/"], archive=True, cache_ttl=3600.0)
    assert [verdict(r) for r in again.results] == [("blocked", "bot_blocked")]
    assert served.methods("/") == ["GET", "GET"]  # never answered from the cache


# Mirrors lychee test_no_duplicate_requests (cli.rs)
async def test_one_url_cited_a_hundred_times(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", delayed(0.05, answer(_ok_page)))
    results = await check(tmp_path, [base + "/"] * 100)
    assert len(results) == 1 and len(results[base + "/"].citations) == 100
    assert served.methods("/") == ["GET"]


# Mirrors lychee test_process_internal_host_caching (cli.rs)
async def test_rate_limited_twice_then_ok_cited_in_four_documents(peers: tuple[Peers, str],
                                                                  tmp_path: Path) -> None:
    served, base = peers
    then_ok(served, "/", [web.Response(status=429), web.Response(status=429)])
    for i in range(4):
        (tmp_path / f"test{i}.md").write_text(f"<{base}/>\n<{base}/>\n", encoding="utf-8")
    clock = InstantClock()
    settings = FAST.replace(retries=2)
    config = Config(path=None, documents=tuple(sorted(tmp_path.glob("test*.md"))), settings=settings)
    report = await run_check(config, settings=settings, clock=clock)
    assert [verdict(r) for r in report.results] == [("ok", "ok")]
    assert len(report.results[0].citations) == 8 and served.methods("/") == ["GET"] * 3


# Mirrors lychee test_user_agent_set_on_remote_input, test_default_user_agent_set_on_remote_input (cli.rs)
async def test_user_agent_sent(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    agents: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        agents.append(request.headers.get("User-Agent", ""))
        return _ok_page()

    served.route("/", handler)
    await check(tmp_path, [base + "/"])
    await check(tmp_path, [base + "/"], settings=FAST.replace(user_agent="Policy team checker/1.0"))
    assert agents[0].startswith("linkcheck/") and agents[1] == "Policy team checker/1.0"


# Mirrors lychee test_fragment_check_non_get_method_hint (cli.rs)
async def test_fragment_is_checked_with_get_even_with_head_first(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/", answer(lambda: typed(ANCHOR_PAGE, "text/html")))
    results = await check(tmp_path, [base + "/#found", base + "/#lost"], settings=FAST.replace(head_first=True))
    assert verdict(results[base + "/#found"]) == ("ok", "ok")
    assert verdict(results[base + "/#lost"]) == ("broken", "fragment_missing")
    assert served.methods("/") == ["GET"]


# Mirrors lychee test_accept_overrides_defaults_not_additive (cli.rs)
async def test_accepted_statuses_add_to_success(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/ok", answer(_ok_page))
    refs = (Reference(id="ok", url=base + "/ok", accept=(404,)), Reference(id="gone", url=base + "/gone", accept=(404,)))
    results = await check(tmp_path, [], references=refs)
    assert verdict(results[base + "/ok"]) == ("ok", "ok")  # lychee: 200 rejected once only 404 is accepted
    assert verdict(results[base + "/gone"]) == ("ok", "ok")


# Mirrors lychee test_retry_after_seconds, test_retry_rate_limit_headers (rate_limit.rs)
async def test_retry_after_is_waited_for(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    then_ok(served, "/", [web.Response(status=429, headers={"Retry-After": "2"})])
    clock = InstantClock()
    result = (await check(tmp_path, [base + "/"], settings=FAST.replace(retries=1), clock=clock))[base + "/"]
    assert verdict(result) == ("ok", "ok") and served.methods("/") == ["GET", "GET"]
    assert clock.sleeps == [2.0]


# Mirrors lychee test_text_fragments (cli.rs)
async def test_text_fragments_found_and_not_found(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    page = ("<html><head><meta charset='utf-8'><title>Annual review</title>"
            "<style>.highlight { note-style: 'fees-waived'; }</style>"
            "<script>var label = 'hidden-total';</script></head><body>"
            "<p>Spending on primary schools rose by twelve percent. Enrolment stayed flat.</p>"
            "<p>Teacher numbers fell in three regions.</p>"
            "<p>x\n   y\n  zz</p>"
            "<data-card data-caption='caption-only' class='highlight'></data-card></body></html>")
    served.route("/review.html", answer(lambda: typed(page, "text/html; charset=utf-8")))
    found = ["#:~:text=Enrolment", "#:~:text=rose%20by%20twelve%20percent",
             "#:~:text=stayed%20flat.,Teacher%20numbers",  # start and end in two paragraphs
             "#:~:text=primary%20schools-,rose%20by,-twelve", "#:~:text=x-,y%20zz"]
    gone = ["#:~:text=fifty%20million", "#:~:text=fees-waived", "#:~:text=hidden-total",
            "#:~:text=caption-only"]  # absent, or only in a style, a script or an attribute
    results = await check(tmp_path, [base + "/review.html" + f for f in found + gone])
    assert {f: verdict(results[base + "/review.html" + f]) for f in found + gone} == {
        **{f: ("ok", "ok") for f in found}, **{f: ("changed", "quote_missing") for f in gone}}
    assert served.methods("/review.html") == ["GET"]
