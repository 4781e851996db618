"""Turn documents into citations: pick the files, read them, hand each to its format's extractor."""
from __future__ import annotations

import importlib
import os
import pathlib
from collections.abc import Callable

from linkcheck.doi import doi_of, doi_url, find_doi_strings
from linkcheck.encoding import decode_html
from linkcheck.errors import InputError
from linkcheck.extract.bounds import check_size
from linkcheck.extract.context import anchor_claims, annotate
from linkcheck.extract.reading import html_bytes, text_of
from linkcheck.model import Citation

__all__ = ["SUPPORTED_SUFFIXES", "extract_file", "find_documents"]


# suffix -> (module, function, takes text rather than bytes). Modules are imported on first
# use: a Markdown-only run never pays for the PDF and Word parsers.
_EXTRACTORS: dict[str, tuple[str, str, bool]] = {
    ".md": ("markdown", "extract_markdown", True),
    ".markdown": ("markdown", "extract_markdown", True),
    ".html": ("html", "extract_html", False),  # bytes: the page's own charset declaration is honoured
    ".htm": ("html", "extract_html", False),
    ".txt": ("text", "extract_text", True),
    ".text": ("text", "extract_text", True),
    ".pdf": ("pdf", "extract_pdf", False),
    ".docx": ("docx", "extract_docx", False),
}


def _extractor(suffix: str) -> Callable[[bytes, str], list[Citation]] | None:
    entry = _EXTRACTORS.get(suffix)
    if entry is None:
        return None
    module, name, takes_text = entry
    function = getattr(importlib.import_module(f"linkcheck.extract.{module}"), name)
    if takes_text:
        def read(data: bytes, document: str) -> list[Citation]:
            text = text_of(data, document)
            return _with_doi_strings(function(text, document), text, document)
        return read
    if module == "html":
        return lambda data, document: function(html_bytes(data, document), document)
    return function  # type: ignore[no-any-return]


def _with_doi_strings(citations: list[Citation], text: str, document: str) -> list[Citation]:
    """Add each `doi:10...` of the text as a citation of its doi.org URL, in line order, unless
    a link on the same line already cites that DOI."""
    strings = find_doi_strings(text)
    if not strings:
        return citations
    linked = {(c.line, d.casefold()) for c in citations if (d := doi_of(c.url))}
    found = [Citation(document=document, line=line, text=written, url=doi_url(doi))
             for line, written, doi in strings if (line, doi.casefold()) not in linked]
    if not found:
        return citations
    return sorted(citations + found, key=lambda c: c.line or 0)


SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_EXTRACTORS)
# Formats whose citations have source lines: the words around them can be read there.
_LINED = frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".text"})


def _reason(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()


def extract_file(path: pathlib.Path, document: str | None = None) -> list[Citation]:
    """Every citation in one file, in document order, the format chosen by suffix.

    `document` is the name each Citation carries (default: the path as given). Any
    problem reading the file is an InputError naming `path`.
    """
    suffix = path.suffix.lower()
    extractor = _extractor(suffix)
    if extractor is None:
        expected = ", ".join(sorted(SUPPORTED_SUFFIXES))
        kind = repr(suffix) if suffix else "(no suffix)"
        raise InputError(str(path), f"unsupported file type {kind}; expected one of {expected}")
    try:
        check_size(str(path), suffix, path.stat().st_size)
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file or directory") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, not a document") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {_reason(exc)}") from None
    name = str(path) if document is None else document
    try:
        citations = extractor(data, name)
    except InputError as exc:
        if exc.path == str(path):
            raise
        # The extractor named the display name; the person fixing it needs the path.
        detail = str(exc).removeprefix(f"{exc.path}: ")
        raise InputError(str(path), detail) from None
    if not citations:
        return citations
    if suffix not in _LINED:
        return anchor_claims(citations)
    text = decode_html(html_bytes(data, name)) if suffix in (".html", ".htm") else text_of(data, name)
    return annotate(citations, text)


def find_documents(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    """The documents to check: files as given, folders searched recursively for supported ones.

    Folder contents come sorted, so runs are reproducible; hidden files and folders
    (`.git`, `.venv`, ...) are skipped since they are never the submission. A path
    named twice is returned once.
    """
    found: list[pathlib.Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path))
        elif path.exists():
            found.append(path)
        else:
            raise InputError(str(path), "no such file or directory")
    return list(dict.fromkeys(found))


def _walk(folder: pathlib.Path) -> list[pathlib.Path]:
    found: list[pathlib.Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = pathlib.Path(root)
        found.extend(base / name for name in sorted(files)
                     if not name.startswith(".") and pathlib.Path(name).suffix.lower() in SUPPORTED_SUFFIXES)
    return found
