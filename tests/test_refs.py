"""The reference register kept in step: plan_sync's table, round-trip edits, titles, `refs sync`, `init`."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import linkcheck.cli.refs  # noqa: F401  - registers `refs` and `init` on main
from linkcheck.cli import main
from linkcheck.config import Settings, load_config
from linkcheck.errors import LinkcheckError
from linkcheck.model import Citation
from linkcheck.refs import NewReference, SyncPlan, apply_sync, fetch_titles, init_register, plan_sync
from tests.server import Catalogue

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "references.yaml"
SUBMISSION = ROOT / "submissions" / "ijm-integrated-review.md"
PLACEHOLDER_ANCHORS = [
    "IJM", "World Health Organisation", "UN Trust Fund to End Violence Against Women", "UNICEF",
    "National Crime Agency", "livelihoods and quality of life", "communities may be destabilised",
    "49 million", "100,000 victims", "40 million victims", "77% of British businesses",
]

REGISTER = """\
version: 1
references:
  - id: who-int-report
    url: https://www.who.int/report
  - id: forty-million
    cited_as: "Forty million"
  - id: unicef-2020
    url: https://www.unicef.org/press-releases/2020
    cited_as: "UNICEF"
"""


def cite(url: str, text: str = "a source", line: int = 1) -> Citation:
    return Citation(document="doc.md", line=line, text=text, url=url)


def added(plan: SyncPlan) -> list[tuple[str, str | None, str | None]]:
    return [(new.id, new.url, new.cited_as) for new in plan.added]


def in_order(lines: list[str], text: str) -> bool:
    """Every line appears, unchanged and in the same order, among the text's lines."""
    remaining = iter(text.splitlines())
    return all(line in remaining for line in lines)


# -- plan_sync -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("citations", "expected"), [
    pytest.param([cite("https://www.ilo.org/global/publications/books/WCMS_575479/lang--en/index.htm", "ILO")],
                 [("ilo-org-wcms-575479", "https://www.ilo.org/global/publications/books/WCMS_575479/lang--en/"
                   "index.htm", "ILO")], id="new-url-slug-from-host-and-last-meaningful-segment"),
    pytest.param([cite("https://who.int/other/report.pdf", "WHO"), cite("https://who.int/report.html", "WHO 2")],
                 [("who-int-report-2", "https://who.int/other/report.pdf", "WHO"),
                  ("who-int-report-3", "https://who.int/report.html", "WHO 2")], id="duplicate-slug-numbered"),
    pytest.param([cite("HTTPS://WWW.WHO.INT:443/%72eport#summary")], [], id="same-url-spelled-differently"),
    pytest.param([cite("#", "Someone"), cite("javascript:void(0)"), cite("https://example.org/x"),
                  cite("mailto:a@b.org"), cite("notes.md"), cite("#section")], [], id="not-real-urls-ignored"),
    pytest.param([cite("https://ijmuk.org", "IJMUK.org"), cite("https://x.org/a#b", "https://x.org/a#b")],
                 [("ijmuk-org", "https://ijmuk.org/", None), ("x-org-a", "https://x.org/a", None)],
                 id="anchor-text-that-is-the-url-is-no-name"),
    pytest.param([cite("https://x.org/a#one", "first"), cite("https://x.org/a#two", "second")],
                 [("x-org-a", "https://x.org/a", "first")], id="fragments-are-one-source"),
    pytest.param([cite("https://research.example.net.uk/" + "a-very-long-title-of-a-report-" * 4 + "2020")],
                 [("research-example-net-uk-a-very-long-title-of-a-report-a-very", "https://research.example.net"
                   ".uk/" + "a-very-long-title-of-a-report-" * 4 + "2020", "a source")], id="id-at-most-60-chars"),
    pytest.param([cite("https://buecher.de/%C3%9Cber%20Uns/", "Bücher")],
                 [("buecher-de-uber-uns", "https://buecher.de/%C3%9Cber%20Uns/", "Bücher")], id="ascii-id"),
])
def test_plan_sync_new_entries(citations: list[Citation], expected: list[tuple[str, str | None, str | None]]) -> None:
    plan = plan_sync(REGISTER, citations)
    assert added(plan) == expected
    assert all(len(new.id) <= 60 and new.id.replace("-", "").isalnum() and new.id.islower() for new in plan.added)


@pytest.mark.parametrize(("citations", "uncited"), [
    pytest.param([], ["who-int-report", "forty-million", "unicef-2020"], id="nothing-cited"),
    pytest.param([cite("https://WWW.who.int/report#x"), cite("#", "forty   MILLION"), cite("#", "unicef")], [],
                 id="url-or-anchor-text"),
    pytest.param([cite("https://x.org/", "Forty million")], ["who-int-report", "unicef-2020"],
                 id="reference-without-url-matched-by-any-anchor-text"),
    pytest.param([cite("https://unicef.org/elsewhere", "UNICEF")], ["who-int-report", "forty-million", "unicef-2020"],
                 id="a-url-reference-cited-by-name-at-another-url-is-not-cited"),
])
def test_plan_sync_uncited(citations: list[Citation], uncited: list[str]) -> None:
    plan = plan_sync(REGISTER, citations)
    assert plan.uncited == uncited
    assert plan.unchanged == 3 - len(uncited)


