"""Installable anywhere: the wheel and sdist as built, installed offline into a fresh venv; the version in one place;
LinkChecker's clashing import package named in one line."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import linkcheck

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(p.name for p in (ROOT / "linkcheck" / "reports" / "templates").glob("*.j2"))


def _source_copy(tmp_path: Path) -> Path:
    """The files a build reads, copied: building in the worktree would leave build/ and egg-info behind."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "linkcheck", src / "linkcheck", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, src / name)
    return src


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist), built offline with this venv's setuptools."""
    tmp = tmp_path_factory.mktemp("build")
    src = _source_copy(tmp)
    wheel = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
                 "--wheel-dir", tmp / "dist", src)
    assert wheel.returncode == 0, wheel.stderr
    sdist = _run(sys.executable, "-c", "import setuptools.build_meta as b, sys; b.build_sdist(sys.argv[1])",
                 tmp / "dist", cwd=src)
    assert sdist.returncode == 0, sdist.stderr
    return next((tmp / "dist").glob("*.whl")), next((tmp / "dist").glob("*.tar.gz"))


def test_wheel_metadata_names_the_distribution_and_the_version(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    assert wheel.name.startswith(f"citation_linkcheck-{linkcheck.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert (meta["Name"], meta["Version"]) == ("citation-linkcheck", linkcheck.__version__)
    assert re.search(r"^linkcheck = linkcheck\.cli:main$", entry_points, re.M)
    assert TEMPLATES and all(f"linkcheck/reports/templates/{t}" in names for t in TEMPLATES)
    assert "linkcheck/py.typed" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_sdist_carries_the_templates_and_the_changelog(built: tuple[Path, Path]) -> None:
    _, sdist = built
    top = f"citation_linkcheck-{linkcheck.__version__}"
    assert sdist.name == f"{top}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    assert {f"{top}/CHANGELOG.md", f"{top}/README.md", f"{top}/setup.cfg"} <= names
    assert all(f"{top}/linkcheck/reports/templates/{t}" in names for t in TEMPLATES)


def test_the_wheel_installs_offline_into_a_fresh_venv_and_runs(built: tuple[Path, Path], tmp_path: Path) -> None:
    wheel, _ = built
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python, script = venv / "bin" / "python", venv / "bin" / "linkcheck"
    # The dependencies come from this venv (a path line: its editable install of linkcheck is not loaded).
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
                     "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    version = _run(script, "--version", env=env)
    assert (version.returncode, version.stdout) == (0, f"linkcheck, version {linkcheck.__version__}\n")
    where = _run(python, "-c", "import linkcheck; print(linkcheck.__file__)", cwd=tmp_path, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv)

    # The installed templates render: an HTML report of a placeholder, without a request.
    (tmp_path / "draft.md").write_text("Poverty rose [sharply](#).\n")
    run = _run(script, "check", "draft.md", "--format", "html", "--no-archive", "--quiet", cwd=tmp_path, env=env)
    assert run.returncode == 1, run.stderr
    assert "sharply" in (tmp_path / "reports" / "report.html").read_text()
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["run"]["tool_version"] == linkcheck.__version__
    assert report["summary"]["placeholder"] == 1


def test_linkchecker_in_the_same_environment_is_named_in_one_line(tmp_path: Path) -> None:
    info = tmp_path / "site" / "LinkChecker-10.6.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Name: LinkChecker\nVersion: 10.6.0\n")
    env = {**os.environ, "PYTHONPATH": str(info.parent)}
    for args in (["--version"], ["check", "--help"]):
        result = _run(sys.executable, "-m", "linkcheck", *args, env=env, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "LinkChecker 10.6.0 is installed in this environment" in result.stderr
        assert "cannot share one environment" in result.stderr
    # Without it the same command runs.
    clean = _run(sys.executable, "-m", "linkcheck", "--version", cwd=tmp_path)
    assert (clean.returncode, clean.stderr) == (0, "")


def test_a_foreign_linkcheck_package_is_named_in_one_line(tmp_path: Path) -> None:
    """LinkChecker installed after linkcheck overwrites `linkcheck/__init__.py` in place."""
    shutil.copytree(ROOT / "linkcheck", tmp_path / "linkcheck", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "linkcheck" / "__init__.py").write_text('"""Main function module for link checking."""\n')
    result = _run(sys.executable, "-c", "from linkcheck.cli import main; main()", "--version",
                  env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "is not this linkcheck's" in result.stderr


def test_the_version_is_semver_and_the_changelog_keeps_up() -> None:
    version = linkcheck.__version__
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(\.dev\d+)?", version)
    assert match, version
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$", changelog, re.M)
    assert "## [Unreleased]" in changelog and released
    release = ".".join(match.groups()[:3])
    if match.group(4):  # between releases: the next version is above the last released one
        assert tuple(map(int, release.split("."))) > tuple(map(int, released[0].split(".")))
    else:
        assert released[0] == release
    readme = (ROOT / "README.md").read_text()
    assert 'pipx install "git+https://github.com/' in readme and "cannot share one environment" in readme
