"""The command line as users and CI drive it: exit statuses, reports, one-line errors."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.collect import collect
from linkcheck.config import load_config
from linkcheck.extract import extract_file
from tests.server import Catalogue

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "submissions" / "ijm-integrated-review.md"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "draft.md", "Poverty rose by [49 million](#) this year.\n\nContact [us](mailto:a@ijmuk.org).\n")
    write(tmp_path / "references.yaml", "version: 1\ndocuments: [draft.md]\nreferences:\n"
          "  - id: world-bank-2020\n    cited_as: 49 million\n    url: https://blogs.worldbank.org/x\n"
          "settings:\n  exclude: ['worldbank']\n")
    return tmp_path


def test_placeholder_fails_the_gate_and_names_the_source(project: Path) -> None:
    code, out = run("check")
    assert code == 1
    assert "draft.md:1" in out and "use https://blogs.worldbank.org/x from references.yaml (world-bank-2020)" in out
    report = json.loads((project / "reports" / "report.json").read_text())
    assert report["schema_version"] == 1 and set(report["run"]) >= {"id", "started", "finished", "tool_version"}
    assert report["summary"]["placeholder"] == 1 and report["summary"]["skipped"] == 2
    placeholder = next(r for r in report["results"] if r["verdict"] == "placeholder")
    assert placeholder["citations"] == [{"document": "draft.md", "line": 1, "text": "49 million",
                                         "claims": [{"text": "49 million", "value": 49_000_000, "unit": None}]}]
    assert placeholder["reference_id"] == "world-bank-2020"
    assert set(placeholder) >= {"url", "verdict", "reason", "detail", "http_status", "final_url", "redirects",
                                "citations", "reference_id", "snapshot", "archived_url"}


def test_fail_on_decides_the_exit_status(project: Path) -> None:
    assert run("check", "--quiet", "--fail-on", "broken")[0] == 0
    assert run("check", "--quiet", "--fail-on", "broken,skipped")[0] == 1


def test_quiet_prints_nothing_and_formats_are_written(project: Path) -> None:
    code, out = run("check", "--quiet", "--format", "markdown", "--format", "text,json", "--report-dir", "out")
    assert code == 1 and out == ""
    assert {p.name for p in (project / "out").iterdir()} == {"report.json", "report.md", "report.txt"}
    assert "| placeholder | 1 |" in (project / "out" / "report.md").read_text()


@pytest.mark.parametrize("yaml_text,where,words", [
    ("version: 1\nreferences:\n  - id: a\n    quotee: x\n", "references.yaml:4:", "unknown key 'quotee'"),
    ("version: 1\nsettings:\n  concurrency: lots\n", "references.yaml:3:", "expected an integer"),
    ("version: 1\nreferences: [\n", "references.yaml:", "YAML"),
])
def test_bad_references_file_is_one_line_exit_2(project: Path, yaml_text: str, where: str, words: str) -> None:
    write(project / "references.yaml", yaml_text)
    code, out = run("check")
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and words.lower() in lines[0].lower()
    assert "Traceback" not in out


def test_missing_document_is_one_line_exit_2(project: Path) -> None:
    code, out = run("check", "nowhere.md")
    assert code == 2 and out.strip().count("\n") == 0 and "nowhere.md" in out


def test_unknown_format_and_verdict_are_usage_errors(project: Path) -> None:
    assert run("check", "--format", "pdf")[0] == 2
    assert run("check", "--fail-on", "kaput")[0] == 2


def test_extract_json_lists_every_citation(project: Path) -> None:
    code, out = run("extract", "--json", "draft.md")
    assert code == 0
    assert json.loads(out) == [
        {"document": "draft.md", "line": 1, "text": "49 million", "url": "#",
         "claims": [{"text": "49 million", "value": 49_000_000, "unit": None}]},
        {"document": "draft.md", "line": 3, "text": "us", "url": "mailto:a@ijmuk.org"},
    ]


# -- the shipped submission ------------------------------------------------------------------------

def test_every_placeholder_of_the_shipped_submission_has_a_register_entry() -> None:
    config = load_config(ROOT / "references.yaml")
    citations = extract_file(SHIPPED, "submission.md")
    targets = [t for t in collect(citations, config.references) if t.url == "#"]
    assert len(targets) == 11
    unknown = {t.reference.id for t in targets if t.reference and not t.reference.url}
    assert unknown == {"livelihoods-quality-of-life", "communities-destabilised"}
    assert all(t.reference is not None for t in targets)


async def test_real_subprocess_checks_the_shipped_submission(web: tuple[Catalogue, str], tmp_path: Path) -> None:
    """`python -m linkcheck` end to end: the shipped text, its register's anchors, loopback sources."""
    catalogue, base = web
    shipped = load_config(ROOT / "references.yaml")
    entries = "".join(f"  - id: {r.id}\n    cited_as: {json.dumps(r.cited_as)}\n"
                      + (f"    url: {base}/ok?{r.id}\n" if r.url else "") for r in shipped.references)
    refs = write(tmp_path / "references.yaml",
                 f"version: 1\ndocuments: [{SHIPPED}]\nsettings:\n  exclude: ['ijmuk\\.org']\nreferences:\n{entries}")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linkcheck", "check", "--references", str(refs), "--allow-private",
        "--report-dir", str(tmp_path / "reports"), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, err.decode()
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    registered = sum(1 for r in shipped.references if r.url)
    assert report["summary"]["placeholder"] == 11 and report["summary"]["ok"] == registered == 10
    by_ref = {r["reference_id"]: r for r in report["results"] if r["verdict"] == "placeholder"}
    assert by_ref["who-covid19-vaw-2020"]["citations"][0]["text"] == "World Health Organisation"
    assert f"{base}/ok?who-covid19-vaw-2020" in by_ref["who-covid19-vaw-2020"]["detail"]
    assert "no source is known yet" in by_ref["communities-destabilised"]["detail"]
    assert len(catalogue.requests_to("/ok")) == registered
    assert "PLACEHOLDER (11)" in out.decode()