def test_plan_sync_placeholders_become_entries_without_url_only_when_asked() -> None:
    citations = [cite("#", "Global estimates"), cite("#", "global  estimates"), cite("#", "Forty million"),
                 cite("#", "UNICEF"), cite("https://new.org/brief", "Brief"), cite("#", "Brief"), cite("#", "")]
    assert added(plan_sync(REGISTER, citations)) == [("new-org-brief", "https://new.org/brief", "Brief")]
    assert added(plan_sync(REGISTER, citations, placeholders=True)) == [
        ("global-estimates", None, "Global estimates"), ("new-org-brief", "https://new.org/brief", "Brief")]


def test_plan_sync_of_the_shipped_register_and_submission() -> None:
    from linkcheck.pipeline import extract_documents
    _, citations = extract_documents([SUBMISSION])
    plan = plan_sync(SHIPPED.read_text(encoding="utf-8"), citations)
    # Every placeholder stands for a registered source, and the footer's own link is registered.
    assert added(plan) == []
    assert plan.uncited == [] and plan.unchanged == 12


# -- apply_sync ------------------------------------------------------------------------------------

def test_apply_sync_keeps_a_hand_written_layout(tmp_path: Path) -> None:
    text = ("# Sources of the brief.\nversion: 1\nreferences:\n- id: a   # the first\n  url: https://a.org/\n"
            "  quote: 'single quoted'\n  accept: [404]\n\n- id: b\n  title: >-\n    folded\n    title\n"
            "  url: https://b.org/\n\n# Run settings\nsettings:\n  timeout: 5\n# end\n")
    path = tmp_path / "references.yaml"
    path.write_text(text, encoding="utf-8")
    plan = SyncPlan([NewReference("c-org", "https://c.org/", "C: the #1 source")], uncited=["a"], unchanged=1)
    new = apply_sync(path, plan, {"https://c.org/": "A page: 'quoted' \"title\""})
    assert path.read_text(encoding="utf-8") == new
    assert in_order(text.splitlines(), new)
    assert new.index("- id: c-org") < new.index("# Run settings")  # at the end of `references:`
    assert "\n\n- id: c-org\n  url: https://c.org/\n" in new  # the file's own spacing and indentation
    config = load_config(path)
    assert [r.id for r in config.references] == ["a", "b", "c-org"]  # nothing removed, not even uncited
    assert config.references[2].title == "A page: 'quoted' \"title\""
    assert config.references[2].cited_as == "C: the #1 source" and config.settings.timeout == 5


@pytest.mark.parametrize("text", ["", "version: 1\n", "version: 1\nreferences:\n", "version: 1\nreferences: []\n"])
def test_apply_sync_creates_references_where_missing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "references.yaml"
    path.write_text(text, encoding="utf-8")
    apply_sync(path, SyncPlan([NewReference("a-org", "https://a.org/")], [], 0), {})
    assert [(r.id, r.url) for r in load_config(path).references] == [("a-org", "https://a.org/")]


def test_apply_sync_keeps_crlf_and_changes_nothing_without_additions(tmp_path: Path) -> None:
    path = tmp_path / "references.yaml"
    path.write_bytes(b"version: 1\r\nreferences:\r\n  - id: a\r\n    url: https://a.org/\r\n")
    assert apply_sync(path, SyncPlan([], ["a"], 0), {}) == path.read_bytes().decode("utf-8")
    assert apply_sync(path, SyncPlan([NewReference("b-org", "https://b.org/")], [], 1), {}) == \
        path.read_bytes().decode("utf-8")
    assert path.read_bytes().startswith(b"version: 1\r\nreferences:\r\n  - id: a\r\n    url: https://a.org/\r\n")
    assert b"\r\n  - id: b-org\r\n    url: https://b.org/\r\n" in path.read_bytes()


def test_apply_sync_refuses_what_it_cannot_append_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "references.yaml"
    path.write_text("- not a mapping\n", encoding="utf-8")
    with pytest.raises(LinkcheckError, match="references.yaml: expected a mapping"):
        apply_sync(path, SyncPlan([NewReference("a", "https://a.org/")], [], 0), {})
    assert path.read_text(encoding="utf-8") == "- not a mapping\n"


# -- titles ----------------------------------------------------------------------------------------

async def test_fetch_titles_from_a_local_server(web: tuple[Catalogue, str]) -> None:
    catalogue, base = web
    urls = [f"{base}/ok", f"{base}/gone", f"{base}/report.pdf", f"{base}/soft404", f"{base}/moved"]
    assert await fetch_titles(urls, Settings()) == {}  # loopback is refused by default
    assert catalogue.log == []
    titles = await fetch_titles(urls, Settings(allow_private=True, retries=0))
    assert titles == {f"{base}/ok": "Labour force brief", f"{base}/moved": "Labour force brief"}


# -- the command line ------------------------------------------------------------------------------

