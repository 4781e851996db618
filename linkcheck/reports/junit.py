"""junit.xml: one test case per checked URL, for CI systems that show JUnit results."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..model import Result, RunReport, Verdict
from .notes import StandIns, stand_ins, uncited

__all__ = ["DEFAULT_FAIL_ON", "render"]

# The contract's default for --fail-on (config.Settings.fail_on); `check` passes the run's own value.
DEFAULT_FAIL_ON: frozenset[Verdict] = frozenset({Verdict.BROKEN, Verdict.CHANGED, Verdict.PLACEHOLDER})

# XML 1.0 allows tab, newline, carriage return and these ranges, nothing else: not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object) -> str:
    return _NOT_XML.sub("", str(text))


def _locations(result: Result, behind: StandIns) -> str:
    lines = [f"cited at {c.where}" + (f"  “{c.text}”" if c.text else "") for c in result.citations]
    note = uncited(result, behind)
    return "\n".join([*lines, note] if note else lines)


def _testcase(suite: ET.Element, result: Result, fail_on: frozenset[Verdict], behind: StandIns) -> None:
    case = ET.SubElement(suite, "testcase", classname=str(result.verdict), name=_x(result.url or "(empty link)"))
    message = _x(f"{result.reason}: {result.detail}" if result.detail else str(result.reason))
    where = _x(_locations(result, behind))
    if result.verdict in fail_on:
        failure = ET.SubElement(case, "failure", message=message, type=str(result.verdict))
        failure.text = where
    elif result.verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", message=message)
    elif result.verdict is not Verdict.OK:
        # Worth a look, but not failing this run: kept visible in the case's output.
        out = ET.SubElement(case, "system-out")
        out.text = f"{message}\n{where}" if where else message


def render(report: RunReport, fail_on: frozenset[Verdict] = DEFAULT_FAIL_ON) -> str:
    """The report as JUnit XML; the verdicts in `fail_on` are failures, `skipped` is skipped."""
    tests = len(report.results)
    failures = sum(r.verdict in fail_on for r in report.results)
    skipped = sum(r.verdict is Verdict.SKIPPED and r.verdict not in fail_on for r in report.results)
    counts = {"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", {"name": "linkcheck", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "linkcheck", **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("run_id", report.id), ("started", report.started), ("finished", report.finished),
                        ("tool_version", report.tool_version), ("offline", str(report.offline).lower()),
                        ("fail_on", ",".join(str(v) for v in Verdict if v in fail_on))):
        ET.SubElement(properties, "property", name=name, value=_x(value))
    behind = stand_ins(report)
    for result in report.results:
        _testcase(suite, result, fail_on, behind)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
