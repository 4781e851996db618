"""`linkcheck fix`: edits planned from a check, spliced into Markdown and HTML without touching anything else."""
from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

import linkcheck.cli.fix  # noqa: F401  - registers `fix` on the group
from linkcheck.cli import main
from linkcheck.fix import (
    Edit,
    apply_to_html,
    apply_to_markdown,
    fix_html,
    fix_markdown,
    instructions,
    plan_edits,
    unified_diff,
)
from linkcheck.model import Citation, Reason, Result, RunReport, Snapshot, Verdict
from tests.server import Catalogue

SHIPPED = Path(__file__).resolve().parent.parent / "submissions" / "ijm-integrated-review.md"


def edit(line: int, text: str, new: str, old: str = "#", document: str = "d.md") -> Edit:
    return Edit(document, line, old, new, text, "test")


# -- Markdown ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("before", "text", "after"), [
    ("See [IJM](#) here.\n", "IJM", "See [IJM](https://ijm.example/) here.\n"),
    ('See [IJM](# "The IJM site") here.\n', "IJM", 'See [IJM](https://ijm.example/ "The IJM site") here.\n'),
    ("See [IJM](<#>) here.\n", "IJM", "See [IJM](<https://ijm.example/>) here.\n"),
    ("See [**IJM** `x`](#) here.\n", "IJM x", "See [**IJM** `x`](https://ijm.example/) here.\n"),
    ("See [IJM]( # 'title' ).\n", "IJM", "See [IJM]( https://ijm.example/ 'title' ).\n"),
    ("See [IJM]() here.\n", "IJM", "See [IJM](https://ijm.example/) here.\n"),
])
def test_inline_links_change_only_their_destination(before: str, text: str, after: str) -> None:
    old = "" if "()" in before else "#"
    assert apply_to_markdown(before, [edit(1, text, "https://ijm.example/", old)]) == after


def test_autolink_and_bare_url_of_a_moved_page() -> None:
    before = "Moved: <http://a.org/old> and http://a.org/old, see [http://a.org/old](http://a.org/old).\n"
    after = apply_to_markdown(before, [edit(1, "http://a.org/old", "https://a.org/new", "http://a.org/old")])
    assert after == ("Moved: <https://a.org/new> and https://a.org/new, see "
                     "[http://a.org/old](https://a.org/new).\n")  # the visible label is text, not a URL to change


def test_destination_with_parentheses_and_new_url_needing_escapes() -> None:
    before = "[wiki](https://en.wikipedia.org/wiki/A_(b)) and [x](#)\n"
    edits = [edit(1, "wiki", "https://w.org/c", "https://en.wikipedia.org/wiki/A_(b)"),
             edit(1, "x", "https://w.org/a b(")]
    assert apply_to_markdown(before, edits) == r"[wiki](https://w.org/c) and [x](https://w.org/a%20b\()" + "\n"


def test_reference_definition_is_changed_where_it_is_defined() -> None:
    before = "Per [UNICEF][u] and [WHO][].\n\n[u]: # \"UNICEF\"\n[WHO]: <#>\n"
    edits = [edit(1, "UNICEF", "https://unicef.example/"), edit(1, "WHO", "https://who.example/")]
    assert apply_to_markdown(before, edits) == ("Per [UNICEF][u] and [WHO][].\n\n"
                                                "[u]: https://unicef.example/ \"UNICEF\"\n[WHO]: <https://who.example/>\n")


def test_shared_reference_definition_is_skipped_unless_every_user_gets_the_same_url() -> None:
    before = "[a][todo] and\n[b][todo]\n\n[todo]: #\n"
    fixed = fix_markdown(before, [edit(1, "a", "https://a.example/")])
    assert fixed.text == before and fixed.links == 0
    assert "shared" in fixed.skipped[0][1]
    both = [edit(1, "a", "https://a.example/"), edit(2, "b", "https://a.example/")]
    assert apply_to_markdown(before, both) == "[a][todo] and\n[b][todo]\n\n[todo]: https://a.example/\n"


