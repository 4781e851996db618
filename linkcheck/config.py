"""Load and check references.yaml, naming the file and line of anything wrong in it."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace as _replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from linkcheck.dates import as_date
from linkcheck.errors import ConfigError
from linkcheck.model import Reference, Verdict

__all__ = ["FORMAT_VERSION", "PRE_PUBLICATION_FAIL_ON", "Config", "Settings", "default_config", "load_config",
           "refuse_unwritten_yaml", "unquoted_references"]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Settings:
    """How a run behaves. The one place defaults live; CLI flags override through `replace`."""

    # Enough parallel checks to get through a long bibliography in seconds.
    concurrency: int = 64
    # Polite to any one server; more trips rate limits and bot walls.
    per_host: int = 4
    # Government and academic sites are often slow; 20 s avoids false timeouts.
    timeout: float = 20.0
    # Rides out transient 5xx and timeouts without hammering a struggling host.
    retries: int = 2
    # Loopback/LAN targets are refused (SSRF) unless the user opts in.
    allow_private: bool = False
    # Every check reads the page (soft 404, fragment, quote, snapshot), so one GET is cheapest;
    # HEAD first saves bandwidth only where large files are cited and nothing is archived.
    head_first: bool = False
    # Regexes of URLs never fetched (intranets, hosts known to block robots).
    exclude: tuple[str, ...] = ()
    # None: the fetcher sends its own identifying User-Agent.
    user_agent: str | None = None
    # Real redirect chains are short; a longer one is a loop or a trap.
    max_redirects: int = 10
    # Large enough for a full report PDF, small enough to bound memory.
    max_body_bytes: int = 32 * 1024 * 1024
    # Bodies held at once across the whole run, read or waiting to be judged: bounds a run's memory
    # whatever the pages (64 endless bodies would otherwise hold 64 times max_body_bytes).
    max_bytes_in_flight: int = 128 * 1024 * 1024
    # Honour Retry-After, but never let one host stall a run for hours.
    retry_after_cap: float = 60.0
    # Verdicts meaning the evidence is gone or wrong; blocked/error are often transient.
    fail_on: tuple[str, ...] = ("broken", "changed", "placeholder")
    # Reachable from almost anywhere: if none answer we are offline, not the links broken.
    online_probe_hosts: tuple[str, ...] = ("www.wikipedia.org", "www.google.com", "www.cloudflare.com")
    # Text similarity below which a page counts as changed; 0.6 tolerates layout churn.
    drift_threshold: float = 0.6
    # Reading one page (soft 404, fragment, quote, main text, drift) takes well under a second;
    # past these the page is error/unreadable and the run goes on.
    read_timeout: float = 30.0
    read_max_bytes: int = 16 * 1024 * 1024
    # Free-form notification settings (host, port, security, from, to, subject_prefix).
    email: dict[str, Any] | None = None
    # Suggest an archived copy for broken and changed evidence (our replay server, else the
    # Wayback Machine). Endpoints are settings so that an organisation can use its own.
    archive_lookup: bool = True
    archive_availability_url: str = "https://archive.org/wayback/available"
    archive_save_url: str = "https://web.archive.org/save"
    archive_timegate_url: str | None = None
    # Web archives asked for a dated source's capture from when it was cited (RFC 7089 TimeGates:
    # `GET {prefix}{URL}` with Accept-Datetime), in order, until one has it: the Internet Archive
    # (the largest), the UK Government Web Archive (pywb, collection `ukgwa`: the whole UK public
    # sector web) and arquivo.pt (pywb: a broad European archive). Empty: no lookups.
    memento_timegates: tuple[str, ...] = ("https://web.archive.org/web/",
                                          "https://webarchive.nationalarchives.gov.uk/ukgwa/",
                                          "https://arquivo.pt/wayback/")
    # Every lookup of a run ends by then (seconds from the start of the crawl): a slow archive
    # costs a run no more.
    memento_deadline: float = 60.0
    # Prefix of a replay server (e.g. pywb) holding this project's own WARCs: our own snapshot
    # is then the first archived copy suggested.
    archive_replay_url: str | None = None
    # The site a submission will be published on: root-relative links (`/about`) in local
    # documents are resolved against it and fetched. None: they have no base, and are invalid.
    base_url: str | None = None
    # DOIs (doi.org links and `doi:10...` strings) are resolved here; another resolver (a local
    # mirror, a test server) gets the same DOI path.
    doi_resolver: str = "https://doi.org/"
    # Crossref's REST API: a DOI's title and its retraction and correction notices.
    crossref_api: str = "https://api.crossref.org"
    crossref_lookup: bool = True
    # Who to contact about this run's requests: Crossref asks for it (User-Agent and `mailto=`).
    contact_email: str | None = None
    # Regexes of host names whose URLs are never sent to an archive (lookups, Save Page Now):
    # an intranet's addresses are nobody else's business.
    private_hosts: tuple[str, ...] = ()

    def replace(self, **overrides: Any) -> Settings:
        """A copy with the given values; None means 'not given', so unset CLI flags keep file values."""
        return _replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded references file: documents to scan, run settings, registered sources."""

    path: Path | None = None
    version: int = FORMAT_VERSION
    documents: tuple[Path, ...] = ()
    settings: Settings = Settings()
    references: tuple[Reference, ...] = ()
    # The submission's date (ISO): when its sources were read, for references without `accessed`.
    published: str | None = None

    def cited_on(self, reference: Reference) -> str | None:
        """The date a reference's evidence is judged from: its own `accessed`, else `published`."""
        return reference.accessed or self.published


