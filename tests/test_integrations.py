"""What other tools read from this repository: the pre-commit hook manifest and the CI workflows."""
from __future__ import annotations

from pathlib import Path

import yaml
from pre_commit.clientlib import load_manifest

ROOT = Path(__file__).resolve().parent.parent


def test_pre_commit_manifest_is_valid_and_runs_the_gate_and_the_register_check() -> None:
    hooks = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own schema check
    gate, register = hooks
    assert (gate["id"], gate["entry"], gate["pass_filenames"]) == ("linkcheck", "linkcheck pre-commit", True)
    assert register["id"] == "linkcheck-refs" and register["entry"].startswith("linkcheck refs sync --check")
    assert register["pass_filenames"] is False
    assert all(h["language"] == "python" for h in hooks)


def test_workflows_run_the_documented_commands() -> None:
    gate = yaml.safe_load((ROOT / ".github/workflows/pre-publication.yml").read_text())
    weekly = yaml.safe_load((ROOT / ".github/workflows/linkcheck.yml").read_text())
    gate_steps = " ".join(str(s.get("run", "")) for s in gate["jobs"]["linkcheck"]["steps"])
    weekly_steps = weekly["jobs"]["linkcheck"]["steps"]
    assert "linkcheck check --pre-publication" in gate_steps
    assert gate[True]["pull_request"]["paths"] == ["submissions/**", "references.yaml"]  # YAML 1.1: on -> True
    assert weekly[True]["schedule"][0]["cron"] and "workflow_dispatch" in weekly[True]
    uses = [s.get("uses", "") for s in weekly_steps]
    assert any(u.startswith("actions/cache/restore") for u in uses) and any(u.startswith("actions/cache/save") for u in uses)
    assert [s for s in weekly_steps if s.get("uses", "").startswith("actions/cache")][0]["with"]["path"] == ".linkcheck"
    runs = " ".join(str(s.get("run", "")) for s in weekly_steps)
    assert "linkcheck check" in runs and "linkcheck email" in runs
