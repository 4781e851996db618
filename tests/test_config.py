"""references.yaml loading: a valid file round-trips, every mistake is reported at its file:line."""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from linkcheck.config import Config, Settings, default_config, load_config
from linkcheck.errors import ConfigError
from linkcheck.model import Reference

FULL = """\
version: 1
documents:
  - submissions/ijm-integrated-review.md
  - /abs/other.md
settings:
  concurrency: 8
  per_host: 2
  timeout: 5
  retries: 0
  allow_private: true
  exclude: ["^https://intranet\\\\."]
  fail_on: [broken]
  email: {to: editor@example.org}
references:
  - id: world-bank-poverty-2020
    url: https://blogs.worldbank.org/poverty
    title: "Poverty update"
    cited_as: "49 million"
    quote: "49 million"
    accept: [200, 403]

  - id: unknown-source
    title: Not found yet
  - url: null
    id: null-url
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "references.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)

    assert config.path == path
    assert config.version == 1
    assert config.documents == (tmp_path / "submissions/ijm-integrated-review.md", Path("/abs/other.md"))
    s = config.settings
    assert (s.concurrency, s.per_host, s.timeout, s.retries, s.allow_private) == (8, 2, 5.0, 0, True)
    assert isinstance(s.timeout, float)
    assert s.exclude == (r"^https://intranet\.",)
    assert s.fail_on == ("broken",)
    assert s.email == {"to": "editor@example.org"}
    # Keys not in the file keep their defaults.
    assert s.max_redirects == 10 and s.drift_threshold == 0.6 and s.user_agent is None
    assert config.references == (
        Reference(id="world-bank-poverty-2020", url="https://blogs.worldbank.org/poverty",
                  title="Poverty update", cited_as="49 million", quote="49 million",
                  accept=(200, 403), line=15),
        Reference(id="unknown-source", url=None, title="Not found yet", line=22),
        Reference(id="null-url", url=None, line=24),
    )


def test_minimal_file_uses_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: 1\nsettings:\n  timeout: null\n"))
    assert config.settings == Settings()
    assert config.documents == () and config.references == ()


def test_default_config_has_no_file_and_defaults() -> None:
    config = default_config()
    assert config == Config(path=None, version=1, documents=(), settings=Settings(), references=())
    assert config.settings.fail_on == ("broken", "changed", "placeholder")


def test_every_setting_is_configurable_from_yaml() -> None:
    from linkcheck.config import _SETTINGS
    assert list(_SETTINGS) == [f.name for f in dataclasses.fields(Settings)]


def test_replace_ignores_none() -> None:
    base = Settings(concurrency=10, timeout=3.0)
    changed = base.replace(concurrency=None, timeout=7.5, retries=None, allow_private=False)
    assert changed.concurrency == 10  # None: flag not given, file value kept
    assert changed.timeout == 7.5
    assert changed.retries == base.retries
    assert changed.allow_private is False
    assert base.timeout == 3.0  # the original is untouched


def test_replace_rejects_unknown_names() -> None:
    with pytest.raises(TypeError):
        Settings().replace(concurency=3)


BAD = [
    pytest.param("version: 1\nreferences:\n  - id: a\n    url: [unclosed\n", 5, "invalid YAML", id="yaml-syntax"),
    pytest.param("version: 1\nrefs: []\n", 2, "unknown key 'refs' at top level (known: version,", id="top-key"),
    pytest.param("- a\n- b\n", 1, "top level: expected a mapping, got a list", id="top-not-mapping"),
    pytest.param("version: 1\nreferences:\n  - id: a\n  - id: b\n  - id: c\n  - id: d\n    quotee: x\n", 7,
                 "unknown key 'quotee' in references[3] (known: id, url, title, cited_as, quote, accept, accessed)",
                 id="reference-key"),
    pytest.param("settings:\n  colour: red\n", 2, "unknown key 'colour' in settings", id="settings-key"),
    pytest.param("settings:\n  timeout: 1\n  timeout: 2\n", 3, "duplicate key 'timeout' in settings (first at line 2)",
                 id="repeated-key"),
    pytest.param("settings:\n  concurrency: lots\n", 2, "settings.concurrency: expected an integer, got 'lots'",
                 id="wrong-type"),
    pytest.param("settings:\n  per_host: true\n", 2, "settings.per_host: expected an integer, got the boolean true",
                 id="bool-for-int"),
    pytest.param("settings:\n  concurrency: 0\n", 2, "settings.concurrency: must be >= 1, got 0", id="concurrency-0"),
    pytest.param("settings:\n  retries: -1\n", 2, "settings.retries: must be >= 0", id="retries-negative"),
    pytest.param("settings:\n  timeout: 0\n", 2, "settings.timeout: must be > 0", id="timeout-0"),
    pytest.param("settings:\n  allow_private: 1\n", 2, "expected true or false, got the number 1", id="int-for-bool"),
    pytest.param("settings:\n  exclude:\n    - ok\n    - '(unclosed'\n", 4,
                 "settings.exclude[1]: invalid regular expression '(unclosed'", id="bad-regex"),
    pytest.param("settings:\n  exclude: '^x'\n", 2, "settings.exclude: expected a list, got '^x'", id="regex-not-list"),
    pytest.param("settings:\n  fail_on: [broken, dead]\n", 2, "unknown verdict 'dead' (valid: broken,", id="fail-on"),
    pytest.param("settings:\n  email: yes\n", 2, "settings.email: expected a mapping", id="email-not-mapping"),
    pytest.param("references:\n  - id: a\n  - id: b\n  - title: x\n    id: a\n", 4,
                 "duplicate reference id 'a' (first at line 2)", id="duplicate-id"),
    pytest.param("references:\n  - id: a\n  - url: https://x.org\n", 3, "references[1]: missing 'id'", id="no-id"),
    pytest.param("references:\n  - id: 42\n", 2, "references[0].id: expected a string, got the number 42",
                 id="numeric-id"),
    pytest.param("references:\n  - id: a\n    title: ''\n", 3, "references[0].title: must not be empty", id="empty-str"),
    pytest.param("references:\n  - just-a-string\n", 2, "references[0]: expected a mapping", id="ref-not-mapping"),
    pytest.param("version: 2\n", 1, "version: unsupported version 2", id="bad-version"),
    pytest.param("version: '1'\n", 1, "version: expected an integer, got '1'", id="version-string"),
    pytest.param("references:\n  - id: a\n    accept: [200, 700]\n", 3, "references[0].accept[1]: HTTP status must be 100-599",
                 id="accept-range"),
    pytest.param("references:\n  - id: a\n    accept: 200\n", 3, "references[0].accept: expected a list", id="accept-int"),
    pytest.param("documents: paper.md\n", 1, "documents: expected a list, got 'paper.md'", id="documents-not-list"),
    pytest.param("documents:\n  - 3\n", 2, "documents[0]: expected a string", id="documents-number"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_input_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    error = str(info.value)
    assert error.startswith(f"{path}:{line}: "), error
    assert message in error
    assert info.value.line == line and info.value.path == str(path)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: empty references file"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: no such file"
    assert info.value.line is None


def test_unsafe_tag_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, textwrap.dedent("""\
        version: 1
        settings:
          user_agent: !!python/object:os.system x
        """))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:3: invalid YAML")


def test_several_documents_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\n---\nversion: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:2: invalid YAML: expected a single document in the stream but found another document"