def test_two_links_on_one_line_each_keep_their_own_url() -> None:
    before = "[IJM](#), [UNICEF](#) and [IJM](#) again; ![IJM](#)\n"
    fixed = fix_markdown(before, [edit(1, "UNICEF", "https://u.example/"), edit(1, "IJM", "https://i.example/")])
    # The same link twice on one line is one citation twice: both get the URL. The image is no citation.
    assert fixed.text == ("[IJM](https://i.example/), [UNICEF](https://u.example/) and [IJM](https://i.example/)"
                          " again; ![IJM](#)\n")
    assert fixed.links == 3 and fixed.skipped == ()


def test_crlf_file_stays_crlf_and_lines_count_as_the_extractor_counts() -> None:
    before = "Title\r\n\r\nSee [IJM](#).\r\nAlso [UNICEF](#)\r\n"
    after = apply_to_markdown(before, [edit(4, "UNICEF", "https://u.example/")])
    assert after.encode() == b"Title\r\n\r\nSee [IJM](#).\r\nAlso [UNICEF](https://u.example/)\r\n"


def test_a_link_that_is_not_there_is_skipped_not_guessed() -> None:
    before = "See [IJM](#) here.\n\n[UNICEF](#)\n"
    edits = [edit(1, "UNICEF", "https://u.example/"), edit(1, "IJM", "https://i.example/", old="https://elsewhere/"),
             Edit("d.md", None, "#", "https://x/", "IJM", "test"), edit(99, "IJM", "https://i.example/")]
    fixed = fix_markdown(before, edits)
    assert fixed.text == before and fixed.links == 0 and [e for e, _ in fixed.skipped] == edits
    html_edits = [Edit("d.html", 9, "#", "https://x/", "IJM", "t"), Edit("d.html", 1, "#", "https://x/", "UNICEF", "t")]
    skipped = fix_html('<a href="#">IJM</a>\n', html_edits).skipped
    assert [e for e, _ in skipped] == html_edits


def test_wrapped_link_text_is_found_from_its_first_line() -> None:
    before = "A long [World Health\nOrganisation](#) link.\n"
    assert apply_to_markdown(before, [edit(1, "World Health Organisation", "https://who.example/")]) == (
        "A long [World Health\nOrganisation](https://who.example/) link.\n")


# -- HTML -------------------------------------------------------------------------------------------
def test_html_href_values_change_in_place_whatever_the_quoting() -> None:
    before = ("<p><a class=\"x\"\r\n   href=\"#\">IJM</a> and <a href='#' title=t>UNICEF &amp; co</a>"
              " and <a href=#>B</a> <a href=\"#\">Other</a></p>\r\n")
    edits = [Edit("d.html", 2, "#", "https://i.example/?a=1&b=2", "IJM", "t"),
             Edit("d.html", 2, "#", "https://u.example/", "UNICEF & co", "t"),
             Edit("d.html", 2, "#", "https://b.example/", "B", "t")]
    assert apply_to_html(before, edits) == (
        "<p><a class=\"x\"\r\n   href=\"https://i.example/?a=1&amp;b=2\">IJM</a> and "
        "<a href='https://u.example/' title=t>UNICEF &amp; co</a> and <a href=https://b.example/>B</a>"
        " <a href=\"#\">Other</a></p>\r\n")


def test_robust_links_follow_the_href_escaped_and_never_twice() -> None:
    before = ('<a href="#">IJM</a>\n<a data-x=1 href="https://u.example/" data-versionurl="kept">UNICEF</a>\n'
              '<a href="https://n.example/">none</a>\n')
    robust = {"https://i.example/": ('https://web.archive.org/web/2024/https://i.example/?a=1&b="2"', "2024-05-01"),
              "https://u.example/": ("https://archive.example/u", "2024-06-02")}
    fixed = fix_html(before, [Edit("d.html", 1, "#", "https://i.example/", "IJM", "t")], robust)
    assert fixed.text == (
        '<a href="https://i.example/" data-versionurl="https://web.archive.org/web/2024/https://i.example/'
        '?a=1&amp;b=&quot;2&quot;" data-versiondate="2024-05-01">IJM</a>\n'
        '<a data-x=1 href="https://u.example/" data-versiondate="2024-06-02" data-versionurl="kept">UNICEF</a>\n'
        '<a href="https://n.example/">none</a>\n')
    assert fixed.links == 1 and fixed.annotated == 2
    assert apply_to_html(fixed.text, [], robust) == fixed.text
    assert apply_to_html(before, []) == before  # no Robust Links unless asked


