"""YAML no register needs (anchors, aliases, nesting past MAX_DEPTH): refused by every command, before
anything is built from it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkcheck.config import MAX_DEPTH, load_config, refuse_unwritten_yaml
from linkcheck.errors import ConfigError
from linkcheck.refs import plan_sync

# Nine levels of nine: a billion strings once expanded, a kilobyte as written.
LAUGHS = "\n".join(["version: 1", "documents: [doc.md]", "settings:", '  email: {to: [a@b.org]}', "x0: &a0 [lol]",
                    *(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
                    "references:", "  - id: boom", "    url: https://site.org/x", "    title: *a9", ""])
# A line of 50,000 `[`: minutes of PyYAML's scanner, then a recursion past Python's limit.
DEEP = "version: 1\ndocuments: [doc.md]\nreferences: " + "[" * 50_000 + "\n"


# The command, reporting its own peak resident memory (VmHWM: this process's, not its parent's).
_MEASURED = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as status, open(os.environ["PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(peak)
sys.argv[0] = "linkcheck"
runpy.run_module("linkcheck", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(params=[(LAUGHS, "references.yaml:5: ", "anchor &a0"),
                        (DEEP, "references.yaml:3: ", f"nested more than {MAX_DEPTH} deep")], ids=["aliases", "nesting"])
def project(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """(the register, how its one-line refusal starts, what it names), written in a new folder."""
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text("[a](https://site.org/x)\n", encoding="utf-8")
    Path("references.yaml").write_text(request.param[0], encoding="utf-8")
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("args", [
    ["check", "--quiet"], ["refs", "sync", "--no-titles"], ["refs", "sync", "--check"],
    ["fix", "--apply"], ["report"], ["email", "--dry-run"], ["history", "https://site.org/x"],
], ids=lambda a: " ".join(a))
def test_every_command_refuses_such_a_register_fast_and_small(project: tuple[str, str, str], args: list[str]) -> None:
    register, where, what = project
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PEAK_FILE": str(Path("peak").resolve())})
    took, peak_mb = time.monotonic() - started, int(Path("peak").read_text()) / 1024
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {where}") and what in lines[0], lines
    assert took < 10 and peak_mb < 200, (took, peak_mb)
    assert Path("references.yaml").read_text(encoding="utf-8") == register  # nothing rewritten


def test_an_alias_alone_is_refused_where_it_stands(tmp_path: Path) -> None:
    register = tmp_path / "references.yaml"
    register.write_text("version: 1\nreferences:\n  - id: a\n    url: https://site.org/a\n"
                        "  - id: b\n    url: https://site.org/b\n    title: *t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"references\.yaml:7: .*alias \*t"):
        load_config(register)


def test_the_sync_plan_refuses_aliases_before_building_anything() -> None:
    with pytest.raises(ConfigError, match=r"register\.yaml:5: .*anchor &a0"):
        plan_sync(LAUGHS, [], where="register.yaml")


def test_nesting_is_refused_only_past_the_limit() -> None:
    def nested(depth: int) -> str:  # the top mapping is one level
        return "references: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"

    refuse_unwritten_yaml(nested(MAX_DEPTH), "register.yaml")
    with pytest.raises(ConfigError, match=rf"register\.yaml:1: lists and mappings nested more than {MAX_DEPTH}"):
        refuse_unwritten_yaml(nested(MAX_DEPTH + 1), "register.yaml")
