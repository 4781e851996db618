"""The reference register kept in step with the documents: new cited URLs in, uncited references reported."""
from __future__ import annotations

import asyncio
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from .collect import anchor_key
from .config import FORMAT_VERSION, Settings, refuse_unwritten_yaml
from .encoding import charset_param
from .errors import LinkcheckError
from .evidence import Page, is_html, soft_404_phrase
from .extract.html import parse_html
from .fetch import Fetcher
from .files import write_atomic
from .model import Citation, FetchOutcome
from .urls import normalise, placeholder_reason, split_fragment

__all__ = ["NewReference", "SyncPlan", "apply_sync", "fetch_titles", "init_register", "plan_sync", "replace_urls"]

_ID_LIMIT = 60
_TITLE_LIMIT = 200
# Path segments that name no source: site furniture, language switches, file kinds.
_NOISE = frozenset({"index", "default", "home", "main", "view", "download", "downloads", "content", "page",
                    "article", "articles", "news", "blog", "post", "posts", "publications"})
_LANGUAGE = re.compile(r"lang-[a-z]{2}(?:-[a-z]{2})?|[a-z]{2}-[a-z]{2}|en|fr|es|de|ar|ru|zh|pt|it|nl|ja|ko|cy")
_EXTENSION = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cfm|pdf|docx?|xlsx?|pptx?|txt)$", re.IGNORECASE)
_EXISTS = "already exists; `linkcheck refs sync` brings it up to date"
_HEADER = """\
# The sources the documents below cite, one entry per source: `linkcheck check` checks every
# citation against its entry. `cited_as` is the anchor text the documents use; fill in `url:`
# where it is missing, and give each entry a `quote:` (text the source must still hold).
# `linkcheck refs sync` adds sources cited later and names entries no document cites any more."""


@dataclass(frozen=True, slots=True)
class NewReference:
    """An entry to add: a cited URL the register lacks, or (on init) a placeholder's anchor text."""

    id: str
    url: str | None
    cited_as: str | None = None
    accessed: str | None = None  # ISO date the citing document gives ("accessed 12 October 2020")


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What syncing changes: entries to append, ids no document cites, how many still match."""

    added: list[NewReference]
    uncited: list[str]
    unchanged: int

    @property
    def in_step(self) -> bool:
        return not self.added and not self.uncited


def _identity(raw: str) -> str:
    """What a cited or registered URL is matched by: normalised, fragment ignored."""
    return split_fragment(normalise(raw))[0]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _url_slug(url: str) -> str:
    """Host (without www.) and the last path segment that names something."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    for segment in reversed(parts.path.split("/")):
        word = _slug(_EXTENSION.sub("", unquote(segment)))
        if word and word not in _NOISE and not word.isdigit() and not _LANGUAGE.fullmatch(word):
            return _slug(f"{host} {word}")
    return _slug(host)


def _fit(slug: str, limit: int = _ID_LIMIT) -> str:
    """At most `limit` characters, cut between words where possible."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    return (cut.rsplit("-", 1)[0] if slug[limit] != "-" and "-" in cut else cut).strip("-")


def _unique(base: str, taken: set[str]) -> str:
    base = base or "source"
    candidate, n = _fit(base), 2
    while candidate in taken:
        candidate, n = f"{_fit(base, _ID_LIMIT - len(str(n)) - 1)}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _bare(url: str) -> str:
    return _identity(url).split("://", 1)[-1].rstrip("/").removeprefix("www.").lower()


def _label(citations: Sequence[Citation], url: str | None) -> str | None:
    """The first anchor text that names the source: an autolink's text (the address) names nothing."""
    for citation in citations:
        text = " ".join(citation.text.split())
        if text and (url is None or _bare(text if "://" in text else f"http://{text}") != _bare(url)):
            return text
    return None


def _accessed(citations: Sequence[Citation]) -> str | None:
    """The access date the first citation stating one gives."""
    return next((c.accessed for c in citations if c.accessed), None)