# -- planning, diffs, instructions ------------------------------------------------------------------
def test_plan_edits_takes_placeholders_with_a_reference_url_and_permanent_redirects_only() -> None:
    ijm = Citation("d.md", 3, "IJM", "#")
    moved = "http://a.example/moved"
    results = (
        Result("#", Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "", citations=(ijm, ijm), reference_id="ijm",
               suggested_url="https://ijm.example/"),
        Result("#", Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "", citations=(Citation("d.md", 5, "x", "#"),),
               reference_id="unknown"),
        Result("http:/typo.example", Verdict.PLACEHOLDER, Reason.INVALID_URL, "",
               citations=(Citation("d.md", 6, "t", "http:/typo.example"),), suggested_url="http://typo.example"),
        Result(moved, Verdict.REDIRECTED, Reason.PERMANENT_REDIRECT, "moved permanently: cite it instead",
               citations=(Citation("d.md", 9, "a", moved), Citation("e.pdf", None, "a", moved, page=3)),
               suggested_url="https://a.example/new"),
        Result("https://a.example/new", Verdict.OK, Reason.OK, "", archived_url="https://archive.example/new",
               snapshot=Snapshot("w.warc.gz", "0" * 64, time="2024-06-02T10:00:00Z")),
        Result("http://a.example/temp", Verdict.OK, Reason.OK, "", citations=(Citation("d.md", 10, "b", "x"),)),
    )
    edits = plan_edits(RunReport("r", "", "", "0", results=results))
    assert [(e.document, e.line, e.text, e.old_url, e.new_url) for e in edits] == [
        ("d.md", 3, "IJM", "#", "https://ijm.example/"),
        ("d.md", 9, "a", moved, "https://a.example/new"),
        ("e.pdf", None, "a", moved, "https://a.example/new")]
    assert (edits[1].version_url, edits[1].version_date) == ("https://archive.example/new", "2024-06-02")
    assert instructions(edits[2:]) == [f"e.pdf: page 3: replace {moved} (linked from 'a') with "
                                       "https://a.example/new  (moved permanently: cite it instead)"]


def test_unified_diff_has_git_prefixes_and_marks_a_missing_final_newline() -> None:
    diff = unified_diff("docs/a.md", "one\r\n[x](#)", "one\r\n[x](https://x/)")
    assert diff.splitlines() == ["--- a/docs/a.md", "+++ b/docs/a.md", "@@ -1,2 +1,2 @@", " one", "-[x](#)",
                                 "\\ No newline at end of file", "+[x](https://x/)", "\\ No newline at end of file"]
    assert unified_diff("a.md", "same\n", "same\n") == ""


# -- the command, against a real local server --------------------------------------------------------
async def cli(*args: str) -> CliResult:
    # The CLI runs its own event loop, so it goes to a thread while this one serves the site.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


_SOURCES = {  # the shipped register's anchors; the last two have no source yet
    "ijm-uk": "IJM", "who-covid19-vaw-2020": "World Health Organisation",
    "untf-evaw-covid19-2020": "UN Trust Fund to End Violence Against Women",
    "unicef-covid19-child-protection-2020": "UNICEF",
    "nca-online-safety-2020": "National Crime Agency", "world-bank-covid-poverty-2020": "49 million",
    "csj-it-still-happens-here-2020": "100,000 victims", "ilo-global-estimates-2017": "40 million victims",
    "eti-hult-corporate-leadership-2016": "77% of British businesses",
    "livelihoods-quality-of-life": "livelihoods and quality of life",
    "communities-destabilised": "communities may be destabilised",
}
_UNKNOWN = {"livelihoods-quality-of-life", "communities-destabilised"}


