"""The pre-commit hooks, run by the real pre-commit framework on a scratch submission repository: only the
register's documents are checked, nothing is left in the tree, and the register is kept in step."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from linkcheck.cli import main
from linkcheck.cli.precommit import submissions
from linkcheck.config import load_config
from tests.server import Catalogue

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run([*GIT, "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _hook_repository(tmp_path: Path) -> tuple[Path, str]:
    """This working tree's package as a git repository of its own (what `repo:` clones), and its commit."""
    repo = tmp_path / "linkcheck-repo"
    shutil.copytree(ROOT / "linkcheck", repo / "linkcheck", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "linkcheck")
    return repo, _git(repo, "rev-parse", "HEAD")


def _submission_repository(tmp_path: Path, base: str, hooks: Path, rev: str) -> Path:
    sub = tmp_path / "submission"
    (sub / "submissions").mkdir(parents=True)
    (sub / "references.yaml").write_text(
        "version: 1\ndocuments: [submissions/draft.md]\nsettings: {allow_private: true, retries: 0}\n"
        f"references:\n  - id: study\n    url: {base}/ok\n    cited_as: the study\n"
        f"  - id: poverty\n    url: {base}/page\n    cited_as: sharply\n")
    (sub / "submissions" / "draft.md").write_text(f"# Draft\n\nAs [the study]({base}/ok) shows, poverty rose "
                                                  f"[sharply]({base}/page).\n")
    # Not submissions: each cites a dead link that must never be checked.
    (sub / "README.md").write_text(f"# Our submission\n\nOld notes: [here]({base}/gone).\n")
    (sub / "CHANGELOG.md").write_text(f"# Changes\n\n- draft started ([log]({base}/withdrawn))\n")
    (sub / "requirements.txt").write_text(f"# see {base}/error\nlinkcheck\n")
    (sub / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks: [{{id: linkcheck}}, {{id: linkcheck-refs}}]\n")
    _git(sub, "init", "-q")
    _git(sub, "add", "-A")
    _git(sub, "commit", "-q", "-m", "submission")
    return sub


async def _pre_commit(sub: Path, home: Path) -> tuple[int, str]:
    """`pre-commit run --all-files`, offline: the hook's own environment (language: python) installs
    linkcheck from the hook repository, its dependencies found already installed in this venv."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "PIP_NO_INDEX": "1",
           "PIP_NO_BUILD_ISOLATION": "0", "PYTHONPATH": sysconfig.get_path("purelib")}
    process = await asyncio.create_subprocess_exec(
        str(PRE_COMMIT), "run", "--all-files", cwd=sub, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_hooks_check_the_submission_only_and_leave_nothing_behind(web: tuple[Catalogue, str],
                                                                             tmp_path: Path) -> None:
    catalogue, base = web
    hooks, rev = _hook_repository(tmp_path)
    sub = _submission_repository(tmp_path, base, hooks, rev)
    home = tmp_path / "pre-commit-home"

    status, out = await _pre_commit(sub, home)
    assert status == 0, out
    assert "linkcheck (pre-publication check of the submissions' cited sources)" in out and "Passed" in out
    assert "Failed" not in out
    # The submission's sources were fetched; the README's, changelog's and requirements' links never were.
    assert catalogue.requests_to("/ok") and catalogue.requests_to("/page")
    assert not (catalogue.requests_to("/gone") or catalogue.requests_to("/withdrawn") or catalogue.requests_to("/error"))
    # The hook ran linkcheck from the environment pre-commit built for it from the hook repository.
    assert list(home.glob("repo*/py_env-*/lib/python*/site-packages/citation_linkcheck-*.dist-info"))

    # A placeholder and an unregistered source: each hook fails for its own reason.
    draft = sub / "submissions" / "draft.md"
    draft.write_text(f"# Draft\n\nAs [the study]({base}/ok) shows, poverty rose [sharply](#), "
                     f"see [the brief]({base}/temp).\n")
    status, out = await _pre_commit(sub, home)
    assert status == 1, out
    linkcheck_part, refs_part = out.split("- hook id: linkcheck-refs")[0], out.split("- hook id: linkcheck-refs")[1]
    assert "- hook id: linkcheck\n" in linkcheck_part and "PLACEHOLDER (1)" in linkcheck_part
    assert "cited at submissions/draft.md:3" in linkcheck_part
    assert f"not registered: {base}/temp" in refs_part
    assert not (catalogue.requests_to("/gone") or catalogue.requests_to("/withdrawn"))

    # Nothing was left in the user's tree: no reports, no state dir; git sees only the edited draft.
    assert not (sub / "reports").exists() and not (sub / ".linkcheck").exists()
    assert _git(sub, "status", "--porcelain", "--untracked-files=all").split() == ["M", "submissions/draft.md"]


def test_only_the_registers_documents_among_the_files(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    for name in ("chapters/one.md", "summary.md", "README.md", "notes.md"):
        (tmp_path / name).write_text("text\n")
    (tmp_path / "references.yaml").write_text("version: 1\ndocuments: [chapters, summary.md]\nreferences: []\n")
    config = load_config(tmp_path / "references.yaml")
    given = tuple(tmp_path / n for n in ("README.md", "chapters/one.md", "notes.md", "summary.md"))
    assert submissions(given, config) == [tmp_path / "chapters/one.md", tmp_path / "summary.md"]
    assert submissions((tmp_path / "README.md",), config) == []
    # The register itself changed, or no file named: every document.
    assert submissions((tmp_path / "references.yaml", tmp_path / "README.md"), config) == list(config.documents)
    assert submissions((), config) == list(config.documents)


def test_a_commit_without_a_submission_checks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("draft.md").write_text("[x](#)\n")
    Path("README.md").write_text("[x](#)\n")
    Path("references.yaml").write_text("version: 1\ndocuments: [draft.md]\nreferences: []\n")
    result = CliRunner().invoke(main, ["pre-commit", "README.md"])
    assert result.exit_code == 0 and "nothing to check" in result.output
    result = CliRunner().invoke(main, ["pre-commit", "README.md", "draft.md"])
    assert result.exit_code == 1 and "cited at draft.md:1" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "draft.md", "references.yaml"]
    Path("references.yaml").unlink()
    result = CliRunner().invoke(main, ["pre-commit", "draft.md"])
    assert result.exit_code == 2 and "no reference register" in result.output
