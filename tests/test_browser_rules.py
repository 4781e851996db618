"""Links judged as a browser would follow them: untyped bodies sniffed, `#top`, GitHub anchors,
exclusions on every hop, HEAD trouble answered by GET, root-relative links, unusable hosts, 999."""
from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given, settings
from hypothesis import strategies as st

from linkcheck import evidence
from linkcheck.config import load_config
from linkcheck.errors import ConfigError
from linkcheck.mime import effective_type, needs_sniff
from linkcheck.model import Reference
from linkcheck.urls import placeholder_reason
from tests.peer_server import FAST, Peers, answer, check, peers, redirect, reset, typed, untyped, verdict

__all__ = ["peers"]  # a fixture

ANCHOR_PAGE = b'<!DOCTYPE html><html><body><a id="found"></a></body></html>'
README = (b"<!doctype html><html><head><title>owner/repo</title></head><body><article>"
          b'<h2><a id="user-content-installation" href="#installation">Installation</a></h2>'
          b"<p>pip install it</p></article></body></html>")


# -- sniffing ------------------------------------------------------------------------------------

def test_sniffing_follows_the_whatwg_signatures() -> None:
    assert needs_sniff("") and needs_sniff("unknown/unknown") and needs_sniff("text")
    assert not needs_sniff("text/plain; charset=utf-8") and not needs_sniff("application/octet-stream")
    assert effective_type("", ANCHOR_PAGE) == "text/html"
    assert effective_type("", b"  \n<p>leading space, then a tag") == "text/html"
    assert effective_type("", b"this is <div id=x>not</div> HTML") == "text/plain"
    assert effective_type("", b"%PDF-1.7\n") == "application/pdf"
    assert effective_type("", b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert effective_type("", b"\x80\x00\x80\x00") == "application/octet-stream"
    assert effective_type("text/plain", ANCHOR_PAGE) == "text/plain"  # a declared type is kept


async def test_fragment_on_untyped_html_is_checked(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/anchor.html", answer(lambda: untyped(ANCHOR_PAGE)))
    results = await check(tmp_path, [base + "/anchor.html#found", base + "/anchor.html#lost"])
    assert verdict(results[base + "/anchor.html#found"]) == ("ok", "ok")
    assert verdict(results[base + "/anchor.html#lost"]) == ("broken", "fragment_missing")
    assert served.methods("/anchor.html") == ["GET"]


async def test_untyped_not_found_page_is_a_soft_404(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/gone", answer(lambda: untyped(b"<html><title>Page not found</title><h1>Sorry</h1></html>")))
    result = (await check(tmp_path, [base + "/gone"]))[base + "/gone"]
    assert verdict(result) == ("broken", "soft_404"), result.detail


@pytest.mark.parametrize("body,content_type,what", [
    (b"ok\n\n", None, "text/plain"),
    (b"this is <div id=\"anchor\">not</div> a valid HTML document", None, "text/plain"),
    (b"\x80\x00\x80\x00", None, "application/octet-stream"),
    (b"see section 2 below", "text/plain", "text/plain"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png", "image/png"),
], ids=["untyped-text", "untyped-text-with-tags", "untyped-binary", "typed-text", "image"])
async def test_fragment_on_a_body_without_elements_is_unreadable(peers: tuple[Peers, str], tmp_path: Path,
                                                                 body: bytes, content_type: str | None,
                                                                 what: str) -> None:
    served, base = peers
    served.route("/body", answer(lambda: untyped(body) if content_type is None else typed(body, content_type)))
    result = (await check(tmp_path, [base + "/body#anchor"]))[base + "/body#anchor"]
    assert verdict(result) == ("error", "unreadable"), result.detail
    assert what in result.detail and "#anchor" in result.detail


async def test_fragment_past_the_size_cap_is_unreadable(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    page = "<html><body>" + "<p>filler</p>" * 2000 + '<h2 id="late">Late</h2><h2 id="early"></h2></body></html>'
    served.route("/long", answer(lambda: typed(page, "text/html")))
    results = await check(tmp_path, [base + "/long#late", base + "/long"],
                          settings=FAST.replace(max_body_bytes=4096))
    assert verdict(results[base + "/long#late"]) == ("error", "unreadable")
    assert "size cap" in results[base + "/long#late"].detail
    assert verdict(results[base + "/long"]) == ("ok", "ok")


async def test_top_and_empty_fragments_always_exist(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/page", answer(lambda: typed(ANCHOR_PAGE, "text/html")))
    results = await check(tmp_path, [base + "/page#top", base + "/page#TOP", base + "/page#"])
    assert {u: verdict(r) for u, r in results.items()} == {
        base + "/page#top": ("ok", "ok"), base + "/page#TOP": ("ok", "ok"), base + "/page": ("ok", "ok")}


async def test_github_readme_anchor_under_user_content(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/owner/repo", answer(lambda: typed(README, "text/html; charset=utf-8")))
    results = await check(tmp_path, [base + "/owner/repo#installation", base + "/owner/repo#usage"])
    assert verdict(results[base + "/owner/repo#installation"]) == ("ok", "ok")
    assert verdict(results[base + "/owner/repo#usage"]) == ("broken", "fragment_missing")


# -- exclude on every hop --------------------------------------------------------------------------

async def test_exclude_applies_to_each_redirect_hop(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/start", redirect(302, "/middle"))
    served.route("/middle", redirect(301, "/internal/report"))
    served.route("/internal/report", answer(lambda: typed("secret", "text/plain")))
    settings = FAST.replace(exclude=("/internal/",))
    result = (await check(tmp_path, [base + "/start"], settings=settings))[base + "/start"]
    assert verdict(result) == ("skipped", "excluded")
    assert base + "/internal/report" in result.detail and "'/internal/'" in result.detail
    assert [h.url for h in result.redirects] == [base + "/start", base + "/middle"]
    assert "/internal/report" not in served.paths()  # the excluded hop is never requested


async def test_exclude_matches_the_url_without_user_info(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/ok", answer(lambda: typed("fine", "text/plain")))
    with_user = base.replace("http://", "http://reader:hunter2@") + "/ok"
    # `^http://127` only matches once the user info is left out; `hunter2` never matches.
    results = await check(tmp_path, [with_user], settings=FAST.replace(exclude=("^http://127",)))
    assert [verdict(r) for r in results.values()] == [("skipped", "excluded")]
    results = await check(tmp_path, [with_user], settings=FAST.replace(exclude=("hunter2", "reader")))
    assert [verdict(r) for r in results.values()] == [("ok", "ok")]


# -- HEAD trouble means GET for the whole chain ----------------------------------------------------

@pytest.mark.parametrize("trouble", ["loop", "too-many", "reset", "not-found"])
async def test_head_trouble_falls_back_to_get_for_the_chain(peers: tuple[Peers, str], tmp_path: Path,
                                                            trouble: str) -> None:
    served, base = peers
    ok = answer(lambda: typed(b"%PDF-1.4\n", "application/pdf"))

    async def start(request: web.Request) -> web.StreamResponse:
        if request.method != "HEAD":
            return await ok(request)
        if trouble == "loop":
            return web.Response(status=302, headers={"Location": "/start"})
        if trouble == "too-many":
            return web.Response(status=302, headers={"Location": f"/start?n={served.count('/start')}"})
        if trouble == "reset":
            return await reset(request)
        return web.Response(status=404)

    served.route("/start", start)
    result = (await check(tmp_path, [base + "/start"], settings=FAST.replace(head_first=True, max_redirects=3)))[
        base + "/start"]
    assert verdict(result) == ("ok", "ok"), result.detail
    methods = served.methods("/start") + [m for m, p in served.log if p.startswith("/start?")]
    assert methods[0] == "HEAD" and methods.count("GET") == 1
    assert served.log[-1] == ("GET", "/start") and result.redirects == ()


# -- links with no base, hosts no URL may hold, non-standard statuses ------------------------------

async def test_root_relative_link_without_base_url_is_invalid(tmp_path: Path) -> None:
    results = await check(tmp_path, ["/", "/etc/hostname", "/about#team"])
    assert {u: verdict(r) for u, r in results.items()} == {
        "/": ("placeholder", "invalid_url"), "/etc/hostname": ("placeholder", "invalid_url"),
        "/about#team": ("placeholder", "invalid_url")}
    assert "settings.base_url" in results["/"].detail


async def test_root_relative_link_resolves_against_base_url(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/about", answer(lambda: typed('<html><body><h2 id="team">Team</h2></body></html>', "text/html")))
    settings = FAST.replace(base_url=base + "/blog/")
    references = (Reference(id="home", url="/about"),)
    results = await check(tmp_path, ["/about#team", "/missing"], settings=settings, references=references)
    assert verdict(results[base + "/about#team"]) == ("ok", "ok")
    assert results[base + "/about#team"].reference_id == "home"  # the register's "/about" too
    assert verdict(results[base + "/missing"]) == ("broken", "http_status")
    assert served.methods("/about") == ["GET"]


def test_base_url_must_be_a_web_address(tmp_path: Path) -> None:
    path = tmp_path / "references.yaml"
    path.write_text("version: 1\nsettings:\n  base_url: www.example.org\nreferences: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"references.yaml:3: settings.base_url: expected an http\(s\) URL"):
        load_config(path)


class CountingResolver(AbstractResolver):
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("url", ['http://"', 'http://"/page', "http://a<b/", "http://exa|mple.org/",
                                 "http://bad^host.org/", "http://%3Cscript%3E/", "https://*.gov.uk/"])
def test_host_no_url_may_hold_is_invalid(url: str) -> None:
    assert placeholder_reason(url) == "invalid_url"


@pytest.mark.parametrize("url", ["http://bücher.de/", "http://a_b.wikipedia.org/x", "http://[::1]:8080/",
                                 "http://127.0.0.1/"])
def test_usable_hosts_stay_urls(url: str) -> None:
    assert placeholder_reason(url) is None


async def test_unusable_host_never_reaches_the_resolver(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/bad-hop", redirect(302, "http://a<b/next"))
    resolver = CountingResolver()
    refs = (Reference(id="quote-host", url='http://"'),)
    results = await check(tmp_path, ['http://"', base + "/bad-hop"], references=refs, resolver=resolver)
    assert verdict(results['http://"']) == ("placeholder", "invalid_url")
    assert verdict(results[base + "/bad-hop"]) == ("broken", "http_status")
    assert "unusable address" in results[base + "/bad-hop"].detail
    assert resolver.asked == []


async def test_status_999_is_a_bot_wall(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    served.route("/in/someone", answer(lambda: web.Response(status=999, text="")))
    result = (await check(tmp_path, [base + "/in/someone"], settings=FAST.replace(retries=2)))[
        base + "/in/someone"]
    assert verdict(result) == ("blocked", "bot_blocked") and result.http_status == 999
    assert "999" in result.detail and served.methods("/in/someone") == ["GET"]  # not retried


# Words of the challenge phrases in any case, letters that match a-z only when case is ignored,
# the one whose lower case is longer, and the spaces and tags between words.
_WALL_PIECES = ["verify", "VERIFY", "you", "are", "Human", "captcha", "CAPTCHA", "cf-chl", "ACCESS", "Denied",
                "bot", "detection", "checking your browser", "request", "Blocked", "attention required",
                "\u212a", "\u017f", "\u0131", "\u0130", "\u00df", "\u00e9", " ", "\n", "\u00a0", "<b>", "-", "x"]


def _walled_ignoring_case(page: str) -> bool:
    return bool(re.compile(evidence._BOT_WALL.pattern, re.IGNORECASE).search(page))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WALL_PIECES), max_size=14).map("".join))
def test_a_challenge_page_is_read_as_if_case_were_ignored(page: str) -> None:
    assert evidence.bot_wall(page.encode("utf-8"), {}) == _walled_ignoring_case(page)


@pytest.mark.parametrize("page, walled", [("ACCE\u017f\u017f denied", True), ("chec\u212aing your browser", True),
                                          ("\u0130 access\u00a0denied", True), ("acces denied", False)])
def test_letters_that_only_match_ignoring_case_still_spell_a_challenge(page: str, walled: bool) -> None:
    assert evidence.bot_wall(page.encode("utf-8"), {}) == walled == _walled_ignoring_case(page)


def _pdf(destinations: tuple[str, ...] = (), password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=200, height=200)
    for i, name in enumerate(destinations):
        writer.add_named_destination(name, i)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_pdf_fragment_names_a_destination(peers: tuple[Peers, str], tmp_path: Path) -> None:
    served, base = peers
    report = _pdf(("intro", "methods"))
    served.route("/report.pdf", answer(lambda: typed(report, "application/pdf")))
    served.route("/untyped.pdf", answer(lambda: untyped(report)))
    served.route("/locked.pdf", answer(lambda: typed(_pdf(("intro",), password="s3cret"), "application/pdf")))
    served.route("/damaged.pdf", answer(lambda: typed(b"%PDF-1.4\n% no body, no trailer\n", "application/pdf")))
    urls = ["/report.pdf#intro", "/report.pdf#appendix", "/untyped.pdf#methods", "/locked.pdf#intro",
            "/damaged.pdf#intro", "/report.pdf"]
    results = await check(tmp_path, [base + u for u in urls])
    assert {u: verdict(results[base + u]) for u in urls} == {
        "/report.pdf#intro": ("ok", "ok"), "/report.pdf#appendix": ("broken", "fragment_missing"),
        "/untyped.pdf#methods": ("ok", "ok"), "/locked.pdf#intro": ("error", "unreadable"),
        "/damaged.pdf#intro": ("error", "unreadable"), "/report.pdf": ("ok", "ok")}
    assert "encrypted" in results[base + "/locked.pdf#intro"].detail
    cut = await check(tmp_path, [base + "/report.pdf#intro"], settings=FAST.replace(max_body_bytes=200))
    assert [verdict(r) for r in cut.values()] == [("error", "unreadable")]
    assert "size cap" in cut[base + "/report.pdf#intro"].detail