async def test_fix_apply_fills_every_placeholder_with_a_known_source(
        web: tuple[Catalogue, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions").mkdir()
    doc = tmp_path / "submissions" / SHIPPED.name
    shutil.copyfile(SHIPPED, doc)
    urls = {ref: f"{base}/ok?{ref}" for ref in _SOURCES if ref not in _UNKNOWN}
    register = "".join(f"  - id: {ref}\n    cited_as: {anchor!r}\n" + (f"    url: {urls[ref]}\n" if ref in urls else "")
                       for ref, anchor in _SOURCES.items())
    (tmp_path / "references.yaml").write_text(
        f"version: 1\ndocuments: [submissions/{SHIPPED.name}]\nsettings:\n  exclude: ['ijmuk\\.org']\n"
        f"references:\n{register}", encoding="utf-8")

    preview = await cli("fix", "--allow-private")
    assert preview.exit_code == 1 and doc.read_bytes() == SHIPPED.read_bytes()  # nothing written without --apply
    assert f"+++ b/submissions/{SHIPPED.name}" in preview.output
    assert "2 placeholder link(s) have no known source" in preview.output

    applied = await cli("fix", "--apply", "--allow-private")
    assert applied.exit_code == 0, applied.output
    assert "fixed 9 link(s) in 1 document(s)" in applied.output and "linkcheck check" in applied.output
    expected = SHIPPED.read_text(encoding="utf-8")
    for ref, url in urls.items():
        assert expected.count(f"[{_SOURCES[ref]}](#)") == 1
        expected = expected.replace(f"[{_SOURCES[ref]}](#)", f"[{_SOURCES[ref]}]({url})")
    assert doc.read_bytes() == expected.encode("utf-8")  # only the nine URLs changed, byte for byte
    assert doc.read_text(encoding="utf-8").count("](#)") == 2
    assert not list(doc.parent.glob(".*.tmp"))

    checked = await cli("check", "--allow-private", "--quiet")
    assert checked.exit_code == 1  # the two unknown sources are still placeholders
    report = json.loads((tmp_path / "reports" / "report.json").read_text(encoding="utf-8"))
    placeholders = [c["text"] for r in report["results"] if r["verdict"] == "placeholder" for c in r["citations"]]
    assert sorted(placeholders) == sorted(_SOURCES[ref] for ref in _UNKNOWN)


async def test_fix_replaces_a_permanent_redirect_with_its_destination(
        web: tuple[Catalogue, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    md, page = tmp_path / "doc.md", tmp_path / "page.html"
    md.write_bytes(f"See [the brief]({base}/moved) or <{base}/moved>.\r\nKept: [temp]({base}/temp)\r\n".encode())
    page.write_bytes(f'<p>See <a href="{base}/moved">the brief</a>.</p>\n'.encode())

    preview = await cli("fix", "doc.md", "page.html", "--allow-private")
    assert preview.exit_code == 1
    assert f"-See [the brief]({base}/moved)" in preview.output and f"+See [the brief]({base}/ok)" in preview.output
    assert f'+<p>See <a href="{base}/ok">the brief</a>.</p>' in preview.output

    applied = await cli("fix", "doc.md", "page.html", "--allow-private", "--apply")
    assert applied.exit_code == 0 and "fixed 3 link(s) in 2 document(s)" in applied.output
    assert md.read_bytes() == f"See [the brief]({base}/ok) or <{base}/ok>.\r\nKept: [temp]({base}/temp)\r\n".encode()
    assert page.read_bytes() == f'<p>See <a href="{base}/ok">the brief</a>.</p>\n'.encode()

    again = await cli("fix", "doc.md", "page.html", "--allow-private")
    assert again.exit_code == 0 and "nothing to fix" in again.output


def test_robust_links_come_from_our_replay_server_when_no_archived_url() -> None:
    from linkcheck.fix import robust_links
    from linkcheck.model import Reason, Result, RunReport, Snapshot, Verdict

    ok = Result(url="https://stats.gov.uk/t", verdict=Verdict.OK, reason=Reason.OK, detail="HTTP 200",
                snapshot=Snapshot(warc="a.warc.gz", sha256="0" * 64, offset=0, time="2026-11-02T08:30:00Z"))
    report = RunReport(id="r", started="s", finished="f", tool_version="0", results=(ok,))
    assert robust_links(report) == {}
    assert robust_links(report, "https://replay.org/coll/") == {
        "https://stats.gov.uk/t": ("https://replay.org/coll/20261102083000/https://stats.gov.uk/t", "2026-11-02")}
