"""report.json: the versioned, machine-read report (its schema is RunReport.to_json)."""
from __future__ import annotations

import json

from ..model import RunReport

__all__ = ["render"]


def render(report: RunReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
