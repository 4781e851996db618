"""Small readings for the action's steps, run with the action's own python (linkcheck installed).

    steps.py outputs REPORT_DIR          step outputs: counts per verdict, newly failing, history, report paths
    steps.py email-configured REFERENCES exit 0 when the references file has settings.email
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from linkcheck.config import load_config
from linkcheck.errors import LinkcheckError
from linkcheck.reports import FILENAMES

_OUTPUT_NAMES = {"json": "report-json", "markdown": "report-markdown", "html": "report-html", "junit": "report-junit",
                 "sarif": "report-sarif", "text": "report-text"}


def outputs(report_dir: Path) -> list[str]:
    """`name=value` lines for $GITHUB_OUTPUT, from the run's report.json."""
    report = json.loads((report_dir / FILENAMES["json"]).read_text(encoding="utf-8"))
    lines = [f"{verdict}={count}" for verdict, count in report["summary"].items()]
    new = sum(1 for r in report["results"] if r.get("trend") == "new")
    lines += [f"new={new}", f"total={len(report['results'])}", f"history={report['run'].get('history', '')}",
              f"report-dir={report_dir}"]
    lines += [f"{_OUTPUT_NAMES[fmt]}={report_dir / name}" for fmt, name in FILENAMES.items()
              if fmt in _OUTPUT_NAMES and (report_dir / name).is_file()]
    return lines


def email_configured(references: Path) -> bool:
    try:
        return bool(load_config(references).settings.email)
    except (LinkcheckError, OSError) as exc:
        print(f"::warning::{exc}", file=sys.stderr)
        return False


def main(argv: list[str]) -> int:
    command, argument = argv
    if command == "outputs":
        print("\n".join(outputs(Path(argument))))
        return 0
    if command == "email-configured":
        return 0 if email_configured(Path(argument)) else 1
    raise SystemExit(f"steps.py: unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