# Before publishing, a moved link is a fix to make now, not a curiosity: the strict gate.
PRE_PUBLICATION_FAIL_ON: tuple[str, ...] = ("broken", "changed", "placeholder", "redirected")


def unquoted_references(config: Config) -> list[Reference]:
    """References with a URL but no `quote:`: reachable is all that can be said of them."""
    return [ref for ref in config.references if ref.url and not ref.quote]


def default_config() -> Config:
    """The configuration used when there is no references file."""
    return Config()


class _Doc:
    """The file being checked: turns scalar nodes into values, and errors into file:line."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self._loader = yaml.SafeLoader(text)

    def value(self, node: Node) -> Any:
        return self._loader.construct_object(node, deep=True)

    def fail(self, node: Node, message: str) -> NoReturn:
        raise ConfigError(self.path, message, node.start_mark.line + 1)

    def is_null(self, node: Node) -> bool:
        # By the resolved tag, not the value: building a value can fail (a date like 2020-13-45).
        return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def describe(self, node: Node) -> str:
        """What the user wrote, in their terms: 'lots', the boolean true, a list."""
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        value = self.value(node)
        if value is None:
            return "null"
        if isinstance(value, str):
            return repr(value)
        kind = {bool: "boolean", int: "number", float: "number"}.get(type(value), type(value).__name__)
        return f"the {kind} {node.value}"


# A check takes the node and its dotted name, and returns the value or raises ConfigError.
_Check = Callable[[_Doc, Node, str], Any]


def _scalar(doc: _Doc, node: Node, name: str, kinds: tuple[type, ...], expected: str) -> Any:
    value = doc.value(node) if isinstance(node, ScalarNode) else None
    # bool is an int in Python, but `concurrency: true` is a mistake, not 1.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        doc.fail(node, f"{name}: expected {expected}, got {doc.describe(node)}")
    return value


def _text(doc: _Doc, node: Node, name: str) -> str:
    value = _scalar(doc, node, name, (str,), "a string")
    if not value.strip():
        doc.fail(node, f"{name}: must not be empty")
    return str(value)


def _boolean(doc: _Doc, node: Node, name: str) -> bool:
    return bool(_scalar(doc, node, name, (bool,), "true or false"))


def _integer(minimum: int) -> _Check:
    def check(doc: _Doc, node: Node, name: str) -> int:
        value = _scalar(doc, node, name, (int,), "an integer")
        if value < minimum:
            doc.fail(node, f"{name}: must be >= {minimum}, got {value}")
        return int(value)
    return check


def _number(ok: Callable[[float], bool], rule: str) -> _Check:
    def check(doc: _Doc, node: Node, name: str) -> float:
        value = float(_scalar(doc, node, name, (int, float), "a number"))
        if not ok(value):
            doc.fail(node, f"{name}: must be {rule}, got {node.value}")
        return value
    return check


def _regex(doc: _Doc, node: Node, name: str) -> str:
    pattern = _text(doc, node, name)
    try:
        re.compile(pattern)
    except re.error as exc:
        doc.fail(node, f"{name}: invalid regular expression {pattern!r}: {exc}")
    return pattern


def _site_url(doc: _Doc, node: Node, name: str) -> str:
    value = _text(doc, node, name).strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        doc.fail(node, f"{name}: expected an http(s) URL such as https://www.example.org/, got {value!r}")
    return value


def _verdict(doc: _Doc, node: Node, name: str) -> str:
    value = _text(doc, node, name)
    if value not in {str(v) for v in Verdict}:
        doc.fail(node, f"{name}: unknown verdict {value!r} (valid: {', '.join(Verdict)})")
    return value


def _status(doc: _Doc, node: Node, name: str) -> int:
    value = _scalar(doc, node, name, (int,), "an HTTP status code")
    if not 100 <= value <= 599:
        doc.fail(node, f"{name}: HTTP status must be 100-599, got {value}")
    return int(value)


def _date(doc: _Doc, node: Node, name: str) -> str:
    if not isinstance(node, ScalarNode):
        doc.fail(node, f"{name}: expected a date such as 2020-10-12 or 12 October 2020, got {doc.describe(node)}")
    try:
        day = as_date(doc.value(node))
    except ValueError:  # YAML reads 2020-13-45 as a date, and cannot build it
        day = None
    if day is None:
        doc.fail(node, f"{name}: expected a date such as 2020-10-12 or 12 October 2020, got {node.value!r}")
    return day


def _mapping(doc: _Doc, node: Node, name: str) -> dict[str, Any]:
    if not isinstance(node, MappingNode):
        doc.fail(node, f"{name}: expected a mapping, got {doc.describe(node)}")
    return dict(doc.value(node))


def _list_of(item: _Check) -> _Check:
    def check(doc: _Doc, node: Node, name: str) -> tuple[Any, ...]:
        if not isinstance(node, SequenceNode):
            doc.fail(node, f"{name}: expected a list, got {doc.describe(node)}")
        return tuple(item(doc, child, f"{name}[{i}]") for i, child in enumerate(node.value))
    return check


def _fields(doc: _Doc, node: Node, where: str | None, schema: dict[str, _Check]) -> dict[str, Any]:
    """Check a mapping against its schema. A null value means 'not given', so defaults apply."""
    if not isinstance(node, MappingNode):
        doc.fail(node, f"{where or 'top level'}: expected a mapping, got {doc.describe(node)}")
    place = f"in {where}" if where else "at top level"
    values: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if key not in schema:
            shown = repr(key) if key is not None else f"({doc.describe(key_node)})"
            doc.fail(key_node, f"unknown key {shown} {place} (known: {', '.join(schema)})")
        if key in seen:
            doc.fail(key_node, f"duplicate key {key!r} {place} (first at line {seen[key]})")
        seen[key] = key_node.start_mark.line + 1
        if not doc.is_null(value_node):
            values[key] = schema[key](doc, value_node, f"{where}.{key}" if where else key)
    return values


def _version(doc: _Doc, node: Node, name: str) -> int:
    value = _scalar(doc, node, name, (int,), "an integer")
    if value != FORMAT_VERSION:
        doc.fail(node, f"{name}: unsupported version {value} (this linkcheck reads version {FORMAT_VERSION})")
    return int(value)


_SETTINGS: dict[str, _Check] = {
    "concurrency": _integer(1),
    "per_host": _integer(1),
    "timeout": _number(lambda v: v > 0, "> 0"),
    "retries": _integer(0),
    "allow_private": _boolean,
    "head_first": _boolean,
    "exclude": _list_of(_regex),
    "user_agent": _text,
    "max_redirects": _integer(0),
    "max_body_bytes": _integer(1),
    "max_bytes_in_flight": _integer(1),
    "retry_after_cap": _number(lambda v: v >= 0, ">= 0"),
    "fail_on": _list_of(_verdict),
    "online_probe_hosts": _list_of(_text),
    "drift_threshold": _number(lambda v: 0 <= v <= 1, "between 0 and 1"),
    "read_timeout": _number(lambda v: v > 0, "> 0"),
    "read_max_bytes": _integer(1),
    "email": _mapping,
    "archive_lookup": _boolean,
    "archive_availability_url": _text,
    "archive_save_url": _text,
    "archive_timegate_url": _text,
    "memento_timegates": _list_of(_site_url),
    "memento_deadline": _number(lambda v: v > 0, "> 0"),
    "archive_replay_url": _text,
    "base_url": _site_url,
    "doi_resolver": _site_url,
    "crossref_api": _site_url,
    "crossref_lookup": _boolean,
    "contact_email": _text,
    "private_hosts": _list_of(_regex),
}

_REFERENCE: dict[str, _Check] = {
    "id": _text,
    "url": _text,
    "title": _text,
    "cited_as": _text,
    "quote": _text,
    "accept": _list_of(_status),
    "accessed": _date,
}


def _settings(doc: _Doc, node: Node, name: str) -> Settings:
    return Settings(**_fields(doc, node, name, _SETTINGS))


def _reference(doc: _Doc, node: Node, name: str) -> Reference:
    values = _fields(doc, node, name, _REFERENCE)
    if "id" not in values:
        doc.fail(node, f"{name}: missing 'id'")
    values.setdefault("url", None)  # absent or null: a source not yet known
    return Reference(**values, line=node.start_mark.line + 1)


def _references(doc: _Doc, node: Node, name: str) -> tuple[Reference, ...]:
    refs: tuple[Reference, ...] = _list_of(_reference)(doc, node, name)
    first: dict[str, Reference] = {}
    for i, ref in enumerate(refs):
        if ref.id in first:
            doc.fail(node.value[i], f"duplicate reference id {ref.id!r} (first at line {first[ref.id].line})")
        first[ref.id] = ref
    return refs


_TOP: dict[str, _Check] = {
    "version": _version,
    "published": _date,
    "documents": _list_of(_text),
    "settings": _settings,
    "references": _references,
}


# How deep a register's lists and mappings may nest: a real one goes five deep. PyYAML's scanner
# takes time quadratic in the depth of flow collections (a line of 50,000 `[` held it for minutes),
# and building a deeper value recurses past Python's limit.
MAX_DEPTH = 32


def refuse_unwritten_yaml(text: str, where: str) -> None:
    """Refuse YAML anchors and aliases, and nesting deeper than MAX_DEPTH, read as events before
    anything is built: a register is written out by hand, an alias lets a few lines stand for
    billions of nodes, and no hand writes a list inside a list 33 times."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        anchor = getattr(event, "anchor", None)  # an alias names the anchor it repeats
        if anchor is not None:
            kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            raise ConfigError(where, f"YAML {kind}{anchor} is not allowed in a reference register: "
                                     "write the value out", line)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(where, f"lists and mappings nested more than {MAX_DEPTH} deep: "
                                         "a reference register is never nested so deep", line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_config(path: Path | str) -> Config:
    """Read and validate a references file; any problem is a ConfigError naming file and line."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(where, "no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(where, "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(where, f"cannot read file: {exc.strerror or exc}") from None
    try:
        refuse_unwritten_yaml(text, where)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = _Doc(where, text)
        if root is None or doc.is_null(root):
            raise ConfigError(where, "empty references file")
        values = _fields(doc, root, None, _TOP)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed"
        if exc.context and problem.startswith("but "):  # "... a single document ... but found another"
            problem = f"{exc.context} {problem}"
        raise ConfigError(where, f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(where, f"invalid YAML: {exc}") from None
    base = Path(path).parent
    return Config(
        path=Path(path),
        version=values.get("version", FORMAT_VERSION),
        documents=tuple(base / d for d in values.get("documents", ())),
        settings=values.get("settings", Settings()),
        references=values.get("references", ()),
        published=values.get("published"),
    )
