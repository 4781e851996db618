"""Control characters from documents and servers: shown as text, never obeyed by a terminal."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from linkcheck.cli import main
from linkcheck.printable import printable
from tests.server import Catalogue

# A window title, a screen clear, a one-byte CSI, and a fake green verdict; Markdown escapes the "[".
HOSTILE = "\x1b\\]0;pwned\x07 \x1b\\[2J \x9b2J \x1b\\[32mALL LINKS OK\x1b\\[0m"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


async def cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


async def test_link_text_cannot_drive_the_terminal_or_the_reports(web: tuple[Catalogue, str], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = web
    monkeypatch.chdir(tmp_path)
    prose = "An ordinary paragraph of findings, figures and sources around the hostile link. " * 8
    Path("doc.md").write_text(f"{prose}\n\nSee [{HOSTILE}]({base}/gone) and [ok]({base}/ok).\n\n{prose}\n",
                              encoding="utf-8")  # a few stray controls in a real document, not binary junk
    checked = await cli("check", "doc.md", "--allow-private", "--format", "markdown,text")
    extracted = await cli("extract", "doc.md")
    as_json = await cli("extract", "doc.md", "--json")
    missing = await cli("extract", "no\x1b[2Jsuch.md")
    assert checked.exit_code == 1 and extracted.exit_code == 0 and missing.exit_code == 2
    printed = {"check": checked.output, "extract": extracted.output, "extract --json": as_json.output,
               "error": missing.output, "report.txt": Path("reports/report.txt").read_text(encoding="utf-8"),
               "report.md": Path("reports/report.md").read_text(encoding="utf-8")}
    for where, text in printed.items():
        assert not CONTROL.search(text.replace("\r\n", "\n")), where
    for where in ("check", "extract", "report.txt", "report.md"):
        assert "ALL LINKS OK" in printed[where], where  # still there to read, as text
    assert "\\x1b]0;pwned\\x07" in printed["check"] and "\\x9b2J" in printed["report.txt"]
    assert "no\\x1b[2Jsuch.md" in printed["error"]


@pytest.mark.parametrize("raw, shown", [
    ("plain text\twith a tab\nand a newline", "plain text\twith a tab\nand a newline"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
    ("bell\x07 del\x7f csi\x9b nul\x00 cr\r", "bell\\x07 del\\x7f csi\\x9b nul\\x00 cr\\x0d"),
    ("café — “quoted” 文", "café — “quoted” 文"),
])
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(shown) == shown


def test_a_diff_keeps_its_carriage_returns() -> None:
    assert printable("-old\r\n+new\x1b\r\n", keep_cr=True) == "-old\r\n+new\\x1b\r\n"
