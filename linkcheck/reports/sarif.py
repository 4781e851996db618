"""report.sarif: failing citations as SARIF 2.1.0, for code-scanning views that point at document lines."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..model import QUIET, REASONS_BY_VERDICT, Citation, Reason, Result, RunReport, Verdict
from .html import plain_reason
from .notes import StandIns, stand_ins, uncited

__all__ = ["LEVELS", "SCHEMA", "render"]

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

LEVELS: dict[Verdict, str] = {
    Verdict.BROKEN: "error", Verdict.PLACEHOLDER: "error", Verdict.CHANGED: "error",
    Verdict.REDIRECTED: "warning", Verdict.BLOCKED: "warning", Verdict.ERROR: "warning",
    Verdict.SKIPPED: "note",
}

# Every reason but ok gets a rule, always in the same order, so ruleIndex is stable across runs.
_RULES: list[tuple[Reason, Verdict]] = [(reason, verdict) for verdict in Verdict if verdict is not Verdict.OK
                                        for reason in REASONS_BY_VERDICT[verdict]]
_RULE_INDEX = {reason: i for i, (reason, _) in enumerate(_RULES)}
# Characters a URI reference may carry as they are; the rest of a path is percent-encoded.
_URI_SAFE = "/:@!$&'()*+,;=-._~"


def _rule(reason: Reason, verdict: Verdict) -> dict[str, Any]:
    return {"id": str(reason), "shortDescription": {"text": plain_reason(reason)},
            "defaultConfiguration": {"level": LEVELS[verdict]}, "properties": {"verdict": str(verdict)}}


def _uri(document: str) -> str:
    path = document.replace("\\", "/")
    return ("file://" if path.startswith("/") else "") + quote(path, safe=_URI_SAFE)


def _location(citation: Citation) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(citation.document)}}
    if citation.line is not None and citation.line >= 1:
        physical["region"] = {"startLine": citation.line}
    return {"physicalLocation": physical}


def _message(result: Result, citation: Citation | None, behind: StandIns) -> str:
    text = f"{result.url or '(empty link)'}: {result.detail}"
    if citation is not None and citation.line is None and citation.page is not None:
        text += f" (page {citation.page})"
    note = uncited(result, behind) if citation is None else None
    if note:
        text += f" ({note})"
    return text


def _results(result: Result, behind: StandIns) -> list[dict[str, Any]]:
    """One SARIF result per citation; one without a location for a reference no document cites."""
    common = {"ruleId": str(result.reason), "ruleIndex": _RULE_INDEX[result.reason], "level": LEVELS[result.verdict]}
    out = []
    for citation in result.citations or (None,):
        entry: dict[str, Any] = {**common, "message": {"text": _message(result, citation, behind)}}
        if citation is not None:
            entry["locations"] = [_location(citation)]
        properties = {"verdict": str(result.verdict), "url": result.url}
        if citation is not None and citation.text:
            properties["anchorText"] = citation.text
        if result.suggested_url:
            properties["suggestedUrl"] = result.suggested_url
        entry["properties"] = properties
        out.append(entry)
    return out


def render(report: RunReport) -> str:
    """The report as a SARIF log with one run; ok and skipped results are not emitted."""
    behind = stand_ins(report)
    results = [entry for r in report.results if r.verdict not in QUIET
               for entry in _results(r, behind)]
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "linkcheck", "version": report.tool_version,
                                "rules": [_rule(reason, verdict) for reason, verdict in _RULES]}},
            "automationDetails": {"id": f"linkcheck/{report.id}"},
            "results": results,
            "properties": {"started": report.started, "finished": report.finished, "offline": report.offline},
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
