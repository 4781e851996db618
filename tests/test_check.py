"""The crawler and the verdict table end to end, against a real aiohttp server on loopback."""
from __future__ import annotations

import asyncio
import gc
import ipaddress
import socket
import ssl
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web as aioweb
from aiohttp.test_utils import TestServer

from linkcheck import fetch
from linkcheck.config import Config, Settings
from linkcheck.model import REASONS_BY_VERDICT, Reason, Reference, Result, RunReport, Verdict
from linkcheck.pipeline import run_check
from linkcheck.resolver import StaticResolver
from tests.conftest import InstantClock
from tests.server import Catalogue, article, html

FAST = Settings(timeout=1.0, retries=1, allow_private=True, concurrency=16, per_host=4)


async def check(tmp_path: Path, urls: list[str], clock: InstantClock, *, settings: Settings = FAST,
                references: tuple[Reference, ...] = (), **kwargs: Any) -> dict[str, Result]:
    """Cite each URL in a Markdown document and check it; results keyed by URL."""
    config = Config(path=None, documents=(_doc(tmp_path, urls),), settings=settings, references=references)
    report = await run_check(config, settings=settings, clock=clock, **kwargs)
    return {r.url: r for r in report.results}


VERDICTS = [
    ("/ok", "ok", "ok"),
    ("/page#chapter-3", "ok", "ok"),
    ("/brotli", "ok", "ok"),
    ("/page#legacy-anchor", "ok", "ok"),
    ("/temp", "ok", "ok"),
    ("/head405", "ok", "ok"),
    ("/cookie-gate", "ok", "ok"),
    ("/flaky", "ok", "ok"),
    ("/throttled-once", "ok", "ok"),
    ("/moved", "redirected", "permanent_redirect"),
    ("/moved308", "redirected", "permanent_redirect"),
    ("/chain/3", "redirected", "permanent_redirect"),
    ("/gone", "broken", "http_status"),
    ("/withdrawn", "broken", "http_status"),
    ("/loop/a", "broken", "redirect_loop"),
    ("/chain/12", "broken", "too_many_redirects"),
    ("/soft404", "broken", "soft_404"),
    ("/soft404-heading", "broken", "soft_404"),
    ("/deep/old-article", "broken", "soft_404"),
    ("/page#appendix-z", "broken", "fragment_missing"),
    ("/auth", "blocked", "auth_required"),
    ("/wall", "blocked", "bot_blocked"),
    ("/ratelimited", "blocked", "rate_limited"),
    ("/error", "error", "http_5xx"),
    ("/slow", "error", "timeout"),
    ("/reset", "error", "connection"),
]


@pytest.mark.parametrize("path,verdict,reason", VERDICTS, ids=[v[0] for v in VERDICTS])
async def test_verdict_table(web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock,
                             path: str, verdict: str, reason: str) -> None:
    _, base = web
    result = (await check(tmp_path, [base + path], clock))[base + path]
    assert (result.verdict, result.reason) == (verdict, reason), result.detail
    assert result.reason in REASONS_BY_VERDICT[result.verdict]
    assert result.detail and result.citations[0].line == 1


async def test_redirect_hops_and_suggestion_are_recorded(web: tuple[Catalogue, str], tmp_path: Path,
                                                         clock: InstantClock) -> None:
    _, base = web
    result = (await check(tmp_path, [base + "/chain/2"], clock))[base + "/chain/2"]
    assert [(h.url, h.status) for h in result.redirects] == [
        (base + "/chain/2", 301), (base + "/chain/1", 301), (base + "/chain/0", 301)]
    assert result.final_url == base + "/ok" and result.http_status == 200
    assert result.suggested_url == base + "/ok" and base + "/ok" in result.detail


async def test_head_is_tried_first_and_get_follows_when_head_fails(web: tuple[Catalogue, str], tmp_path: Path,
                                                                   clock: InstantClock) -> None:
    catalogue, base = web
    results = await check(tmp_path, [base + "/head405", base + "/report.pdf"], clock, archive=False,
                          settings=FAST.replace(head_first=True))
    assert results[base + "/head405"].verdict == "ok"
    assert catalogue.requests_to("/head405") == ["HEAD", "GET"]
    assert catalogue.requests_to("/report.pdf") == ["HEAD"]  # HEAD sufficed: no body needed


