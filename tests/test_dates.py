"""Dates in the register: `accessed` per reference, `published` for the submission, read from documents too."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import linkcheck.cli.refs  # noqa: F401  - registers `refs` and `init` on main
from linkcheck.cli import main
from linkcheck.config import load_config
from linkcheck.dates import find_accessed, parse_date
from linkcheck.errors import ConfigError
from linkcheck.extract import extract_file


@pytest.mark.parametrize(("text", "iso"), [
    ("2020-10-12", "2020-10-12"),
    ("12 October 2020", "2020-10-12"),
    ("12th Oct. 2020", "2020-10-12"),
    ("October 12, 2020", "2020-10-12"),
    ("3 Sept 2021", "2021-09-03"),
    ("31 February 2020", None),
    ("2020-13-01", None),
    ("last Tuesday", None),
])
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(("text", "iso"), [
    ("Report (accessed 12 October 2020).", "2020-10-12"),
    ("Report. Accessed: 12 October 2020.", "2020-10-12"),
    ("Report, accessed 2020-10-12", "2020-10-12"),
    ("Report, last accessed on 1 May 2021", "2021-05-01"),
    ("Report published 12 October 2020", None),
    ("Report (accessed 45 October 2020)", None),
])
def test_find_accessed(text: str, iso: str | None) -> None:
    assert find_accessed(text) == iso


def _register(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "references.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_register_dates_are_read_as_iso(tmp_path: Path) -> None:
    config = load_config(_register(tmp_path, (
        "version: 1\npublished: 30 October 2020\nreferences:\n"
        "  - id: a\n    url: https://a.org/\n    accessed: 2020-10-12\n"
        "  - id: b\n    url: https://b.org/\n")))
    a, b = config.references
    assert (a.accessed, b.accessed, config.published) == ("2020-10-12", None, "2020-10-30")
    assert (config.cited_on(a), config.cited_on(b)) == ("2020-10-12", "2020-10-30")


@pytest.mark.parametrize(("text", "line", "message"), [
    ("version: 1\npublished: soon\n", 2, "published: expected a date"),
    ("version: 1\npublished: 2020-13-45\n", 2, "'2020-13-45'"),
    ("version: 1\nreferences:\n  - id: a\n    accessed: [2020]\n", 4, "references[0].accessed: expected a date"),
])
def test_bad_dates_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _register(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    result = CliRunner().invoke(main, ["check", "--references", str(path), "--report-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"{path}:{line}" in result.output and "Traceback" not in result.output


_DOCUMENT = """\
# Sources

The World Bank estimates [49 million](https://www.worldbank.org/poverty) more people
will be poor this year (accessed 12 October 2020).

- Global Slavery Index. <https://www.walkfree.org/gsi>. Accessed: 3 March 2021.
- An undated source, [here](https://www.unicef.org/y).
"""


def test_extract_reads_the_access_date_next_to_a_citation(tmp_path: Path) -> None:
    doc = tmp_path / "paper.md"
    doc.write_text(_DOCUMENT, encoding="utf-8")
    by_url = {c.url: c for c in extract_file(doc)}
    assert by_url["https://www.worldbank.org/poverty"].accessed == "2020-10-12"
    assert by_url["https://www.walkfree.org/gsi"].accessed == "2021-03-03"
    assert by_url["https://www.unicef.org/y"].accessed is None
    assert by_url["https://www.walkfree.org/gsi"].to_json()["accessed"] == "2021-03-03"
    assert "accessed" not in by_url["https://www.unicef.org/y"].to_json()
    result = CliRunner().invoke(main, ["extract", "--json", str(doc)])
    assert result.exit_code == 0 and '"accessed": "2020-10-12"' in result.output


def test_refs_sync_records_access_dates_and_keeps_written_ones(tmp_path: Path) -> None:
    doc = tmp_path / "paper.md"
    doc.write_text(_DOCUMENT, encoding="utf-8")
    written = ("version: 1\npublished: 2020-10-30  # the submission's date\ndocuments:\n  - paper.md\n"
               "references:\n  - id: unicef\n    url: https://www.unicef.org/y\n    accessed: 2020-09-01\n")
    path = _register(tmp_path, written)
    result = CliRunner().invoke(main, ["refs", "sync", "--no-titles", "--references", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text.startswith(written)  # what was written stays, dates and comment included
    config = load_config(path)
    dates = {r.url: r.accessed for r in config.references}
    assert dates == {"https://www.unicef.org/y": "2020-09-01", "https://www.worldbank.org/poverty": "2020-10-12",
                     "https://www.walkfree.org/gsi": "2021-03-03"}
    assert config.published == "2020-10-30"
    assert "accessed: 2020-10-12\n" in text  # a plain YAML date, not a quoted string


def test_init_records_access_dates(tmp_path: Path) -> None:
    doc = tmp_path / "paper.md"
    doc.write_text(_DOCUMENT, encoding="utf-8")
    path = tmp_path / "references.yaml"
    result = CliRunner().invoke(main, ["init", "--no-titles", "--references", str(path), str(doc)])
    assert result.exit_code == 0, result.output
    dates = {r.url: r.accessed for r in load_config(path).references}
    assert dates["https://www.worldbank.org/poverty"] == "2020-10-12"
    assert dates["https://www.unicef.org/y"] is None
