"""The pure core: URL identity, placeholders, the pre-fetch gate, the verdict table, retries, grouping."""
from __future__ import annotations

import ipaddress
import json
import random
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck import classify as cl
from linkcheck.collect import collect
from linkcheck.facts import Fact, GateRefusal, LocalFile, Lookup, Refusal, Unchecked, Unreached
from linkcheck.history import _sql_in as history_sql_in
from linkcheck.history.rows import CachedResult
from linkcheck.model import (
    FAILING,
    GOOD,
    LOST,
    QUIET,
    REASONS_BY_VERDICT,
    Citation,
    ErrorKind,
    FetchOutcome,
    Hop,
    Reason,
    Reference,
    Result,
    Target,
    Verdict,
)
from linkcheck.policy import Gate, ip_is_public
from linkcheck.retry import backoff, parse_retry_after, retry_delay
from linkcheck.urls import _already_normal, _normalised, normalise, placeholder_reason, scheme_and_host

P = pytest.param

# --------------------------------------------------------------------------- urls.normalise

@pytest.mark.parametrize("raw, expected", [
    P("HTTPS://Stats.Gov.UK/Tables", "https://stats.gov.uk/Tables", id="scheme-host-lowercased-path-kept"),
    P("http://site.org:80/a", "http://site.org/a", id="http-default-port-dropped"),
    P("https://site.org:443/a", "https://site.org/a", id="https-default-port-dropped"),
    P("https://site.org:80/a", "https://site.org:80/a", id="non-default-port-kept"),
    P("http://site.org:8080/a", "http://site.org:8080/a", id="custom-port-kept"),
    P("https://site.org", "https://site.org/", id="empty-path-becomes-slash"),
    P("https://site.org?q=1", "https://site.org/?q=1", id="empty-path-with-query"),
    P("https://site.org/a%2fb", "https://site.org/a%2Fb", id="pct-hex-uppercased-reserved-kept"),
    P("https://site.org/%7euser/%41", "https://site.org/~user/A", id="pct-unreserved-decoded"),
    P("https://site.org/a%3Fb?x=%3d", "https://site.org/a%3Fb?x=%3D", id="pct-reserved-kept-in-path-and-query"),
    P("https://site.org/café", "https://site.org/caf%C3%A9", id="non-ascii-path-utf8"),
    P("https://site.org/a b", "https://site.org/a%20b", id="space-encoded"),
    P("https://site.org/100%", "https://site.org/100%25", id="stray-percent-encoded"),
    P("https://Bücher.de/x", "https://xn--bcher-kva.de/x", id="idn-host-punycode"),
    P("https://user:s3cret@Site.org/x", "https://user:s3cret@site.org/x", id="userinfo-kept-for-the-request"),
    P("https://user:s3cret@site.org:8443/x", "https://user:s3cret@site.org:8443/x", id="userinfo-kept-port-kept"),
    P("https://site.org/doc#Sec-2", "https://site.org/doc#Sec-2", id="fragment-kept"),
    P("https://site.org/doc#caf%c3%a9", "https://site.org/doc#caf%C3%A9", id="fragment-requoted"),
    P("http://[::1]:8080", "http://[::1]:8080/", id="ipv6-literal"),
    P("  https://site.org/a  ", "https://site.org/a", id="surrounding-space"),
    P("  mailto:Editor@Site.org ", "mailto:Editor@Site.org", id="mailto-stripped-only"),
    P("tel:+44 20 7946 0000", "tel:+44 20 7946 0000", id="tel-untouched"),
    P(" #Section ", "#Section", id="anchor-stripped-only"),
    P("www.Site.org/A", "www.Site.org/A", id="no-scheme-untouched"),
    P(" http://site.org:abc/ ", "http://site.org:abc/", id="bad-port-stripped-only"),
    P("https//Site.org/a", "https//Site.org/a", id="mangled-scheme-untouched"),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_result_never_holds_a_credential() -> None:
    """The identity keeps the credentials (the request needs them); a result never shows them."""
    url = normalise("HTTP://Alice:s3cret@Site.org:80/a?token=t0k&page=2#x")
    result = Result(url, Verdict.BROKEN, Reason.HTTP_STATUS, f"see {url}", final_url=url,
                    redirects=(Hop(url, 301),), suggested_url=url,
                    citations=(Citation("a.md", 1, f"<{url}>", url),))
    shown = json.dumps(result.to_json()) + repr(result)
    assert "s3cret" not in shown and "t0k" not in shown and "Alice" not in shown
    assert result.url == "http://REDACTED@site.org/a?token=REDACTED&page=2#x"


_label = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
_host = st.one_of(st.lists(_label, min_size=1, max_size=3).map(".".join).map(lambda h: h + ".org"),
                  st.sampled_from(["Bücher.de", "münchen.DE", "127.0.0.1", "[::1]"]))
_escape = st.tuples(st.sampled_from("0123456789abcdefABCDEF"),
                    st.sampled_from("0123456789abcdefABCDEF")).map(lambda t: "%" + "".join(t))
_char = st.sampled_from(list("aZ9-._~!$&'()*+,;=:@ é文") + ["/"])
_segment = st.lists(st.one_of(_char, _escape), max_size=8).map("".join)


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    user = draw(st.sampled_from(["", "bob@", "bob:pw@"]))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    query = draw(st.one_of(st.just(""), _segment.map(lambda s: "?" + s)))
    frag = draw(st.one_of(st.just(""), _segment.map(lambda s: "#" + s)))
    return f"{scheme}://{user}{draw(_host)}{port}/{path}{query}{frag}"


@settings(max_examples=200, deadline=None)
@given(http_urls())
def test_normalise_is_idempotent(url: str) -> None:
    once = normalise(url)
    assert normalise(once) == once
    assert once.startswith(("http://", "https://"))


@st.composite
def cited_urls(draw: st.DrawFn) -> str:
    """URLs as cited: mostly already normal, with each way of not quite being so."""
    scheme = draw(st.sampled_from(["http", "https", "ftp", "HTTP"]))
    host = draw(st.one_of(_host, _label.map(str.lower), st.sampled_from(["a.org", "a_b-c.org", ".org", "a..b"])))
    port = draw(st.sampled_from(["", ":80", ":443", ":21", ":8080", ":0", ":080", ":65535", ":65536", ":99999", ":"]))
    path = draw(st.one_of(st.sampled_from(["", "/", "//x", "/doc/1", "/a:b@c/d;e"]),
                          st.lists(_segment, max_size=3).map(lambda parts: "/" + "/".join(parts))))
    query = draw(st.sampled_from(["", "?", "?a=1", "?a=%41", "?é"]))
    frag = draw(st.sampled_from(["", "#", "#top", "#:~:text=a-,b,-c", "#%7E"]))
    space = draw(st.sampled_from(["", " ", "\t"]))
    return f"{space}{scheme}://{host}{port}{path}{query}{frag}{space}"


@settings(max_examples=500, deadline=None)
@given(cited_urls())
@example("http://a.org/x?")
@example("http://a.org/x#")
@example("http://a.org:80/x")
@example("https://a.org:443/")
@example("http://a.org:080/")
@example("http://a.org:65536/")
@example(" http://a.org/x")
@example("http://A.org/x")
@example("http://example.org/x")
@example("http://0x7f.1/x")
@example("https://a.org:70000/")
def test_a_normal_url_is_taken_as_it_is_and_the_rest_parsed(url: str) -> None:
    """The shortcuts for URLs already normal give what the whole parse gives, for every URL (a
    space before it makes the parse run)."""
    assert normalise(url) == _normalised(url.strip())
    assert placeholder_reason(url) == placeholder_reason(f" {url}")


@settings(max_examples=500, deadline=None)
@given(st.one_of(cited_urls(), cited_urls().map(str.strip)))
@example("http://a.org:80/x#top")
@example("https://a.org:65536/")
@example("http://A.org/x")
@example("http://a.org./x")
@example("http://[::1/x")
@example("mailto:a@b.org")
@example("tel:+4412345")
@example("data/table.csv")
def test_scheme_and_host_read_a_normal_url_as_the_whole_parse_does(url: str) -> None:
    """What the gate and the host queues read of a URL without parsing it is what urlsplit finds."""
    try:
        parts = urlsplit(url)
    except ValueError:
        with pytest.raises(ValueError):
            scheme_and_host(url)
        return
    assert scheme_and_host(url) == (parts.scheme.lower(), parts.hostname)


def test_scheme_and_host_take_the_shortcut_for_normal_urls() -> None:
    for url in ("http://127.0.1.5:4001/doc/7", "https://a-b.org/x?q=1#f", "ftp://files.org/a"):
        assert _already_normal(url) is not None
        assert scheme_and_host(url) == (urlsplit(url).scheme, urlsplit(url).hostname)


def test_normalise_idempotent_with_stray_percent_before_escape() -> None:
    once = normalise("http://site.org/%4%41")
    assert normalise(once) == once


# --------------------------------------------------------------------------- urls.placeholder_reason

@pytest.mark.parametrize("raw, expected", [
    P("#", Reason.PLACEHOLDER, id="hash"),
    P("", Reason.PLACEHOLDER, id="empty"),
    P("  ", Reason.PLACEHOLDER, id="blank"),
    P("javascript:void(0)", Reason.PLACEHOLDER, id="javascript"),
    P("about:blank", Reason.PLACEHOLDER, id="about-blank"),
    P("https://example.com/report", Reason.PLACEHOLDER, id="example-com"),
    P("http://example.org", Reason.PLACEHOLDER, id="example-org"),
    P("https://EXAMPLE.NET/x", Reason.PLACEHOLDER, id="example-net-upper"),
    P("https://data.example.com/x", Reason.PLACEHOLDER, id="example-subdomain"),
    P("https://stats.test/x", Reason.PLACEHOLDER, id="dot-test"),
    P("https://journal.example/x", Reason.PLACEHOLDER, id="dot-example"),
    P("https://host.invalid/", Reason.PLACEHOLDER, id="dot-invalid"),
    P("http://app.localhost/", Reason.PLACEHOLDER, id="dot-localhost"),
    P("http://localhost:8000/", Reason.PLACEHOLDER, id="localhost"),
    P("https//stats-office/tables", Reason.INVALID_URL, id="missing-colon"),
    P("http:/x.org", Reason.INVALID_URL, id="single-slash"),
    P("www.x.org", Reason.INVALID_URL, id="no-scheme"),
    P("https://x.org/annual report.pdf", Reason.INVALID_URL, id="space-in-url"),
    P("http://x.org:abc/", Reason.INVALID_URL, id="port-not-a-number"),
    P("http://x.org:99999/", Reason.INVALID_URL, id="port-out-of-range"),
    P("https://", Reason.INVALID_URL, id="no-host"),
    P("https://stats.gov.uk/tables", None, id="real-url"),
    P("https://notexample.com/", None, id="example-lookalike"),
    P("https://contest.org/", None, id="test-lookalike"),
    P("mailto:editor@journal.org", None, id="mailto"),
    P("#section", None, id="in-document-anchor"),
])
def test_placeholder_reason(raw: str, expected: Reason | None) -> None:
    assert placeholder_reason(raw) is expected


# --------------------------------------------------------------------------- policy.Gate / ip_is_public

@pytest.mark.parametrize("url, exclude, expected", [
    P("https://intranet.corp.org/x", [r"^https://intranet\."], GateRefusal(Refusal.EXCLUDED, r"^https://intranet\."),
      id="excluded"),
    P("https://bob:pw@intranet.corp.org/x", [r"^https://intranet\."],
      GateRefusal(Refusal.EXCLUDED, r"^https://intranet\."), id="excluded-matches-without-userinfo"),
    P("mailto:editor@journal.org", [], GateRefusal(Refusal.MAILTO, "editor@journal.org"), id="mailto-valid"),
    P("mailto:a@x.org,b@y.org?subject=Hi", [], GateRefusal(Refusal.MAILTO, "a@x.org, b@y.org"), id="mailto-two"),
    P("mailto:not-an-address", [], GateRefusal(Refusal.BAD_MAILTO, "not-an-address"), id="mailto-invalid"),
    P("mailto:", [], GateRefusal(Refusal.BAD_MAILTO, ""), id="mailto-empty"),
    P("tel:+442079460000", [], GateRefusal(Refusal.TELEPHONE), id="tel"),
    P("ftp://ftp.gnu.org/pub", [], GateRefusal(Refusal.SCHEME, "ftp"), id="ftp"),
    P("#methods", [], GateRefusal(Refusal.SAME_DOCUMENT), id="same-document"),
    P("https://stats.gov.uk/", [], None, id="host-name-fetched"),
    P("http://8.8.8.8/", [], None, id="public-ipv4"),
    P("http://93.184.216.34/", [], None, id="public-ipv4-b"),
    P("http://[2606:4700:4700::1111]/", [], None, id="public-ipv6"),
])
def test_gate_precheck_reports_a_fact(url: str, exclude: list[str], expected: GateRefusal | None) -> None:
    """The gate says what it found (a refusal and what it names), never a verdict."""
    assert Gate(exclude=tuple(re.compile(p) for p in exclude), allow_private=False).precheck(url) == expected


def test_the_verdict_table_gives_every_verdict_and_reason_pair_and_no_other() -> None:
    """Every (verdict, reason) a report may hold has its row in the one table, and no row gives a
    pair the vocabulary does not know."""
    given = {(verdict, reason) for verdict, reason, _ in cl.VERDICTS.values()}
    assert given == {(v, r) for v, reasons in REASONS_BY_VERDICT.items() for r in reasons}


def test_the_verdict_groups_split_the_vocabulary() -> None:
    """Good, failing, or skipped (counting neither way): each verdict is in exactly one."""
    assert not GOOD & FAILING and Verdict.SKIPPED not in GOOD | FAILING
    assert GOOD | FAILING | {Verdict.SKIPPED} == set(Verdict)
    assert LOST <= FAILING and QUIET - GOOD == {Verdict.SKIPPED}
    # History's SQL spells a group from the model's own values.
    assert history_sql_in(GOOD) == "('ok', 'redirected')"
    assert history_sql_in(FAILING) == "('blocked', 'broken', 'changed', 'error', 'placeholder')"


def test_every_fetch_failure_and_fact_has_its_row() -> None:
    kinds = [*ErrorKind, *Refusal, *Lookup, *Unreached]
    assert [k for k in kinds if k not in cl.VERDICTS] == []


def test_a_cached_verdict_is_judged_as_reused() -> None:
    hit = CachedResult(Verdict.OK, Reason.OK, "HTTP 200", 200, None, None, "2026-01-02T03:04:05Z")
    assert cl.reused(hit) == cl.Judgement(Verdict.OK, Reason.OK,
                                          "HTTP 200 (as checked at 2026-01-02T03:04:05Z; within --cache-ttl)")
    with pytest.raises(ValueError, match="only an ok verdict"):
        cl.reused(CachedResult(Verdict.BROKEN, Reason.HTTP_STATUS, "HTTP 404: not found", 404, None, None,
                               "2026-01-02T03:04:05Z"))


@pytest.mark.parametrize("fact, verdict, reason, detail", [
    P(GateRefusal(Refusal.EXCLUDED, "^https://intranet"), Verdict.SKIPPED, Reason.EXCLUDED,
      "excluded by the pattern '^https://intranet'", id="excluded"),
    P(GateRefusal(Refusal.SAME_DOCUMENT), Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
      "a link within the same document; not fetched", id="same-document"),
    P(GateRefusal(Refusal.MAILTO, "a@x.org, b@y.org"), Verdict.SKIPPED, Reason.MAILTO,
      "e-mail address a@x.org, b@y.org; syntax checked, not contacted", id="mailto"),
    P(GateRefusal(Refusal.BAD_MAILTO, ""), Verdict.PLACEHOLDER, Reason.INVALID_URL,
      "not a valid e-mail address: ''", id="mailto-empty"),
    P(GateRefusal(Refusal.TELEPHONE), Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
      "a telephone number; not fetched", id="tel"),
    P(GateRefusal(Refusal.SCHEME, "ftp"), Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
      "ftp: links are not fetched", id="ftp"),
    P(GateRefusal(Refusal.SCHEME, ""), Verdict.SKIPPED, Reason.UNSUPPORTED_SCHEME,
      "this: links are not fetched", id="no-scheme"),
    P(GateRefusal(Refusal.PRIVATE_ADDRESS, "10.0.0.1"), Verdict.SKIPPED, Reason.PRIVATE_ADDRESS,
      "10.0.0.1 is not a public address; not fetched (use --allow-private to check it)", id="private"),
    P(LocalFile(Lookup.OUTSIDE_TREE, "../../etc/passwd", "../../etc/passwd", True), Verdict.PLACEHOLDER,
      Reason.INVALID_URL, "../../etc/passwd leads outside the repository (the working folder); not looked up",
      id="outside-the-working-folder"),
    P(LocalFile(Lookup.OUTSIDE_TREE, "../x.md", "../x.md", False), Verdict.PLACEHOLDER, Reason.INVALID_URL,
      "../x.md leads outside the document's folder; not looked up", id="outside-the-document-folder"),
    P(LocalFile(Lookup.EXISTS, "./data.csv", "data.csv", True), Verdict.SKIPPED, Reason.LOCAL_FILE,
      "a local file (data.csv); not fetched", id="local-file"),
    P(LocalFile(Lookup.MISSING, "data.csv", "data.csv", True), Verdict.BROKEN, Reason.FILE_MISSING,
      "no such local file: data.csv (if it is meant as a web address, begin it with https://)", id="no-file"),
    P(Unchecked(Unreached.NO_SITE, "/about"), Verdict.PLACEHOLDER, Reason.INVALID_URL,
      "'/about' is a path from a site's root, and a local document has no site: set settings.base_url in "
      "references.yaml to the site it will be published on, or write the full URL", id="no-site"),
    P(Unchecked(Unreached.OFFLINE), Verdict.ERROR, Reason.OFFLINE,
      "not checked: the checker's own network is down (no name resolved, no server answered)", id="offline"),
])
def test_classify_judges_every_fact(fact: Fact, verdict: Verdict, reason: Reason, detail: str) -> None:
    assert cl.unfetched(fact) == cl.Judgement(verdict, reason, detail)


@pytest.mark.parametrize("address, public", [
    P("8.8.8.8", True, id="v4-public"),
    P("2606:4700:4700::1111", True, id="v6-public"),
    P("::ffff:8.8.8.8", True, id="v4-mapped-public"),
    P("127.0.0.1", False, id="v4-loopback"),
    P("169.254.169.254", False, id="v4-link-local"),
    P("172.16.5.4", False, id="v4-rfc1918-172"),
    P("100.64.0.1", False, id="v4-cgnat"),
    P("192.0.2.1", False, id="v4-documentation"),
    P("239.255.255.250", False, id="v4-multicast"),
    P("fe80::1", False, id="v6-link-local"),
    P("fc00::1", False, id="v6-unique-local"),
    P("ff02::1", False, id="v6-multicast"),
    P("::ffff:10.0.0.1", False, id="v4-mapped-private"),
])
def test_ip_is_public(address: str, public: bool) -> None:
    assert ip_is_public(ipaddress.ip_address(address)) is public


# --------------------------------------------------------------------------- classify.classify

URL = "https://stats.gov.uk/reports/2019"
MOVED = "https://stats.gov.uk/archive/2019"


def html(title: str = "Annual report 2019", h1: str = "Annual report", body: str = "<p>Findings.</p>") -> bytes:
    return f"<html><head><title>{title}</title></head><body><h1>{h1}</h1>{body}</body></html>".encode()


def target(url: str = URL, accept: tuple[int, ...] = ()) -> Target:
    ref = Reference(id="ons-2019", url=url.partition("#")[0], accept=accept) if accept else None
    return Target(url=url, citations=(Citation("paper.md", 3, "ONS 2019", url),), reference=ref)


def outcome(status: int | None = 200, *, hops: tuple[tuple[str, int], ...] = (), final: str | None = None,
            body: bytes | None = None, ctype: str = "text/html; charset=utf-8",
            error: ErrorKind | None = None) -> FetchOutcome:
    return FetchOutcome(url=URL, status=status, final_url=final or (URL if status else None),
                        hops=tuple(Hop(u, s) for u, s in hops), content_type=ctype,
                        body=html() if body is None and status else body, error=error)


def judge(t: Target, o: FetchOutcome) -> cl.Judgement:
    """Classify, and check the invariants every judgement keeps."""
    j = cl.classify(t, o)
    assert j.reason in REASONS_BY_VERDICT[j.verdict]
    assert j.detail.strip() and len(j.detail.split()) >= 2
    return j


V, R = Verdict, Reason
C1, C2 = "https://stats.gov.uk/a", "https://stats.gov.uk/b"


@pytest.mark.parametrize("t, o, verdict, reason, suggested", [
    P(target(), outcome(200), V.OK, R.OK, None, id="200"),
    P(target(accept=(403,)), outcome(403, body=b"Please verify you are human"), V.OK, R.OK, None,
      id="403-accepted-by-reference"),
    P(target(), outcome(200, hops=((URL, 301),), final=MOVED), V.REDIRECTED, R.PERMANENT_REDIRECT, MOVED,
      id="301-then-200"),
    P(target(), outcome(200, hops=((URL, 308),), final=MOVED), V.REDIRECTED, R.PERMANENT_REDIRECT, MOVED,
      id="308-then-200"),
    P(target(URL + "#intro"), outcome(200, hops=((URL, 301),), final=MOVED, body=html(body='<p id="intro">x</p>')),
      V.REDIRECTED, R.PERMANENT_REDIRECT, MOVED + "#intro", id="301-keeps-fragment"),
    P(target(), outcome(200, hops=((URL, 302),), final=MOVED), V.OK, R.OK, None, id="302-then-200"),
    P(target(), outcome(200, hops=((URL, 302), (C1, 301)), final=MOVED), V.OK, R.OK, None,
      id="302-301-200-starts-temporary"),
    P(target(), outcome(200, hops=((URL, 301), (C1, 301), (C2, 302)), final=MOVED),
      V.REDIRECTED, R.PERMANENT_REDIRECT, C2, id="301-301-302-200-cites-end-of-permanent-run"),
    P(target(), outcome(404), V.BROKEN, R.HTTP_STATUS, None, id="404"),
    P(target(), outcome(410), V.BROKEN, R.HTTP_STATUS, None, id="410"),
    P(target(), outcome(401), V.BLOCKED, R.AUTH_REQUIRED, None, id="401"),
    P(target(), outcome(403, body=b"<html>Please verify you are human</html>"), V.BLOCKED, R.BOT_BLOCKED, None,
      id="403-bot-wall"),
    P(target(), outcome(429), V.BLOCKED, R.RATE_LIMITED, None, id="429"),
    P(target(), outcome(500), V.ERROR, R.HTTP_5XX, None, id="500"),
    P(target(), outcome(503), V.ERROR, R.HTTP_5XX, None, id="503"),
    P(target(), outcome(200, body=html(title="Page not found")), V.BROKEN, R.SOFT_404, None,
      id="soft-404-title"),
    P(target(), outcome(200, body=html(h1="Sorry, we couldn't find that page")), V.BROKEN, R.SOFT_404, None,
      id="soft-404-h1"),
    P(target(), outcome(200, hops=((URL, 302),), final="https://stats.gov.uk/"), V.BROKEN, R.SOFT_404, None,
      id="deep-link-302-to-root"),
    P(target(), outcome(200, body=html(body="<p>Servers answer 404 when a page is not found.</p>")),
      V.OK, R.OK, None, id="404-in-paragraph-only"),
    P(target(URL + "#results"), outcome(200, body=html(body='<h2 id="results">Results</h2>')), V.OK, R.OK, None,
      id="fragment-by-id"),
    P(target(URL + "#tab3"), outcome(200, body=html(body='<a name="tab3"></a>')), V.OK, R.OK, None,
      id="fragment-by-a-name"),
    P(target(URL + "#missing"), outcome(200, body=html(body='<p id="other">x</p>')),
      V.BROKEN, R.FRAGMENT_MISSING, None, id="fragment-absent"),
    P(target(URL + "#page=3"), outcome(200, body=b"%PDF-1.7 ...", ctype="application/pdf"), V.OK, R.OK, None,
      id="pdf-page-fragment-not-checked"),
])
def test_classify_status(t: Target, o: FetchOutcome, verdict: Verdict, reason: Reason,
                         suggested: str | None) -> None:
    j = judge(t, o)
    assert (j.verdict, j.reason, j.suggested_url) == (verdict, reason, suggested)


ERROR_ROWS = {
    ErrorKind.DNS_NOT_FOUND: (V.BROKEN, R.DNS),
    ErrorKind.DNS_FAILURE: (V.ERROR, R.CONNECTION),
    ErrorKind.CONNECTION_REFUSED: (V.BROKEN, R.CONNECTION_REFUSED),
    ErrorKind.CONNECTION_RESET: (V.ERROR, R.CONNECTION),
    ErrorKind.CONNECTION: (V.ERROR, R.CONNECTION),
    ErrorKind.TIMEOUT: (V.ERROR, R.TIMEOUT),
    ErrorKind.TLS: (V.ERROR, R.TLS),
    ErrorKind.PRIVATE_ADDRESS: (V.SKIPPED, R.PRIVATE_ADDRESS),
    ErrorKind.REDIRECT_LOOP: (V.BROKEN, R.REDIRECT_LOOP),
    ErrorKind.TOO_MANY_REDIRECTS: (V.BROKEN, R.TOO_MANY_REDIRECTS),
    ErrorKind.INVALID_URL: (V.BROKEN, R.HTTP_STATUS),
    ErrorKind.UNSUPPORTED_SCHEME: (V.SKIPPED, R.UNSUPPORTED_SCHEME),
    ErrorKind.EXCLUDED: (V.SKIPPED, R.EXCLUDED),
    ErrorKind.HOST_DOWN: (V.ERROR, R.CONNECTION),
}


def test_error_table_covers_every_error_kind() -> None:
    assert set(ERROR_ROWS) == set(ErrorKind)


@pytest.mark.parametrize("kind", [P(k, id=str(k)) for k in ERROR_ROWS])
def test_classify_error(kind: ErrorKind) -> None:
    j = judge(target(), outcome(None, error=kind))
    assert (j.verdict, j.reason) == ERROR_ROWS[kind]
    assert j.suggested_url is None


def test_classify_error_detail_mentions_attempts_and_cause() -> None:
    o = FetchOutcome(url=URL, error=ErrorKind.TIMEOUT, error_detail="read timed out", attempts=3)
    assert "3 attempts" in judge(target(), o).detail and "read timed out" in judge(target(), o).detail


def test_classify_soft_404_typographic_apostrophe() -> None:
    j = judge(target(), outcome(200, body=html(h1="Sorry, we couldn’t find that page")))
    assert (j.verdict, j.reason) == (V.BROKEN, R.SOFT_404)


# --------------------------------------------------------------------------- classify.placeholder

def test_placeholder_with_reference_url_points_to_it() -> None:
    ref = Reference(id="who-2021", url="https://who.int/report-2021", cited_as="WHO 2021")
    j = cl.placeholder(Target("#", (Citation("p.md", 4, "WHO 2021", "#"),), ref), Reason.PLACEHOLDER)
    assert (j.verdict, j.reason) == (V.PLACEHOLDER, R.PLACEHOLDER)
    assert "https://who.int/report-2021" in j.detail and "who-2021" in j.detail
    assert j.suggested_url == "https://who.int/report-2021"


def test_placeholder_with_reference_without_url_asks_for_one() -> None:
    ref = Reference(id="smith-2020", url=None, cited_as="Smith 2020")
    j = cl.placeholder(Target("#", (Citation("p.md", 9, "Smith 2020", "#"),), ref), Reason.PLACEHOLDER)
    assert "no source is known yet" in j.detail and "smith-2020" in j.detail
    assert j.suggested_url is None


@pytest.mark.parametrize("raw, guess", [
    P("https//x.org/a", "https://x.org/a", id="missing-colon"),
    P("http:/x.org/a", "http://x.org/a", id="single-slash"),
    P("www.x.org/a", None, id="no-scheme-no-guess"),
])
def test_placeholder_invalid_url_suggests_fix(raw: str, guess: str | None) -> None:
    j = cl.placeholder(Target(raw, (Citation("p.md", 1, "", raw),)), Reason.INVALID_URL)
    assert (j.verdict, j.reason, j.suggested_url) == (V.PLACEHOLDER, R.INVALID_URL, guess)
    assert raw in j.detail and (guess is None or guess in j.detail)


# --------------------------------------------------------------------------- retry

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    P("5", 5.0, id="seconds"),
    P(" 120 ", 120.0, id="seconds-padded"),
    P("Wed, 21 Oct 2015 07:29:30 GMT", 90.0, id="http-date-future"),
    P("Wed, 21 Oct 2015 07:00:00 GMT", 0.0, id="http-date-past-clamped"),
    P("soon", None, id="garbage"),
    P("-5", None, id="negative"),
    P("", None, id="empty"),
    P(None, None, id="absent"),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_within_equal_jitter_bounds(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(8.0, 0.5 * 2 ** attempt)
    for _ in range(50):
        assert ceiling / 2 <= backoff(attempt, rng) <= ceiling


def test_backoff_grows_with_attempt_and_is_capped() -> None:
    rng = random.Random(42)
    delays = [backoff(a, rng) for a in range(12)]
    assert delays[:5] == sorted(delays[:5]) and delays[0] < delays[4]
    assert all(4.0 <= d <= 8.0 for d in delays[5:])
    assert backoff(3, random.Random(7)) == backoff(3, random.Random(7))


def _retry(status: int | None = None, error: ErrorKind | None = None, retry_after: float | None = None,
           attempt: int = 0, retries: int = 2, cap: float = 30.0) -> float | None:
    o = FetchOutcome(url=URL, status=status, error=error, retry_after=retry_after)
    return retry_delay(o, attempt, retries, cap, random.Random(1))


@pytest.mark.parametrize("kwargs, waits", [
    P(dict(status=503), True, id="503-retried"),
    P(dict(status=503, attempt=1), True, id="503-second-attempt"),
    P(dict(status=503, attempt=2), False, id="503-out-of-retries"),
    P(dict(status=503, retries=0), False, id="503-no-retries"),
    P(dict(status=429, retry_after=31.0), False, id="429-retry-after-over-cap"),
    P(dict(status=404), False, id="404"),
    P(dict(status=200), False, id="200"),
    P(dict(error=ErrorKind.TIMEOUT), True, id="timeout"),
    P(dict(error=ErrorKind.CONNECTION_RESET), True, id="reset"),
    P(dict(error=ErrorKind.CONNECTION_REFUSED), False, id="refused"),
    P(dict(error=ErrorKind.DNS_NOT_FOUND), False, id="nxdomain"),
])
def test_retry_delay(kwargs: dict, waits: bool) -> None:
    delay = _retry(**kwargs)
    assert (delay is not None) is waits
    if waits:
        assert 0 < delay <= 8.0


def test_retry_delay_honours_retry_after() -> None:
    assert _retry(status=429, retry_after=1) == 1.0


# --------------------------------------------------------------------------- collect

def cite(url: str, text: str = "source", line: int = 1) -> Citation:
    return Citation("paper.md", line, text, url)


def test_collect_groups_spellings_of_one_url() -> None:
    cits = [cite("https://Stats.Gov.UK/t", line=1), cite("https://stats.gov.uk:443/t", line=2),
            cite("HTTPS://STATS.GOV.UK/t", line=3)]
    [t] = collect(cits, [])
    assert t.url == "https://stats.gov.uk/t" and t.citations == tuple(cits) and t.reference is None


def test_collect_keeps_fragments_apart() -> None:
    targets = collect([cite("https://site.org/page#a"), cite("https://site.org/page#b")], [])
    assert [t.url for t in targets] == ["https://site.org/page#a", "https://site.org/page#b"]


def test_collect_attaches_reference_and_adds_uncited_one() -> None:
    cited = Reference("cited", "https://SITE.org:443/p")
    uncited = Reference("lonely", "https://other.org/q")
    targets = collect([cite("https://site.org/p")], [cited, uncited])
    assert [(t.url, len(t.citations), t.reference) for t in targets] == [
        ("https://site.org/p", 1, cited), ("https://other.org/q", 0, uncited)]


def test_collect_reference_cited_with_fragment_is_not_uncited() -> None:
    ref = Reference("r", "https://site.org/page")
    targets = collect([cite("https://site.org/page#sec")], [ref])
    assert [(t.url, t.reference) for t in targets] == [("https://site.org/page#sec", ref)]


def test_collect_placeholders_grouped_by_matching_reference() -> None:
    smith = Reference("smith-2020", None, cited_as="Smith  2020")
    who = Reference("who-2021", None, cited_as="WHO 2021")
    cits = [cite("#", "smith 2020", 1), cite("#", "who   2021", 2), cite("#", "SMITH 2020", 3),
            cite("#", "Unregistered Report", 4)]
    targets = collect(cits, [smith, who])
    assert [(t.url, t.reference, [c.line for c in t.citations]) for t in targets] == [
        ("#", smith, [1, 3]), ("#", who, [2]), ("#", None, [4])]