async def test_without_head_first_every_url_costs_one_get(web: tuple[Catalogue, str], tmp_path: Path,
                                                           clock: InstantClock) -> None:
    catalogue, base = web
    results = await check(tmp_path, [base + "/soft404", base + "/report.pdf"], clock, archive=False)
    assert results[base + "/soft404"].reason == "soft_404"  # the HTML sniff still reads the page
    assert catalogue.requests_to("/soft404") == ["GET"] and catalogue.requests_to("/report.pdf") == ["GET"]


async def test_body_wanted_means_one_get(web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    catalogue, base = web
    await check(tmp_path, [base + "/ok", base + "/report.pdf"], clock, archive=True)
    assert catalogue.requests_to("/ok") == ["GET"] and catalogue.requests_to("/report.pdf") == ["GET"]


async def test_each_url_fetched_once_however_often_cited(web: tuple[Catalogue, str], tmp_path: Path,
                                                         clock: InstantClock) -> None:
    catalogue, base = web
    spellings = [base + "/page", base.replace("http://", "HTTP://") + "/page", base + "/page#chapter-3"]
    results = await check(tmp_path, spellings, clock)
    assert catalogue.requests_to("/page") == ["GET"]
    assert len(results[base + "/page"].citations) == 2
    assert [c.line for c in results[base + "/page"].citations] == [1, 2]
    assert results[base + "/page#chapter-3"].verdict == "ok"


async def test_retry_after_is_honoured_then_succeeds(web: tuple[Catalogue, str], tmp_path: Path,
                                                     clock: InstantClock) -> None:
    catalogue, base = web
    results = await check(tmp_path, [base + "/throttled-once"], clock)
    assert results[base + "/throttled-once"].verdict == "ok"
    assert clock.sleeps == [1.0]
    assert catalogue.requests_to("/throttled-once") == ["GET", "GET"]


async def test_retry_after_beyond_cap_is_not_waited_for(web: tuple[Catalogue, str], tmp_path: Path,
                                                        clock: InstantClock) -> None:
    catalogue, base = web
    results = await check(tmp_path, [base + "/ratelimited"], clock)
    assert results[base + "/ratelimited"].reason == "rate_limited"
    assert clock.sleeps == [] and catalogue.requests_to("/ratelimited") == ["GET"]


async def test_transient_5xx_retried_with_backoff(web: tuple[Catalogue, str], tmp_path: Path,
                                                  clock: InstantClock) -> None:
    catalogue, base = web
    settings = FAST.replace(retries=3)
    results = await check(tmp_path, [base + "/error"], clock, settings=settings)
    assert results[base + "/error"].reason == "http_5xx" and "4 attempts" in results[base + "/error"].detail
    assert catalogue.requests_to("/error") == ["GET"] * 4
    assert len(clock.sleeps) == 3 and clock.sleeps[0] < clock.sleeps[2]


async def test_body_reading_is_capped(web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    _, base = web
    settings = FAST.replace(max_body_bytes=1024 * 1024, timeout=10.0)
    results = await check(tmp_path, [base + "/big", base + "/bomb"], clock, settings=settings)
    assert results[base + "/big"].verdict == "ok"
    assert results[base + "/bomb"].verdict == "ok"


async def test_connection_refused_is_broken(tmp_path: Path, clock: InstantClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/legacy/tables"
    result = (await check(tmp_path, [url], clock))[url]
    assert (result.verdict, result.reason) == ("broken", "connection_refused")


# -- names, addresses and the network -------------------------------------------------------------

async def test_unknown_name_is_broken_dns_when_the_network_works(web: tuple[Catalogue, str], tmp_path: Path,
                                                                 clock: InstantClock) -> None:
    _, base = web
    port = base.rsplit(":", 1)[1]
    resolver = StaticResolver({"evidence.site": "127.0.0.1"})
    urls = [f"http://evidence.site:{port}/ok", "http://no-such-host.site/report"]
    results = await check(tmp_path, urls, clock, resolver=resolver)
    assert results[urls[0]].verdict == "ok"
    assert (results[urls[1]].verdict, results[urls[1]].reason) == ("broken", "dns")


async def test_offline_run_says_offline_not_broken(tmp_path: Path, clock: InstantClock) -> None:
    resolver = StaticResolver({}, failure=socket.EAI_AGAIN)  # nothing resolves, not even the probes
    urls = ["https://www.who.int/report.pdf", "https://www.unicef.org/press"]
    report = await run_check(Config(documents=(), settings=FAST, references=tuple(
        Reference(id=f"r{i}", url=u) for i, u in enumerate(urls))), clock=clock, resolver=resolver)
    assert report.offline
    assert {(r.verdict, r.reason) for r in report.results} == {("error", "offline")}


async def test_nxdomain_everywhere_but_probe_resolves_is_broken(tmp_path: Path, clock: InstantClock) -> None:
    resolver = StaticResolver({"www.wikipedia.org": "198.51.100.7"})  # the probe resolves; nothing is fetched
    url = "https://gone-domain.org/paper"
    result = (await check(tmp_path, [url], clock, resolver=resolver))[url]
    assert (result.verdict, result.reason) == ("broken", "dns")


async def test_private_addresses_are_not_fetched_by_default(web: tuple[Catalogue, str], tmp_path: Path,
                                                            clock: InstantClock) -> None:
    catalogue, base = web
    port = base.rsplit(":", 1)[1]
    resolver = StaticResolver({"intranet.site": "127.0.0.1"})
    urls = [base + "/ok", f"http://intranet.site:{port}/ok", "http://169.254.169.254/computeMetadata/v1/"]
    results = await check(tmp_path, urls, clock, settings=FAST.replace(allow_private=False), resolver=resolver)
    for url in urls:
        assert (results[url].verdict, results[url].reason) == ("skipped", "private_address")
    assert catalogue.log == []


async def test_redirect_to_private_address_is_refused(web: tuple[Catalogue, str], tmp_path: Path,
                                                      clock: InstantClock) -> None:
    catalogue, base = web
    # Here the loopback server plays a public site; everything else keeps the real policy.
    loopback = ipaddress.ip_address("127.0.0.1")
    results = await check(tmp_path, [base + "/to-private"], clock, settings=FAST.replace(allow_private=False),
                          is_public=lambda ip: ip == loopback)
    result = results[base + "/to-private"]
    assert (result.verdict, result.reason) == ("skipped", "private_address")
    assert [h.status for h in result.redirects] == [302]
    assert catalogue.requests_to("/to-private") == ["GET"]


# -- TLS ------------------------------------------------------------------------------------------

@pytest.fixture
async def https_site(tmp_path: Path) -> Any:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    app = aioweb.Application()

    async def page(request: aioweb.Request) -> aioweb.Response:
        return html(article("Encrypted overview"))

    app.router.add_get("/overview", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield f"https://127.0.0.1:{server.port}/overview", bundle
    await server.close()


async def test_tls_trusts_the_ca_named_by_ssl_cert_file(https_site: Any, tmp_path: Path, clock: InstantClock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url, bundle = https_site
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    result = (await check(tmp_path, [url], clock))[url]
    assert result.verdict == "ok", result.detail


async def test_untrusted_certificate_is_a_tls_error(https_site: Any, tmp_path: Path, clock: InstantClock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = https_site
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = (await check(tmp_path, [url], clock))[url]
    assert (result.verdict, result.reason) == ("error", "tls")
    assert "certificate" in result.detail


async def test_the_trust_store_is_read_once_and_only_for_https(https_site: Any, web: tuple[Catalogue, str],
                                                                tmp_path: Path, clock: InstantClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url, bundle = https_site
    _, base = web
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    built: list[ssl.SSLContext] = []
    real = fetch._ssl_context
    monkeypatch.setattr(fetch, "_ssl_context", lambda: built.append(real()) or built[-1])
    assert (await check(tmp_path, [base + "/ok"], clock))[base + "/ok"].verdict == "ok"
    assert built == []  # plain HTTP never reads it
    results = await check(tmp_path, [url, url + "?edition=2", url + "?edition=3"], clock)
    assert {r.verdict for r in results.values()} == {"ok"}
    assert len(built) == 1


# -- how a run treats its process -----------------------------------------------------------------

async def test_a_run_leaves_the_process_settings_alone(
        web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    """A program that runs checks keeps its own collector threshold, as it set it, during runs and after."""
    _, base = web
    before = gc.get_threshold()
    gc.set_threshold(1234, *before[1:])
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    try:
        during: list[tuple[int, ...]] = []
        await asyncio.gather(check(tmp_path / "a", [base + "/ok", base + "/page"], clock,
                                   progress=lambda done, total: during.append(gc.get_threshold())),
                             check(tmp_path / "b", [base + "/slow"], clock))
        assert during and set(during) == {(1234, *before[1:])}
        assert gc.get_threshold() == (1234, *before[1:])
    finally:
        gc.set_threshold(*before)


async def test_a_run_lets_go_of_each_page_once_it_is_judged(tmp_path: Path, clock: InstantClock) -> None:
    body = b"<html><body><p>" + b"evidence " * 32_000 + b"</p></body></html>"  # 288 KB a page

    async def page(request: aioweb.Request) -> aioweb.Response:
        return aioweb.Response(body=body, content_type="text/html")

    app = aioweb.Application()
    app.router.add_get("/doc/{i}", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    urls = [f"http://127.0.0.1:{server.port}/doc/{i}" for i in range(60)]
    # Once, before measuring: the reader's worker processes and the modules they take.
    (tmp_path / "warm").mkdir()
    await check(tmp_path / "warm", urls[:1], clock, settings=FAST)
    tracemalloc.start()
    try:
        # Pages wait for their reading holding their bytes: the run's byte budget bounds them.
        results = await check(tmp_path, urls, clock, settings=FAST.replace(concurrency=4, per_host=4,
                                                                           max_bytes_in_flight=4 * len(body)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await server.close()
    assert {r.verdict for r in results.values()} == {"ok"}
    # Held to the end, the 60 bodies alone would take 17 MB; four held at once take a fraction of it.
    assert peak < 20 * len(body), f"peak {peak / 1e6:.1f} MB"


def test_a_report_repr_is_short_whatever_its_size() -> None:
    result = Result(url="https://site.example/a", verdict=Verdict.OK, reason=Reason.OK, detail="HTTP 200")
    report = RunReport(id="r1", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:09Z", tool_version="1",
                       results=(result,) * 5000)
    # asyncio.run() on Python 3.11 formats the repr of its task's result, in full, and discards it.
    assert len(repr(report)) < 200 and "results=<5000>" in repr(report)


# -- what is never fetched ------------------------------------------------------------------------

async def test_placeholders_exclusions_and_mail_are_judged_without_requests(
        web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    catalogue, base = web
    refs = (Reference(id="world-bank-poverty-2020", url=base + "/ok", cited_as="source 0"),)
    urls = ["#", "mailto:press@ijmuk.org", "tel:+442034059080", "ftp://files.site/x",
            base + "/excluded/page", "https://www.example.com/tables", "https//stats-office/tables"]
    settings = FAST.replace(exclude=("/excluded/",))
    report = await run_check(Config(documents=(_doc(tmp_path, urls),), settings=settings, references=refs),
                             settings=settings, clock=clock)
    got = {(r.url, r.reference_id): (str(r.verdict), str(r.reason)) for r in report.results}
    assert got[("#", "world-bank-poverty-2020")] == ("placeholder", "placeholder")
    assert got[("mailto:press@ijmuk.org", None)] == ("skipped", "mailto")
    assert got[("tel:+442034059080", None)] == ("skipped", "unsupported_scheme")
    assert got[("ftp://files.site/x", None)] == ("skipped", "unsupported_scheme")
    assert got[(base + "/excluded/page", None)] == ("skipped", "excluded")
    assert got[("https://www.example.com/tables", None)] == ("placeholder", "placeholder")
    assert got[("https//stats-office/tables", None)] == ("placeholder", "invalid_url")
    placeholder = next(r for r in report.results if r.url == "#")
    assert placeholder.suggested_url == base + "/ok" and base + "/ok" in placeholder.detail
    assert catalogue.log == [("GET", "/ok")]  # only the reference itself was fetched


def _doc(tmp_path: Path, urls: list[str]) -> Path:
    doc = tmp_path / "doc.md"
    doc.write_text("\n".join(f"[source {i}]({u})" for i, u in enumerate(urls)) + "\n", encoding="utf-8")
    return doc


async def test_relative_links_are_local_files_checked_on_disk(tmp_path: Path, clock: InstantClock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the repository: links are looked up only inside it
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table 1.csv").write_text("a,b\n")
    (tmp_path / "sub").mkdir()
    doc = tmp_path / "sub" / "doc.md"
    doc.write_text("[table](../data/table%201.csv#row=2) and [annex](annex.pdf) and [site](www.ijmuk.org)\n")
    report = await run_check(Config(documents=(doc,), settings=FAST), settings=FAST, clock=clock)
    got = {r.url.rsplit("/", 1)[-1]: (str(r.verdict), str(r.reason)) for r in report.results}
    assert got == {"table%201.csv#row=2": ("skipped", "local_file"), "annex.pdf": ("broken", "file_missing"),
                   "www.ijmuk.org": ("placeholder", "invalid_url")}
    missing = next(r for r in report.results if r.url.endswith("annex.pdf"))
    assert missing.url == "sub/annex.pdf" and "https://" in missing.detail