def plan_sync(register_text: str, citations: Sequence[Citation], *, placeholders: bool = False,
              where: str = "reference register") -> SyncPlan:
    """Compare the register with the citations; with `placeholders`, unmatched placeholder anchor
    texts become entries without a URL too (as `init` wants). Pure: reads and writes nothing."""
    try:
        refuse_unwritten_yaml(register_text, where)  # before anything is built from it
        data = yaml.safe_load(register_text) if register_text.strip() else None
    except yaml.YAMLError as exc:
        raise LinkcheckError(f"reference register: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    listed = data.get("references") if isinstance(data, dict) else None
    registered = [r for r in listed or () if isinstance(r, dict)]  # load_config names anything malformed
    groups: dict[tuple[str, str], list[Citation]] = {}  # ("url", url) or ("text", anchor key), cited order
    cited: set[str] = set()
    anchors: set[str] = set()
    stand_ins: set[str] = set()  # anchor texts of placeholders: what each one stands for
    for citation in citations:
        key = anchor_key(citation.text)
        anchors.add(key)
        if placeholder_reason(citation.url) is not None:
            stand_ins.add(key)
            groups.setdefault(("text", key), []).append(citation)
            continue
        url = _identity(citation.url)
        cited.add(url)
        if urlsplit(url).scheme in ("http", "https"):
            groups.setdefault(("url", url), []).append(citation)
    anchors.discard("")
    stand_ins.discard("")

    known = {_identity(str(r["url"])) for r in registered if r.get("url")}
    named = {anchor_key(str(r["cited_as"])) for r in registered if r.get("cited_as")}
    labels = {url: _label(cits, url) for (kind, url), cits in groups.items() if kind == "url" and url not in known}
    named |= {anchor_key(label) for label in labels.values() if label} | {""}
    taken = {str(r["id"]) for r in registered if r.get("id") is not None}
    added: list[NewReference] = []
    for (kind, value), cits in groups.items():
        if kind == "url" and value in labels:
            added.append(NewReference(_unique(_url_slug(value), taken), value, labels[value], _accessed(cits)))
        elif kind == "text" and placeholders and value not in named:
            text = _label(cits, None)
            added.append(NewReference(_unique(_slug(text or ""), taken), None, text, _accessed(cits)))

    uncited: list[str] = []
    for ref in registered:
        name = anchor_key(str(ref.get("cited_as") or ""))
        if ref.get("url"):
            found = _identity(str(ref["url"])) in cited or name in stand_ins
        else:
            found = name in anchors
        if not found:
            uncited.append(str(ref.get("id")))
    return SyncPlan(added=added, uncited=uncited, unchanged=len(registered) - len(uncited))


def _indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel spells indentation, read from the file's own blocks;
    the `references:` list decides the sequence style when there is one."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    mapping: int | None = None
    sequences: list[tuple[bool, int, int]] = []
    for above, line in zip(lines, lines[1:], strict=False):
        opener = re.match(r"( *)([^\s#-][^#]*?):\s*(?:#.*)?$", above)
        item = re.match(r"( *)-( +)\S", line)
        indent = len(line) - len(line.lstrip(" ")) - len(opener.group(1)) if opener else 0
        if opener and item:
            sequences.append((opener.group(2) != "references", indent + 1 + len(item.group(2)), indent))
        elif opener and mapping is None and indent > 0:
            mapping = indent
    _, sequence, offset = min(sequences, key=lambda s: s[0]) if sequences else (False, 4, 2)
    return mapping or 2, max(sequence, offset + 2), max(offset, 0)


def _last_comment(node: Any) -> Any:
    """The comment after a block collection's last value: where ruamel keeps the lines that follow."""
    while True:
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        child = node[key]
        if not (isinstance(child, (CommentedMap, CommentedSeq)) and child and not child.fa.flow_style()):
            return (node.ca.items.get(key) or [None] * 4)[2 if isinstance(node, CommentedMap) else 0]
        node = child


def _detach(token: Any) -> str:
    """Take the whole lines after a value (blank lines, comments) off its comment token."""
    if not isinstance(token, CommentToken):
        return ""
    own, newline, rest = token.value.partition("\n")
    token.value = own + newline  # the value's own line (and its end-of-line comment) stays
    return rest


def _blank_before(lines: list[str], line: int) -> bool:
    """Is there a blank line above this line (over any comment lines just above it)?"""
    line -= 1
    while line >= 0 and lines[line].lstrip().startswith("#"):
        line -= 1
    return line >= 0 and not lines[line].strip()


def _entry(new: NewReference, titles: Mapping[str, str]) -> CommentedMap:
    entry = CommentedMap(id=new.id)
    if new.url:
        entry["url"] = new.url
        if titles.get(new.url):
            entry["title"] = DoubleQuotedScalarString(titles[new.url])
    if new.cited_as:
        entry["cited_as"] = DoubleQuotedScalarString(new.cited_as)
    if new.accessed:
        entry["accessed"] = date.fromisoformat(new.accessed)  # written plain: 2020-10-12
    return entry


def _load(text: str, where: str) -> tuple[YAML, CommentedMap, str, str]:
    """(yaml, document, text before it, its body): the register loaded round-trip, to be dumped in its
    own indentation, quoting and comments."""
    try:
        # No alias is ever expanded after this (ruamel's load, the comparisons' safe_load and dumps).
        refuse_unwritten_yaml(text, where)
    except yaml.YAMLError as exc:
        raise LinkcheckError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), 0)
    marked = start < len(lines) and lines[start].rstrip() == "---"
    prefix = "".join(line + "\n" for line in lines[:start]) if marked else ""  # ruamel drops these
    body = "\n".join(lines[start:]) + "\n" if marked else text
    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 4096  # never fold a long title or quote onto a second line
    yml.explicit_start = marked
    mapping, sequence, offset = _indentation(text)
    yml.indent(mapping=mapping, sequence=sequence, offset=offset)
    try:
        data = yml.load(body)
    except YAMLError as exc:
        raise LinkcheckError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    data = CommentedMap() if data is None else data
    if not isinstance(data, CommentedMap):
        raise LinkcheckError(f"{where}: expected a mapping with `references:` at the top level")
    return yml, data, prefix, body