async def test_pre_publication_fails_on_redirects_and_warns_on_unquoted(web: tuple[Catalogue, str],
                                                                       tmp_path: Path) -> None:
    _, base = web
    write(tmp_path / "draft.md", f"Moved: [note]({base}/moved).\n")
    refs = write(tmp_path / "references.yaml", f"version: 1\ndocuments: [draft.md]\nreferences:\n"
                                               f"  - id: methods-note\n    url: {base}/moved\n")
    args = ["check", "--references", str(refs), "--allow-private", "--report-dir", str(tmp_path / "r"),
            "--state-dir", str(tmp_path / "s")]
    runner = CliRunner()
    normal = await asyncio.to_thread(runner.invoke, main, args)
    strict = await asyncio.to_thread(runner.invoke, main, [*args, "--pre-publication"])
    assert normal.exit_code == 0 and strict.exit_code == 1
    assert f"warning: {refs}:4: reference methods-note has no quote" in strict.output
    assert "warning" not in normal.output


def test_every_format_is_written_and_junit_follows_fail_on(project: Path) -> None:
    code, _ = run("check", "--quiet", "--format", "html,junit,sarif,markdown,text", "--fail-on", "placeholder,skipped")
    assert code == 1
    written = {p.name for p in (project / "reports").iterdir()}
    assert written == {"report.json", "report.html", "junit.xml", "report.sarif", "report.md", "report.txt"}
    import xml.etree.ElementTree as ElementTree
    suite = ElementTree.parse(project / "reports" / "junit.xml").getroot()
    failures = suite.findall(".//testcase/failure")
    assert len(failures) == 3  # the placeholder and the two skipped links: --fail-on decides


def test_github_actions_get_annotations_and_a_summary(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = run("check", "--quiet")
    assert code == 1
    assert "::error file=draft.md,line=1,title=placeholder placeholder::#" in out
    assert "| placeholder | 1 |" in summary.read_text()
