"""The public library API: the names `linkcheck` exports, and the README's example run as written."""
from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

import linkcheck
from linkcheck import ConfigError, InputError, LinkcheckError, Verdict, check_async, load_config, render
from tests.server import Catalogue, serving

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    """The Python code block of the README's "Use it from Python" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section shows one example"
    return blocks[0]


async def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    async with serving(Catalogue().app) as base:
        (tmp_path / "draft.md").write_text(
            f"Poverty rose by [49 million](#).\n\nSee [the brief]({base}/ok)\nand [the survey]({base}/gone).\n",
            encoding="utf-8")
        (tmp_path / "references.yaml").write_text(
            "version: 1\ndocuments: [draft.md]\nsettings:\n  allow_private: true\n  retries: 0\n", encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", readme_example(), cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert sorted(lines[:-1]) == [f"broken (http_status): {base}/gone at draft.md:4",
                                  "placeholder (placeholder): # at draft.md:1"]
    summary = ast.literal_eval(lines[-1])  # the dict the example prints
    assert summary["ok"] == 1 and summary["broken"] == 1 and summary["placeholder"] == 1
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"{base}/gone" in html and "<html" in html.lower()


def test_every_public_name_resolves_and_importing_loads_none_of_them() -> None:
    code = "import sys, linkcheck; print(sorted(m for m in sys.modules if m.startswith('linkcheck.')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"  # `linkcheck --version` pays for none of the API
    assert all(getattr(linkcheck, name) is not None for name in linkcheck.__all__)
    assert set(linkcheck.__all__) == {
        "__version__", "check", "check_async", "render", "load_config", "Config", "Settings", "RunReport",
        "Result", "Verdict", "Reason", "Citation", "LinkcheckError", "InputError", "ConfigError"}
    with pytest.raises(AttributeError):
        linkcheck.run_check  # noqa: B018 - private: not reachable as a package attribute


async def test_check_async_reports_per_link_trouble_as_verdicts_and_bad_input_as_errors(tmp_path: Path) -> None:
    document = tmp_path / "notes.md"
    document.write_text("[a placeholder](#) and [nothing here](http://127.0.0.1:9/x)\n", encoding="utf-8")
    report = await check_async(None, [str(document)])
    assert {r.url: r.verdict for r in report.results} == {"#": Verdict.PLACEHOLDER,
                                                         "http://127.0.0.1:9/x": Verdict.SKIPPED}
    assert "placeholder" in render(report) and render(report, "json").startswith("{")
    with pytest.raises(ValueError, match="pdf"):
        render(report, "pdf")
    with pytest.raises(InputError, match="missing.md"):
        await check_async(None, [tmp_path / "missing.md"])
    (tmp_path / "references.yaml").write_text("version: 1\nsettings: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_config(str(tmp_path / "references.yaml"))
    assert isinstance(bad.value, LinkcheckError) and "references.yaml:" in str(bad.value)