async def cli(*args: str) -> Result:
    # The CLI runs its own event loop, so it goes to a thread while this one serves the site.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped register and submission, as a working folder."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(SHIPPED, tmp_path / "references.yaml")
    (tmp_path / "submissions").mkdir()
    shutil.copy(SUBMISSION, tmp_path / "submissions" / SUBMISSION.name)
    return tmp_path


async def test_refs_sync_appends_and_keeps_every_written_line(web: tuple[Catalogue, str], project: Path) -> None:
    _, base = web
    before = (project / "references.yaml").read_text(encoding="utf-8")
    Path("update.md").write_text(f"New figures from the [labour brief]({base}/ok), see the [handbook]({base}/page), "
                                 f"and the [labour brief]({base}/ok#table-2) again.\n", encoding="utf-8")
    result = await cli("refs", "sync", "update.md", "--allow-private")
    assert result.exit_code == 0, result.output
    after = (project / "references.yaml").read_text(encoding="utf-8")
    assert after.startswith(before) and in_order(before.splitlines(), after)
    config = load_config(project / "references.yaml")
    assert len(config.references) == 14  # the update cites none of the others: named, never removed
    new = {r.url: r for r in config.references[12:]}
    assert {(r.title, r.cited_as) for r in new.values()} == {("Labour force brief", "labour brief"),
                                                               ("Handbook", "handbook")}
    assert new[f"{base}/ok"].id == "127-0-0-1-ok" and new[f"{base}/page"].id == "127-0-0-1"  # "page" names nothing
    assert "added 2 references" in result.output and '"Labour force brief"' in result.output
    assert "cited by no document" in result.output and "  who-covid19-vaw-2020\n" in result.output


async def test_refs_sync_check_is_for_ci(project: Path) -> None:
    Path("submissions/update.md").write_text("[WHO](https://who.int/new-report) and "
                                             "[ILO](https://ilo.org/estimates).\n", encoding="utf-8")
    before = Path("references.yaml").read_bytes()
    out_of_step = await cli("refs", "sync", "--check", "submissions")
    assert out_of_step.exit_code == 1
    assert Path("references.yaml").read_bytes() == before
    assert "not registered: https://who.int/new-report" in out_of_step.output
    assert "not registered: https://ilo.org/estimates" in out_of_step.output
    synced = await cli("refs", "sync", "submissions", "--no-titles")
    assert synced.exit_code == 0 and "added 2 references" in synced.output
    in_step = await cli("refs", "sync", "--check", "submissions")
    assert in_step.exit_code == 0 and "in step" in in_step.output


async def test_refs_sync_reads_the_registers_documents_and_reports_errors_in_one_line(project: Path) -> None:
    assert (await cli("refs", "sync", "--check")).exit_code == 0  # the shipped register is in step
    missing = await cli("refs", "sync", "--references", "other.yaml")
    assert missing.exit_code == 2 and missing.output.count("\n") == 1 and "linkcheck init" in missing.output


async def test_init_starts_a_register_from_the_submission(project: Path) -> None:
    Path("references.yaml").unlink()
    result = await cli("init", "submissions", "--no-titles")
    assert result.exit_code == 0, result.output
    assert "quote:" in result.output and "uses: <owner>/linkcheck@v1" in result.output
    assert "linkcheck check" in result.output
    config = load_config(project / "references.yaml")
    assert config.documents == (project / "submissions",)
    placeholders = [r for r in config.references if r.url is None]
    assert [r.cited_as for r in placeholders] == PLACEHOLDER_ANCHORS
    assert placeholders[0].id == "ijm" and placeholders[-1].id == "77-of-british-businesses"
    assert [(r.id, r.url, r.cited_as) for r in config.references if r.url] == [("ijmuk-org", "http://ijmuk.org/", None)]
    text = Path("references.yaml").read_text(encoding="utf-8")
    uncommented = text.replace("# settings:", "settings:").replace("#   ", "  ")
    Path("uncommented.yaml").write_text(uncommented, encoding="utf-8")
    assert load_config(Path("uncommented.yaml")).settings == Settings()  # the block shows the defaults

    again = await cli("init", "submissions", "--no-titles")
    assert again.exit_code == 2 and "already exists" in again.output and again.output.count("\n") == 1
    assert Path("references.yaml").read_text(encoding="utf-8") == text
    with pytest.raises(LinkcheckError, match="already exists"):
        init_register(project / "references.yaml", [project / "submissions"], [])


async def test_init_fetches_titles_and_writes_paths_relative_to_the_register(
        web: tuple[Catalogue, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    Path("drafts").mkdir()
    Path("drafts/brief.md").write_text(f"See the [labour brief]({base}/ok) and [our survey](#).\n", encoding="utf-8")
    result = await cli("init", "drafts/brief.md", "--references", "register/references.yaml", "--allow-private")
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "register" / "references.yaml")
    assert "  - ../drafts/brief.md\n" in (tmp_path / "register" / "references.yaml").read_text(encoding="utf-8")
    assert config.documents == (tmp_path / "register" / ".." / "drafts" / "brief.md",)
    assert [(r.url, r.title, r.cited_as) for r in config.references] == [
        (f"{base}/ok", "Labour force brief", "labour brief"), (None, None, "our survey")]
