"""Verdicts on the pages people actually cite: respelled addresses, sign-in walls, fragments, unreadable bodies."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkcheck import evidence, fragments
from linkcheck.config import Config, Settings
from linkcheck.model import REASONS_BY_VERDICT, Reference, Result
from linkcheck.pipeline import run_check
from linkcheck.resolver import StaticResolver
from tests.conftest import InstantClock
from tests.server import Catalogue, article, html

FAST = Settings(timeout=2.0, retries=0, allow_private=True)
FIFTY = "fifty million people"


async def check(tmp_path: Path, urls: list[str], clock: InstantClock, *, settings: Settings = FAST,
                references: tuple[Reference, ...] = (), state: bool = False, **kwargs: Any) -> dict[str, Result]:
    doc = tmp_path / "doc.md"
    doc.write_text("".join(f"[source {i}]({url})\n" for i, url in enumerate(urls)), encoding="utf-8")
    config = Config(path=None, documents=(doc,), settings=settings, references=references)
    report = await run_check(config, settings=settings, clock=clock, state_dir=tmp_path / "state" if state else None,
                             **kwargs)
    for result in report.results:
        assert result.reason in REASONS_BY_VERDICT[result.verdict]
    return {r.url: r for r in report.results}


async def verdict(tmp_path: Path, url: str, clock: InstantClock, **kwargs: Any) -> tuple[str, str, str]:
    result = (await check(tmp_path, [url], clock, **kwargs))[url]
    return str(result.verdict), str(result.reason), result.detail


# -- 1. Redirects that only respell the address ----------------------------------------------------

RESPELLED = [
    ("/en", "ok", "ok"),                                        # 302 adds a trailing slash to a language root
    ("/fr", "redirected", "permanent_redirect"),                # 301 to its language's home, /fr-fr/
    ("/index.html", "redirected", "permanent_redirect"),        # 301 drops index.html
    ("/Reports/Annual", "ok", "ok"),                            # 302: case and a trailing slash
    ("/Home", "redirected", "permanent_redirect"),              # 301 to /home/, a home page, respelled
    ("/deep/old-article", "broken", "soft_404"),                # a deep link sent to the real home page
    ("/reports/2019/annual-review", "broken", "soft_404"),      # ... or to a language's home page
]


@pytest.mark.parametrize("path,expected_verdict,expected_reason", RESPELLED, ids=[r[0] for r in RESPELLED])
async def test_redirects_that_respell_the_address_are_judged_on_the_target(
        web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock, path: str, expected_verdict: str,
        expected_reason: str) -> None:
    _, base = web
    got, reason, detail = await verdict(tmp_path, base + path, clock)
    assert (got, reason) == (expected_verdict, expected_reason), detail


async def test_a_site_root_sent_to_its_language_home_is_ok(tmp_path: Path, clock: InstantClock) -> None:
    async def root(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/en-gb/"})

    async def home(request: web.Request) -> web.Response:
        return html(article("Welcome"))

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/en-gb/", home)
    async with _served(app) as base:
        assert (await verdict(tmp_path, base + "/", clock))[:2] == ("ok", "ok")


@pytest.mark.parametrize("cited,final,respelled", [
    ("http://h/en", "http://h/en/", True),
    ("http://h/Docs/Guide", "http://h/docs/guide/", True),
    ("http://h/caf%C3%A9", "http://h/café/", True),
    ("http://h/docs/index.html", "http://h/docs/", True),
    ("http://h/docs/", "https://www.h/docs", True),
    ("http://h/docs/a", "http://h/docs/b", False),
    ("http://h/docs/a?x=1", "http://h/docs/a?x=2", False),
])
def test_what_counts_as_the_same_page_respelled(cited: str, final: str, respelled: bool) -> None:
    assert evidence._same_page(cited, final) is respelled


class _served:
    """A one-off real server for an app (a site whose root behaves differently from the catalogue's)."""

    def __init__(self, app: web.Application) -> None:
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> str:
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()


# -- 2. Sign-in walls --------------------------------------------------------------------------------

WALLS = [
    ("/members/report", "/login?next=/members/report"),                     # a login path, and next= back
    ("/members/briefing", "/idp/profile/SAML2/Redirect/SSO?SAMLRequest=fZJbT4Mw"),  # SSO
    ("/members/portal", "/gate"),                                           # only the page says it: a password form
    ("/members/service", "/gateway?service=/members/service"),              # only the query says it
    ("/members/data", "/portal?returnUrl=%2Fmembers%2Fdata"),                # ... percent-encoded
]


@pytest.mark.parametrize("path,wall", WALLS, ids=[w[0] for w in WALLS])
async def test_a_redirect_to_a_sign_in_page_is_auth_required(web: tuple[Catalogue, str], tmp_path: Path,
                                                             clock: InstantClock, path: str, wall: str) -> None:
    _, base = web
    got, reason, detail = await verdict(tmp_path, base + path, clock)
    assert (got, reason) == ("blocked", "auth_required"), detail
    assert base + wall in detail


@pytest.mark.parametrize("path", ["/with-sign-in-link", "/moved-to-sign-in-link", "/moved-to-login-box", "/login"])
async def test_a_sign_in_link_or_a_login_box_beside_the_evidence_is_not_a_wall(
        web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock, path: str) -> None:
    """A header "Sign in" link, a small login box beside an article, a sign-in page cited as such."""
    _, base = web
    got, reason, detail = await verdict(tmp_path, base + path, clock)
    assert (got, reason) == ("ok", "ok"), detail


# -- 3. Fragments people cite ---------------------------------------------------------------------------

FRAGMENTS = [
    ("/report3.pdf#page=2", "ok", "ok"),
    ("/report3.pdf#page=3&zoom=50", "ok", "ok"),
    ("/report3.pdf#page=9", "broken", "fragment_missing"),
    ("/report3.pdf#page=4&zoom=50", "broken", "fragment_missing"),
    ("/report3.pdf#:~:text=fifty%20million", "ok", "ok"),
    ("/report3.pdf#:~:text=sixty%20million", "changed", "quote_missing"),
    ("/ok#:~:text=Employment%20rose", "ok", "ok"),
    ("/ok#:~:text=Employment%20fell", "changed", "quote_missing"),
    ("/ok#:~:text=Employment,percent", "ok", "ok"),                  # start,end in order
    ("/ok#:~:text=percent,Employment", "changed", "quote_missing"),  # ... not reversed
    ("/ok#:~:text=Employment-,rose,-by%202", "ok", "ok"),            # prefix-,start,-suffix
    ("/ok#:~:text=Unemployment-,rose", "changed", "quote_missing"),
    ("/ok#:~:text=2%20percent&text=Labour%20force", "ok", "ok"),     # two directives
    ("/page#chapter-3:~:text=Handbook", "ok", "ok"),                 # the directive is no part of the id
    ("/page#appendix:~:text=Handbook", "broken", "fragment_missing"),
    ("/page#:~:text=Chapter%203", "ok", "ok"),
    ("/app#/reports/2020", "ok", "ok"),
    ("/app#!/reports/2020", "ok", "ok"),
]


@pytest.mark.parametrize("path,expected_verdict,expected_reason", FRAGMENTS, ids=[f[0] for f in FRAGMENTS])
async def test_fragments_people_cite(web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock, path: str,
                                     expected_verdict: str, expected_reason: str) -> None:
    _, base = web
    got, reason, detail = await verdict(tmp_path, base + path, clock)
    assert (got, reason) == (expected_verdict, expected_reason), detail


async def test_the_reasons_name_the_page_count_and_the_text(web: tuple[Catalogue, str], tmp_path: Path,
                                                            clock: InstantClock) -> None:
    _, base = web
    results = await check(tmp_path, [base + "/report3.pdf#page=9", base + "/ok#:~:text=Employment%20fell"], clock)
    assert "#page=9, but the PDF has 3 pages" in results[base + "/report3.pdf#page=9"].detail
    assert "'Employment fell'" in results[base + "/ok#:~:text=Employment%20fell"].detail


async def test_route_and_line_anchors_are_ok_with_a_note(web: tuple[Catalogue, str], tmp_path: Path,
                                                         clock: InstantClock) -> None:
    _, base = web
    port = base.rsplit(":", 1)[1]
    code = f"http://github.com:{port}/owner/repo/blob/main/x.py#L10-L20"
    route = base + "/app#/reports/2020"
    results = await check(tmp_path, [code, route], clock, resolver=StaticResolver({"github.com": "127.0.0.1"}))
    assert (results[code].verdict, results[code].reason) == ("ok", "ok")
    assert "#L10-L20 is a line anchor" in results[code].detail and "cannot be checked" in results[code].detail
    assert "#/reports/2020 is a route" in results[route].detail
    # The same line anchor elsewhere names an element, which this page does not have.
    elsewhere = base + "/owner/repo/blob/main/x.py#L10-L20"
    assert (await verdict(tmp_path, elsewhere, clock))[:2] == ("broken", "fragment_missing")


def test_text_directives_are_parsed_as_the_spec_writes_them() -> None:
    parsed = fragments.parse("intro:~:text=fifty%2Dfive-,million%2C%20at%20least,people,-were&text=x", "")
    assert parsed.element == "intro"
    assert parsed.texts == (fragments.TextDirective(start="million, at least", end="people", prefix="fifty-five",
                                                    suffix="were"), fragments.TextDirective(start="x"))


# -- 4. Could not read is not changed ---------------------------------------------------------------------

UNREADABLE = [
    ("/scan.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document body has no text"),
    ("/locked.pdf", "the PDF is encrypted"),
    ("/report.pdf", "the PDF is damaged"),
    ("/deep-nesting", "nests its elements too deep"),
]


@pytest.mark.parametrize("path,why", UNREADABLE, ids=[u[0] for u in UNREADABLE])
async def test_a_quote_on_a_body_that_cannot_be_read_is_unreadable(web: tuple[Catalogue, str], tmp_path: Path,
                                                                   clock: InstantClock, path: str, why: str) -> None:
    _, base = web
    ref = Reference(id="r", url=base + path, quote=FIFTY)
    got, reason, detail = await verdict(tmp_path, base + path, clock, references=(ref,))
    assert (got, reason) == ("error", "unreadable"), detail
    assert why in detail and "the quote 'fifty million people' could not be looked for" in detail


async def test_a_text_fragment_or_a_page_on_an_unreadable_pdf_is_unreadable(
        web: tuple[Catalogue, str], tmp_path: Path, clock: InstantClock) -> None:
    _, base = web
    text, page = base + "/locked.pdf#:~:text=fifty%20million", base + "/report.pdf#page=2"
    results = await check(tmp_path, [text, page], clock)
    assert (results[text].verdict, results[text].reason) == ("error", "unreadable"), results[text].detail
    assert "the text fragment 'fifty million' could not be looked for: the PDF is encrypted" in results[text].detail
    assert (results[page].verdict, results[page].reason) == ("error", "unreadable"), results[page].detail


async def test_a_body_cut_at_the_size_cap_is_unreadable_not_changed(web: tuple[Catalogue, str], tmp_path: Path,
                                                                    clock: InstantClock) -> None:
    _, base = web
    capped = FAST.replace(max_body_bytes=20_000)
    quoted, anchored = base + "/long", base + "/long#conclusion"
    results = await check(tmp_path, [quoted, anchored], clock, settings=capped,
                          references=(Reference(id="r", url=quoted, quote=FIFTY),))
    for url in (quoted, anchored):
        assert (results[url].verdict, results[url].reason) == ("error", "unreadable"), results[url].detail
        assert "cut at the size cap" in results[url].detail
    # In full, the same page holds both.
    results = await check(tmp_path, [quoted, anchored], clock, references=(Reference(id="r", url=quoted, quote=FIFTY),))
    assert {(r.verdict, r.reason) for r in results.values()} == {("ok", "ok")}


async def test_a_quote_gone_from_a_readable_page_is_still_changed(web: tuple[Catalogue, str], tmp_path: Path,
                                                                  clock: InstantClock) -> None:
    _, base = web
    for path in ("/ok", "/report3.pdf"):
        ref = Reference(id="r", url=base + path, quote="sixty million people")
        assert (await verdict(tmp_path, base + path, clock, references=(ref,)))[:2] == ("changed", "quote_missing")


async def test_drift_on_a_body_that_can_no_longer_be_read_is_unreadable(tmp_path: Path, clock: InstantClock) -> None:
    """The baseline was a readable PDF; the same URL now serves it encrypted: not `content_drift`."""
    from tests.server import encrypted, pdf_pages
    text = ("The programme reached some fifty million people across the region in its first two years, "
            "with clinics in every district and visits to every household.")
    served = {"body": pdf_pages([text, "Annex tables with district figures"])}

    async def report(request: web.Request) -> web.Response:
        return web.Response(body=served["body"], content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/report.pdf", report)
    async with _served(app) as base:
        url = base + "/report.pdf"
        first = await verdict(tmp_path, url, clock, state=True)
        served["body"] = encrypted(served["body"])
        second = await verdict(tmp_path, url, clock, state=True)
    assert first[:2] == ("ok", "ok"), first
    assert second[:2] == ("error", "unreadable"), second
    assert "to compare with its snapshot" in second[2] and "encrypted" in second[2]
