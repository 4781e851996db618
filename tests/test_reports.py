"""Report formats from hand-built RunReports: HTML (safety, offline, chart), JUnit, SARIF, GitHub Actions."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import pytest

from linkcheck.config import Settings
from linkcheck.model import Citation, Reason, Result, RunReport, Snapshot, Verdict
from linkcheck.reports import FILENAMES, FORMATS, github, html, junit, markdown, sarif, write_reports
from linkcheck.reports import json as report_json

DOC = "submissions/review.md"
PDF = "submissions/annex.pdf"
NS = "{http://www.w3.org/1999/xhtml}"
CHROMIUM = Path("/usr/bin/chromium")


def cite(url: str, line: int | None = 12, text: str = "the survey", document: str = DOC,
         page: int | None = None) -> Citation:
    return Citation(document=document, line=line, text=text, url=url, page=page)


def make_report(**overrides: object) -> RunReport:
    """Every verdict, PDF page citations, a history of runs: what a real weekly run looks like."""
    results = (
        Result("https://data.example.org/moved", Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT,
               "301 to https://data.example.org/new", http_status=301, final_url="https://data.example.org/new",
               citations=(cite("https://data.example.org/moved", 40, "labour data"),),
               suggested_url="https://data.example.org/new"),
        Result("https://gov.example.org/report-2019", Verdict.BROKEN, Reason.HTTP_STATUS, "404 Not Found",
               http_status=404,
               citations=(cite("https://gov.example.org/report-2019", 7, "2019 report"),
                          cite("https://gov.example.org/report-2019", None, "ibid.", PDF, page=3)),
               snapshot=Snapshot("archive/2024-04.warc.gz", "ab" * 32, time="2024-04-01T09:00:00Z"),
               archived_url="https://web.archive.org/web/2024/https://gov.example.org/report-2019",
               first_failed="2024-04-22T09:00:00Z", consecutive_failures=3, last_ok="2024-04-15T09:00:00Z",
               trend="still"),
        Result("#", Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "a placeholder link; references.yaml has its URL",
               citations=(cite("#", 21, "49 million"),), reference_id="wb-poverty",
               suggested_url="https://blogs.worldbank.org/poverty"),
        Result("https://news.example.org/article", Verdict.CHANGED, Reason.CONTENT_DRIFT,
               "the main text differs from the baseline of 2024-03-01", http_status=200,
               citations=(cite("https://news.example.org/article", None, "", PDF, page=9),),
               similarity=0.42, changes=("- 49 million people", "+ 71 million people")),
        Result("https://slow.example.org/", Verdict.ERROR, Reason.TIMEOUT, "no answer in 20 s",
               citations=(cite("https://slow.example.org/", 55, "slow site"),), trend="new",
               first_failed="2024-04-29T09:00:00Z", consecutive_failures=1),
        Result("https://paywall.example.org/", Verdict.BLOCKED, Reason.AUTH_REQUIRED, "401 Unauthorized",
               http_status=401, citations=(cite("https://paywall.example.org/", 60, "journal"),)),
        Result("mailto:team@example.org", Verdict.SKIPPED, Reason.MAILTO, "an e-mail address",
               citations=(cite("mailto:team@example.org", 99, "write to us"),)),
        Result("https://ok.example.org/", Verdict.OK, Reason.OK, "200 OK", http_status=200,
               citations=(cite("https://ok.example.org/", 3, "fine source"),)),
    )
    values: dict[str, object] = dict(
        id="run-7", started="2024-04-29T09:00:00Z", finished="2024-04-29T09:03:10Z", tool_version="0.1.0",
        results=results, documents=(DOC, PDF),
        previous_runs=(("2024-04-15T09:03:00Z", {"ok": 6, "redirected": 1, "error": 1}),
                       ("2024-04-22T09:02:00Z", {"ok": 5, "broken": 1, "redirected": 1, "placeholder": 1})),
    )
    values.update(overrides)
    return RunReport(**values)  # type: ignore[arg-type]


def parse_strict(page: str):  # type: ignore[no-untyped-def]
    parser = html5lib.HTMLParser(strict=False)
    tree = parser.parse(page)
    assert parser.errors == [], parser.errors
    return tree


def text_of(tree) -> str:  # type: ignore[no-untyped-def]
    return "".join(tree.itertext())


# --- HTML --------------------------------------------------------------------------------------------

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' onmouseover='x"]


def test_html_escapes_everything_a_document_or_server_can_inject() -> None:
    results = tuple(
        Result(url, Verdict.BROKEN, Reason.SOFT_404, f"detail {payload}",
               citations=(cite(url, 4 + i, f"anchor {payload}"),), suggested_url=url, archived_url=url)
        for i, (url, payload) in enumerate([
            (f"https://evil.example.org/?q={HOSTILE[0]}", HOSTILE[0]),
            (f"https://evil.example.org/{HOSTILE[1]}", HOSTILE[1]),
            (f"https://evil.example.org/{HOSTILE[2]}", HOSTILE[2]),
            ("javascript:alert(1)", "javascript:alert(1)"),
            (" JavaScript:alert(2)", "x"),
            ("https://fine.example.org/?a=1&b=2", "plain"),
        ])
    )
    report = make_report(results=results, id=HOSTILE[0], tool_version=HOSTILE[1], documents=(HOSTILE[2],))
    tree = parse_strict(html.render(report))

    elements = list(tree.iter())
    assert not [e for e in elements if e.tag.endswith("script")]
    assert not [(e.tag, a) for e in elements for a in e.attrib if a.lower().startswith("on")]
    hrefs = [e.attrib["href"] for e in elements if "href" in e.attrib]
    # Only the one ordinary address is clickable (as link, suggestion and archived copy).
    assert set(hrefs) == {"https://fine.example.org/?a=1&b=2"}
    assert not [e for e in elements if e.tag.endswith("img")]
    text = text_of(tree)
    for payload in [*HOSTILE, "javascript:alert(1)"]:
        assert f"anchor {payload}" in text and f"detail {payload}" in text
    assert "detail <script>alert(1)</script>" in text


def test_every_reason_has_a_plain_sentence() -> None:
    assert set(html.PLAIN_REASONS) == set(Reason)
    assert html.plain_reason(Reason.SOFT_404) == "the page says it is not there"
    assert html.plain_reason(Reason.QUOTE_MISSING) == "the quoted text is no longer on the page"


@pytest.mark.parametrize(("url", "linkable"), [
    ("https://example.org/a?b=c#d", True), ("HTTP://EXAMPLE.ORG/", True), ("javascript:alert(1)", False),
    (" javascript:alert(1)", False), ("java\tscript:alert(1)", False), ("data:text/html,<b>x</b>", False),
    ("file:///etc/passwd", False), ("//evil.example.org/", False), ("#", False), ("", False),
    ("https://ex ample.org/", False), ("mailto:team@example.org", False),
])
def test_only_http_and_https_urls_become_links(url: str, linkable: bool) -> None:
    assert html.is_linkable(url) is linkable


def test_html_is_one_self_contained_page_with_every_part_of_the_report() -> None:
    report = make_report()
    page = html.render(report)
    tree = parse_strict(page)
    text = text_of(tree)

    # Nothing to fetch: no scripts, stylesheets, images, fonts or frames from anywhere.
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    assert "run-7" in text and "0.1.0" in text and "2024-04-29 09:00 UTC" in text
    assert "Offline run" not in text
    # One table per verdict with results, in the report's order, ok kept apart.
    headings = [h.get("id") for h in tree.iter(f"{NS}h2") if h.get("id")]
    assert headings == ["broken", "placeholder", "changed", "redirected", "blocked", "error", "skipped", "ok"]
    assert f"{DOC}:7 “2019 report”" in text and f"{PDF}:page\u00a03 “ibid.”" in text
    assert "the server answers with an error status" in text and "404 Not Found" in text
    assert "Archived copy: https://web.archive.org/web/2024/https://gov.example.org/report-2019" in text
    assert "Snapshot of 2024-04-01 09:00 UTC" in text
    assert "still failing" in text and "failing since 2024-04-22 09:00 UTC (3 runs in a row)" in text
    assert "Cite this instead: https://blogs.worldbank.org/poverty" in text
    assert "Similarity to the archived version: 42%" in text
    assert "- 49 million people" in text and "+ 71 million people" in text
    details = list(tree.iter(f"{NS}details"))
    assert any("https://ok.example.org/" in text_of(d) for d in details)


def test_html_says_prominently_when_the_run_was_offline() -> None:
    tree = parse_strict(html.render(make_report(offline=True)))
    notice = [s for s in tree.iter(f"{NS}strong") if "Offline run" in text_of(s)]
    assert notice and "nothing was judged broken" in text_of(tree)


def test_html_chart_stacks_previous_runs_and_this_one() -> None:
    tree = parse_strict(html.render(make_report()))
    bars = [g for g in tree.iter("{http://www.w3.org/2000/svg}g")]
    assert [b.find("{http://www.w3.org/2000/svg}title").text for b in bars] == [
        "2024-04-15 09:03 UTC: 8 sources", "2024-04-22 09:02 UTC: 8 sources", "this run: 8 sources"]
    last = [r.find("{http://www.w3.org/2000/svg}title").text for r in bars[-1].iter("{http://www.w3.org/2000/svg}rect")]
    assert last == [f"this run: 1 {v}" for v in Verdict]
    # Segments of a bar stack without gaps from the baseline up.
    rects = list(bars[0].iter("{http://www.w3.org/2000/svg}rect"))
    for lower, upper in zip(rects, rects[1:], strict=False):
        assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(float(lower.get("y")), abs=0.11)


def test_html_chart_with_no_history_shows_only_this_run() -> None:
    tree = parse_strict(html.render(make_report(previous_runs=())))
    bars = list(tree.iter("{http://www.w3.org/2000/svg}g"))
    assert len(bars) == 1 and bars[0].find("{http://www.w3.org/2000/svg}title").text == "this run: 8 sources"


def test_html_is_deterministic_and_drops_characters_html_forbids() -> None:
    report = make_report(results=(Result("https://x.example.org/", Verdict.BROKEN, Reason.DNS, "bad\x00\x07 name",
                                         citations=(cite("https://x.example.org/", 1, "a\x0bb"),)),))
    page = html.render(report)
    assert page == html.render(report)
    parse_strict(page)
    assert "bad name" in page and "“ab”" in page


# CI installs Chromium (.ci/run), so there the test runs or fails; elsewhere it may skip, saying why.
@pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CI") != "true",
                    reason="headless rendering needs /usr/bin/chromium (Debian package: apt-get install chromium)")
def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html.render(make_report()), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000


# --- JUnit -------------------------------------------------------------------------------------------

def test_junit_default_fail_on_is_the_contracts() -> None:
    assert junit.DEFAULT_FAIL_ON == frozenset(Verdict(v) for v in Settings().fail_on)


@pytest.mark.parametrize("fail_on", [junit.DEFAULT_FAIL_ON, frozenset({Verdict.BROKEN}),
                                     frozenset({Verdict.ERROR, Verdict.BLOCKED, Verdict.SKIPPED})])
def test_junit_counts_follow_fail_on(fail_on: frozenset[Verdict]) -> None:
    report = make_report()
    root = ET.fromstring(junit.render(report, fail_on=fail_on))
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None and suite.get("name") == "linkcheck"
    cases = suite.findall("testcase")
    failing = [r for r in report.results if r.verdict in fail_on]
    assert len(cases) == len(report.results) == int(suite.get("tests")) == int(root.get("tests"))
    assert len(suite.findall("testcase/failure")) == len(failing) == int(suite.get("failures"))
    skipped = 0 if Verdict.SKIPPED in fail_on else 1
    assert len(suite.findall("testcase/skipped")) == skipped == int(suite.get("skipped"))
    assert [c.get("classname") for c in cases] == [str(r.verdict) for r in report.results]
    assert [c.get("name") for c in cases] == [r.url for r in report.results]


def test_junit_failure_names_reason_detail_and_every_citation() -> None:
    root = ET.fromstring(junit.render(make_report()))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["run_id"] == "run-7" and props["fail_on"] == "broken,placeholder,changed"
    broken = next(c for c in root.iter("testcase") if c.get("classname") == "broken")
    failure = broken.find("failure")
    assert failure is not None and failure.get("type") == "broken"
    assert failure.get("message") == "http_status: 404 Not Found"
    assert f"{DOC}:7" in failure.text and f"{PDF}:page 3" in failure.text
    redirected = next(c for c in root.iter("testcase") if c.get("classname") == "redirected")
    assert redirected.find("failure") is None and "permanent_redirect" in redirected.find("system-out").text


def test_junit_escapes_markup_and_strips_characters_illegal_in_xml() -> None:
    url = 'https://x.example.org/?a=1&b="<x>"'
    report = make_report(id="run\x01<&>", results=(
        Result(url, Verdict.BROKEN, Reason.HTTP_STATUS, "410 <Gone>\x0c & \ud800 left",
               citations=(cite(url, 2, "</failure>\x1b]]>"),)),))
    root = ET.fromstring(junit.render(report))
    case = root.find("testsuite/testcase")
    assert case.get("name") == url
    assert case.find("failure").get("message") == "http_status: 410 <Gone> &  left"
    assert "“</failure>]]>”" in case.find("failure").text
    assert {p.get("name"): p.get("value") for p in root.iter("property")}["run_id"] == "run<&>"


def test_write_reports_writes_junit_with_the_runs_fail_on(tmp_path: Path) -> None:
    written = write_reports(make_report(), tmp_path, ["junit", "html", "sarif"], fail_on=frozenset({Verdict.ERROR}))
    assert sorted(p.name for p in written) == ["junit.xml", "report.html", "report.json", "report.sarif"]
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure").get("type") == "error"


def test_report_json_already_rendered_by_the_run_is_copied_not_rendered_again(tmp_path: Path) -> None:
    report = make_report()
    rendered = tmp_path / "last-report.json"
    # Over the 1 MiB the copy reads at a time, and told apart from a fresh rendering by its padding.
    rendered.write_bytes(report_json.render(report).encode() + b" " * (3 << 20))
    write_reports(report, tmp_path / "out", [], rendered_json=rendered)
    assert (tmp_path / "out" / "report.json").read_bytes() == rendered.read_bytes()
    write_reports(report, tmp_path / "fresh", [])
    assert (tmp_path / "fresh" / "report.json").read_text() == report_json.render(report)


def test_registry_has_every_format() -> None:
    assert {"html", "junit", "sarif", "json", "markdown", "text"} <= FORMATS.keys() <= FILENAMES.keys()
    assert FILENAMES["sarif"] == "report.sarif" and FILENAMES["html"] == "report.html"
    report = make_report()
    assert all(isinstance(FORMATS[name](report), str) for name in FORMATS)


# --- SARIF -------------------------------------------------------------------------------------------

def test_sarif_log_has_the_required_structure() -> None:
    log = json.loads(sarif.render(make_report()))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "linkcheck" and driver["version"] == "0.1.0"
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert sorted(ids) == sorted(str(reason) for reason in Reason if reason is not Reason.OK)
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in rules}
    assert levels["soft_404"] == levels["placeholder"] == levels["quote_missing"] == "error"
    assert levels["permanent_redirect"] == levels["bot_blocked"] == levels["timeout"] == "warning"
    assert levels["mailto"] == "note"
    assert {r["id"]: r["shortDescription"]["text"] for r in rules}["soft_404"] == "the page says it is not there"
    for result in run["results"]:
        assert {"ruleId", "ruleIndex", "level", "message"} <= result.keys()
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]


def test_sarif_emits_one_result_per_citation_of_each_failing_result() -> None:
    report = make_report()
    run = json.loads(sarif.render(report))["runs"][0]
    expected = sum(len(r.citations) for r in report.results if r.verdict not in (Verdict.OK, Verdict.SKIPPED))
    assert len(run["results"]) == expected == 7
    broken = [r for r in run["results"] if r["ruleId"] == "http_status"]
    assert [r["locations"][0]["physicalLocation"] for r in broken] == [
        {"artifactLocation": {"uri": DOC}, "region": {"startLine": 7}},
        {"artifactLocation": {"uri": PDF}},
    ]
    assert broken[0]["message"]["text"] == "https://gov.example.org/report-2019: 404 Not Found"
    assert broken[1]["message"]["text"].endswith("(page 3)")
    assert {r["level"] for r in run["results"] if r["ruleId"] == "timeout"} == {"warning"}
    assert not [r for r in run["results"] if r["ruleId"] in ("ok", "mailto")]


# --- GitHub Actions ----------------------------------------------------------------------------------

def test_github_annotations_per_citation_with_level_from_fail_on() -> None:
    lines = github.annotations(make_report(), junit.DEFAULT_FAIL_ON)
    assert "::error file=submissions/review.md,line=7,title=broken http_status::" \
           "https://gov.example.org/report-2019: 404 Not Found" in lines
    assert "::error file=submissions/annex.pdf,title=broken http_status::" \
           "https://gov.example.org/report-2019: 404 Not Found (page 3)" in lines
    assert sum(line.startswith("::warning ") for line in lines) == 3  # redirected, blocked, error
    assert sum(line.startswith("::error ") for line in lines) == 4
    assert not [line for line in lines if "mailto:" in line or "ok.example.org" in line]


def test_github_escaping_keeps_each_command_on_one_line() -> None:
    assert github.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    report = make_report(results=(Result("https://x.example.org/", Verdict.BROKEN, Reason.HTTP_STATUS,
                                         "404\n::set-output name=x::pwned",
                                         citations=(cite("https://x.example.org/", 5, document="a,b:c.md"),)),))
    (line,) = github.annotations(report, frozenset({Verdict.BROKEN}))
    assert "\n" not in line
    assert line == "::error file=a%2Cb%3Ac.md,line=5,title=broken http_status::" \
                   "https://x.example.org/: 404%0A::set-output name=x::pwned"


def test_emit_github_prints_annotations_and_appends_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    out = io.StringIO()
    report = make_report()
    github.emit_github(report, junit.DEFAULT_FAIL_ON, env={"GITHUB_ACTIONS": "true",
                                                           "GITHUB_STEP_SUMMARY": str(summary)}, out=out)
    assert out.getvalue().splitlines() == github.annotations(report, junit.DEFAULT_FAIL_ON)
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + markdown.render(report)
    assert github.step_summary(report) == markdown.render(report)


def test_emit_github_does_nothing_outside_actions(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    github.emit_github(make_report(), junit.DEFAULT_FAIL_ON, env={"GITHUB_STEP_SUMMARY": str(summary)}, out=out)
    github.emit_github(make_report(), junit.DEFAULT_FAIL_ON, env={"GITHUB_ACTIONS": "false"}, out=out)
    assert out.getvalue() == "" and not summary.exists()


def test_emit_github_without_a_summary_file_still_annotates() -> None:
    out = io.StringIO()
    github.emit_github(make_report(), frozenset({Verdict.BROKEN}), env={"GITHUB_ACTIONS": "true"}, out=out)
    assert out.getvalue().count("::error ") == 2


# --------------------------------------------------------------------------- report.json

@pytest.mark.parametrize("results", [None, ()], ids=["every verdict", "no results"])
def test_report_json_is_the_schema_with_one_result_per_line(results: tuple[Result, ...] | None) -> None:
    report = make_report() if results is None else make_report(results=results)
    text = report_json.render(report)
    assert json.loads(text) == report.to_json()
    assert RunReport.from_json(json.loads(text)).results == report.results
    lines = text.splitlines()
    if not report.results:
        assert len(lines) == 1
        return
    assert json.loads(lines[0] + "]}")["schema_version"] == 1  # the run and summary come first
    assert [json.loads(line.rstrip(","))["url"] for line in lines[1:-1]] == [r.url for r in report.results]


def test_report_json_reads_back_as_to_json() -> None:
    """Written piece by piece, the whole is still the report's to_json, one result a line."""
    report = RunReport(id="r", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:01Z", tool_version="1",
                       results=tuple(Result(f"https://example.org/{i}", Verdict.OK, Reason.OK, "HTTP 200", 200)
                                     for i in range(600)))
    text = report_json.render(report)
    assert json.loads(text) == report.to_json()
    assert len(text.splitlines()) == 1 + 600 + 1
