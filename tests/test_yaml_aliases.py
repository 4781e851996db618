"""YAML anchors and aliases in the reference register: refused by every command, never expanded."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkcheck.config import load_config
from linkcheck.errors import ConfigError
from linkcheck.refs import plan_sync

# Nine levels of nine: a billion strings once expanded, a kilobyte as written.
LAUGHS = "\n".join(["version: 1", "documents: [doc.md]", "settings:", '  email: {to: [a@b.org]}', "x0: &a0 [lol]",
                    *(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
                    "references:", "  - id: boom", "    url: https://site.org/x", "    title: *a9", ""])


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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text("[a](https://site.org/x)\n", encoding="utf-8")
    Path("references.yaml").write_text(LAUGHS, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("args", [
    ["check", "--quiet"], ["refs", "sync", "--no-titles"], ["refs", "sync", "--check"],
    ["fix", "--apply"], ["report"], ["email", "--dry-run"], ["history", "https://site.org/x"],
], ids=lambda a: " ".join(a))
def test_every_command_refuses_an_alias_bomb_fast_and_small(project: Path, args: list[str]) -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PEAK_FILE": str(project / "peak")})
    took, peak_mb = time.monotonic() - started, int((project / "peak").read_text()) / 1024
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: references.yaml:5: ") and "anchor &a0" in lines[0], lines
    assert took < 10 and peak_mb < 200, (took, peak_mb)
    assert Path("references.yaml").read_text(encoding="utf-8") == LAUGHS  # nothing rewritten


def test_an_alias_alone_is_refused_where_it_stands(tmp_path: Path) -> None:
    register = tmp_path / "references.yaml"
    register.write_text("version: 1\nreferences:\n  - id: a\n    url: https://site.org/a\n"
                        "  - id: b\n    url: https://site.org/b\n    title: *t\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"references\.yaml:7: .*alias \*t"):
        load_config(register)


def test_the_sync_plan_refuses_aliases_before_building_anything() -> None:
    with pytest.raises(ConfigError, match=r"register\.yaml:5: .*anchor &a0"):
        plan_sync(LAUGHS, [], where="register.yaml")