def _kept(text: str, result: str, expected: Any) -> bool:
    """Did the edit keep every comment, and give exactly the expected data (order included)?"""
    comments = iter(line.strip() for line in result.splitlines() if line.lstrip().startswith("#"))
    kept = all(c in comments for c in (line.strip() for line in text.splitlines() if line.lstrip().startswith("#")))
    # JSON keeps mapping order, so a reordered field fails the comparison too.
    return kept and json.dumps(yaml.safe_load(result), default=str) == json.dumps(expected, default=str)


def _append(text: str, added: Sequence[NewReference], titles: Mapping[str, str], where: str) -> str:
    """The register's text with the entries appended to `references:`, all else as written; refuses
    (LinkcheckError) a result that lost or reordered anything a person wrote, comments included."""
    yml, data, prefix, body = _load(text, where)
    refs = data.get("references")
    # What followed the last entry (comments, the next key's heading) goes after the new ones.
    if isinstance(refs, CommentedSeq):
        trailing = _detach(_last_comment(refs)) if refs else ""
        refs.fa.set_block_style()
    else:  # absent or null
        trailing = _detach((data.ca.items.get("references") or [None] * 4)[2])
        refs = data["references"] = CommentedSeq()
    spaced = [_blank_before(body.splitlines(), refs.lc.item(i)[0]) for i in range(1, len(refs))]
    separate = sum(spaced) * 2 >= len(spaced)  # entries apart, as most are already
    for new in added:
        refs.append(_entry(new, titles))  # append shifts comments kept by index: mark the item after
        if len(refs) > 1 and separate:
            refs.ca.items[len(refs) - 1] = [None, [CommentToken("\n", CommentMark(0), None)], None, None]
    if trailing and added:
        last = refs[-1]
        last.ca.items[list(last)[-1]] = [None, None, CommentToken("\n" + trailing, CommentMark(0), None), None]
    out = io.StringIO()
    yml.dump(data, out)
    result = prefix + out.getvalue()

    old = yaml.safe_load(text) or {}
    expected = {**old, "references": list(old.get("references") or []) + [dict(_entry(n, titles)) for n in added]}
    if not _kept(text, result, expected):
        raise LinkcheckError(f"{where}: cannot add references without rewriting what is written there; "
                             f"add them by hand: {', '.join(n.url or n.id for n in added)}")
    return result


def apply_sync(path: Path, plan: SyncPlan, titles: Mapping[str, str]) -> str:
    """Append the plan's new entries to the register at `path` (atomically) and return its new text.
    Uncited references stay: removing evidence is a person's decision."""
    raw = path.read_bytes().decode("utf-8")
    if not plan.added:
        return raw
    text = _append(raw.replace("\r\n", "\n"), plan.added, titles, str(path))
    if "\r\n" in raw:
        text = text.replace("\n", "\r\n")
    write_atomic(path, text)  # a crash mid-write leaves the old register whole
    return text


