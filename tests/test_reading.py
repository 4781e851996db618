"""No silent passes: documents in UTF-16/UTF-32 are read, binary junk is an input error, a document
citing nothing is a warning (a failure of the pre-publication gate). Through the CLI, on loopback."""
from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult

from linkcheck.cli import main
from linkcheck.errors import InputError
from linkcheck.extract import extract_file
from tests.server import Catalogue

MARKDOWN = "# Evidence\n\nThe brief [was withdrawn]({base}/gone).\nViolence rose, says the [WHO](#).\n"
HTML = ('<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>\n'
        '<p><a href="{base}/gone">withdrawn</a> and <a href="#">WHO</a></p></body></html>\n')
ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-8-sig"]


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./references.yaml: only the documents given are checked


async def _cli(*args: str) -> CliResult:
    # The CLI runs its own event loop, so it goes to a thread while this one serves the site.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)


def _check_args(tmp_path: Path, *docs: Path) -> list[str]:
    return ["check", *map(str, docs), "--allow-private", "--retries", "0", "--report-dir", str(tmp_path / "r"),
            "--state-dir", str(tmp_path / "s")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])  # with a BOM as Windows editors save it, and without
async def test_utf16_document_with_a_404_and_a_placeholder_fails_the_gate(web: tuple[Catalogue, str],
                                                                         tmp_path: Path, encoding: str) -> None:
    _, base = web
    doc = tmp_path / "submission.md"
    doc.write_bytes(MARKDOWN.format(base=base).encode(encoding))
    result = await _cli(*_check_args(tmp_path, doc), "--pre-publication")
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    found = {(r["verdict"], r["reason"], r["citations"][0]["line"], r["citations"][0]["text"])
             for r in report["results"]}
    assert found == {("broken", "http_status", 3, "was withdrawn"), ("placeholder", "placeholder", 4, "WHO")}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("suffix,template", [(".md", MARKDOWN), (".txt", "See {base}/gone today.\n"), (".html", HTML)])
def test_wide_and_bom_encodings_read_as_utf8_does(tmp_path: Path, encoding: str, suffix: str, template: str) -> None:
    text = template.format(base="https://evidence.example.org")
    plain, wide = tmp_path / f"plain{suffix}", tmp_path / f"wide{suffix}"
    plain.write_bytes(text.encode("utf-8"))
    wide.write_bytes(text.encode(encoding))  # utf-16-le/-be and utf-32-le/-be carry no BOM
    expected = [(c.line, c.text, c.url) for c in extract_file(plain)]
    assert expected and [(c.line, c.text, c.url) for c in extract_file(wide)] == expected


@pytest.mark.parametrize("name", ["notes.md", "notes.txt", "page.html"])
def test_binary_junk_is_an_input_error_naming_the_file(tmp_path: Path, name: str) -> None:
    junk = tmp_path / name
    junk.write_bytes(random.Random(name).randbytes(8192))
    with pytest.raises(InputError, match="not a text document"):
        extract_file(junk)
    result = CliRunner().invoke(main, _check_args(tmp_path, junk), catch_exceptions=False)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(junk) in lines[0] and "not a text document" in lines[0]
    assert "Traceback" not in result.output


def test_legacy_windows_1252_text_is_still_text(tmp_path: Path) -> None:
    doc = tmp_path / "old.md"
    doc.write_bytes("Caf\u00e9 \u201cquoted\u201d \u2014 see [r](https://evidence.example.org/r).\n".encode("cp1252"))
    assert [c.url for c in extract_file(doc)] == ["https://evidence.example.org/r"]


async def test_a_document_citing_nothing_warns_and_fails_only_the_gate(web: tuple[Catalogue, str],
                                                                      tmp_path: Path) -> None:
    _, base = web
    cited, empty = tmp_path / "cited.md", tmp_path / "empty.md"
    cited.write_text(f"See [the brief]({base}/ok).\n", encoding="utf-8")
    empty.write_text("# Notes\n\nNothing is cited here yet.\n", encoding="utf-8")
    args = _check_args(tmp_path, cited, empty)
    normal = await _cli(*args)
    assert normal.exit_code == 0 and "warning: " in normal.output and "empty.md: no citation found" in normal.output
    assert "cited.md: no citation" not in normal.output
    strict = await _cli(*args, "--pre-publication")
    assert strict.exit_code == 1 and "--allow-empty" in strict.output
    allowed = await _cli(*args, "--pre-publication", "--allow-empty")
    assert allowed.exit_code == 0 and "empty.md: no citation found" in allowed.output
    full = await _cli(*_check_args(tmp_path, cited), "--pre-publication")
    assert full.exit_code == 0 and "no citation" not in full.output
