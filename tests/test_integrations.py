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


def test_workflows_are_thin_users_of_the_action() -> None:
    gate = yaml.safe_load((ROOT / ".github/workflows/pre-publication.yml").read_text())
    weekly = yaml.safe_load((ROOT / ".github/workflows/linkcheck.yml").read_text())
    assert gate[True]["pull_request"]["paths"] == ["submissions/**", "references.yaml"]  # YAML 1.1: on -> True
    assert weekly[True]["schedule"][0]["cron"] and "workflow_dispatch" in weekly[True]
    [gate_step] = [s for s in gate["jobs"]["linkcheck"]["steps"] if s.get("uses") == "./"]
    assert gate_step["with"]["pre-publication"] == "true" and gate_step["with"]["state"] == "none"
    weekly_job = weekly["jobs"]["linkcheck"]
    assert weekly_job["permissions"] == {"contents": "write"}  # the state branch
    [weekly_step] = [s for s in weekly_job["steps"] if s.get("uses") == "./"]
    assert "state" not in weekly_step["with"]  # the default: a branch
    assert weekly_step["with"]["smtp-user"] == "${{ secrets.LINKCHECK_SMTP_USER }}"
    for workflow in (gate, weekly):
        steps = workflow["jobs"]["linkcheck"]["steps"]
        assert not any("cache" in s.get("uses", "") or "pip install" in s.get("run", "") for s in steps)
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    runs = " ".join(str(s.get("run", "")) for s in action["runs"]["steps"])
    assert "action/check.sh" in runs and "action/digest.sh" in runs and "action/state.sh\" save" in runs