def replace_urls(path: Path, urls: Mapping[str, str]) -> dict[str, str]:
    """Give the references with these ids (id -> new URL) their new `url:`, in place and atomically, all
    else as written; returns {id: old URL} of those changed. Refuses (LinkcheckError) an edit that would
    rewrite anything else."""
    raw = path.read_bytes().decode("utf-8")
    text = raw.replace("\r\n", "\n")
    yml, data, prefix, _ = _load(text, str(path))
    refs = data.get("references")
    changed: dict[str, str] = {}
    for entry in refs if isinstance(refs, CommentedSeq) else ():
        ref_id = str(entry.get("id")) if isinstance(entry, CommentedMap) else ""
        if ref_id in urls and entry.get("url") != urls[ref_id]:
            changed[ref_id] = str(entry.get("url") or "")
            entry["url"] = urls[ref_id]
    if not changed:
        return {}
    out = io.StringIO()
    yml.dump(data, out)
    result = prefix + out.getvalue()
    old = yaml.safe_load(text) or {}
    expected = {**old, "references": [{**r, "url": urls[str(r["id"])]} if str(r.get("id")) in changed else r
                                      for r in old.get("references") or []]}
    if not _kept(text, result, expected):
        raise LinkcheckError(f"{path}: cannot change the references' URLs without rewriting what is written "
                             f"there; change them by hand: {', '.join(f'{i}: {urls[i]}' for i in changed)}")
    write_atomic(path, result.replace("\n", "\r\n") if "\r\n" in raw else result)
    return changed


def _title(outcome: FetchOutcome) -> str | None:
    if not (outcome.status and 200 <= outcome.status < 300 and outcome.body and is_html(outcome.content_type)):
        return None
    root = parse_html(outcome.body, charset_param(outcome.content_type))
    found = (root.xpath("//head/title") or root.xpath("//title")) if root is not None else []
    title = " ".join(found[0].text_content().split()) if found else ""
    if not title or soft_404_phrase(Page(title=title, headings=(), anchors=frozenset())):
        return None  # a "Page not found" title would name the wrong thing
    return title if len(title) <= _TITLE_LIMIT else title[:_TITLE_LIMIT - 1].rsplit(" ", 1)[0] + "…"


async def fetch_titles(urls: Iterable[str], settings: Settings) -> dict[str, str]:
    """The `<title>` of each URL's page, through the project's fetcher and its address policy;
    a URL that fails, is no HTML page or has no title gets none."""
    wanted = list(dict.fromkeys(urls))
    async with Fetcher(settings) as fetcher:
        # Without need_body the fetcher reads only an HTML page's first bytes, and no PDF at all.
        outcomes = await asyncio.gather(*(fetcher.fetch(url, need_body=False) for url in wanted))
    return {url: title for url, o in zip(wanted, outcomes, strict=True) if (title := _title(o))}


def _scalar(value: Any) -> str:
    """A value as YAML: plain when it reads back as itself, else JSON (which YAML reads too)."""
    if isinstance(value, str) and re.fullmatch(r"[\w./-]+", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def init_register(path: Path, documents: Sequence[Path], citations: Sequence[Citation], *,
                  titles: Mapping[str, str] | None = None) -> str:
    """Write a new register at `path` listing the documents (relative to it), the default settings
    (commented out) and an entry per cited source, placeholders included without a URL."""
    if path.exists():
        raise LinkcheckError(f"{path}: {_EXISTS}")
    folder = path.parent.resolve()
    defaults = Settings()
    text = "\n".join([
        _HEADER, f"version: {FORMAT_VERSION}", "documents:",
        *(f"  - {_scalar(Path(os.path.relpath(d.resolve(), folder)).as_posix())}" for d in documents),
        "# Run settings, at their defaults: uncomment `settings:` and the lines to change.", "# settings:",
        *(f"#   {f.name}: {_scalar(getattr(defaults, f.name))}" for f in fields(Settings)
          if getattr(defaults, f.name) is not None),
        "references:", ""])
    text = _append(text, plan_sync("", citations, placeholders=True).added, titles or {}, str(path))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="") as handle:  # "x": never over a file made meanwhile
            handle.write(text)
    except FileExistsError:
        raise LinkcheckError(f"{path}: {_EXISTS}") from None
    except OSError as exc:
        raise LinkcheckError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return text
