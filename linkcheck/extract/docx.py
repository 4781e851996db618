"""Find citations in a Word (.docx) file: hyperlinks and HYPERLINK fields, in body, footnotes and endnotes."""
from __future__ import annotations

import copy
import io
import math
import re
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from linkcheck.errors import InputError
from linkcheck.extract.bounds import check_zip
from linkcheck.model import Citation

__all__ = ["extract_docx"]

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_P, _HYPERLINK, _FLD_SIMPLE = f"{{{_W}}}p", f"{{{_W}}}hyperlink", f"{{{_W}}}fldSimple"
_FLD_CHAR, _INSTR_TEXT, _T = f"{{{_W}}}fldChar", f"{{{_W}}}instrText", f"{{{_W}}}t"
_TAB, _BR = f"{{{_W}}}tab", f"{{{_W}}}br"
# Word stores text boxes twice (DrawingML choice + VML fallback); read only the first.
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_WHITESPACE = re.compile(r"\s+")
# Switches of the HYPERLINK field that take an argument (\l names a bookmark, not a URL).
_SWITCH_ARGS = {"\\l", "\\o", "\\t"}
_FIELD_WORD = re.compile(r'"([^"]*)"|(\S+)')
_XML = etree.XMLParser(resolve_entities=False, no_network=True)
_Located = tuple[int | None, int, str, str]  # paragraph number, order in the part, text, url


@dataclass
class _Field:
    """A complex field (fldChar begin … separate … end) being read."""

    paragraph: int
    order: int
    instruction: str = ""
    in_result: bool = False
    text: list[str] = field(default_factory=list)


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _hyperlink_target(instruction: str) -> str | None:
    """The URL of a `HYPERLINK "url" \\o "tip"` field, or None (another field, or a \\l bookmark)."""
    words = [quoted or bare for quoted, bare in _FIELD_WORD.findall(instruction)]
    if not words or words[0].upper() != "HYPERLINK":
        return None
    url: str | None = None
    bookmark = False
    index = 1
    while index < len(words):
        word = words[index]
        if word.startswith("\\"):
            bookmark = bookmark or word.lower() == "\\l"
            index += 2 if word.lower() in _SWITCH_ARGS else 1
            continue
        if url is None:
            url = word
        index += 1
    return None if url is None or (bookmark and not url) else url


def _visible_text(element: Any) -> str:
    parts = []
    for node in element.iter(_T, _TAB, _BR):
        parts.append((node.text or "") if node.tag == _T else " ")
    return _collapse("".join(parts))


def _part_citations(root: Any, rels: Any) -> list[_Located]:
    """(paragraph number, order, text, url) for every external link in one XML part.

    Paragraphs are numbered 1-based over every `w:p` of the part in document order,
    tables included, so the number is stable whatever the layout.
    """
    found: list[_Located] = []
    fields: list[_Field] = []
    paragraph = 0
    root = _without_fallbacks(root)
    for order, node in enumerate(root.iter(_P, _HYPERLINK, _FLD_SIMPLE, _FLD_CHAR, _INSTR_TEXT, _T)):
        tag = node.tag
        if tag == _P:
            paragraph += 1
        elif tag == _HYPERLINK:
            rel = rels.get(node.get(f"{{{_R}}}id") or "")
            if rel is not None and rel.is_external:  # w:anchor alone is a bookmark, not a citation
                found.append((paragraph, order, _visible_text(node), rel.target_ref))
        elif tag == _FLD_SIMPLE:
            url = _hyperlink_target(node.get(f"{{{_W}}}instr") or "")
            if url is not None:
                found.append((paragraph, order, _visible_text(node), url))
        elif tag == _FLD_CHAR:
            kind = node.get(f"{{{_W}}}fldCharType")
            if kind == "begin":
                fields.append(_Field(paragraph, order))
            elif kind == "separate" and fields:
                fields[-1].in_result = True
            elif kind == "end" and fields:
                done = fields.pop()
                url = _hyperlink_target(done.instruction)
                if url is not None:
                    found.append((done.paragraph, done.order, _collapse("".join(done.text)), url))
                if fields and fields[-1].in_result:
                    fields[-1].text.extend(done.text)  # a nested field's result shows in its parent's
        elif tag == _INSTR_TEXT and fields and not fields[-1].in_result:
            fields[-1].instruction += node.text or ""
        elif tag == _T and fields and fields[-1].in_result:
            fields[-1].text.append(node.text or "")
    return found


def _without_fallbacks(root: Any) -> Any:
    if next(root.iter(_FALLBACK), None) is None:
        return root
    root = copy.deepcopy(root)
    for fallback in list(root.iter(_FALLBACK)):
        fallback.getparent().remove(fallback)
    return root


def _note_paragraphs(body: Any, reference_tag: str) -> dict[str, int]:
    """Note id -> number of the body paragraph holding its reference mark."""
    where: dict[str, int] = {}
    for number, paragraph in enumerate(_without_fallbacks(body).iter(_P), start=1):
        for mark in paragraph.iter(reference_tag):
            where.setdefault(mark.get(f"{{{_W}}}id") or "", number)
    return where


def _note_root(main: Any, kind: str) -> tuple[Any, Any] | None:
    """The parsed footnotes or endnotes part and its relationships, if the document has one."""
    reltype = RT.FOOTNOTES if kind == "footnote" else RT.ENDNOTES
    part = next((rel.target_part for rel in main.rels.values()
                 if rel.reltype == reltype and not rel.is_external), None)
    return None if part is None else (etree.fromstring(part.blob, _XML), part.rels)


def _note_citations(notes: tuple[Any, Any] | None, kind: str, body: Any) -> list[_Located]:
    """Links inside footnotes or endnotes, placed at the body paragraph that cites the note."""
    if notes is None:
        return []
    root, rels = notes
    marks = _note_paragraphs(body, f"{{{_W}}}{kind}Reference")
    found: list[_Located] = []
    for note in root.iter(f"{{{_W}}}{kind}"):
        line = marks.get(note.get(f"{{{_W}}}id") or "")
        found.extend((line, order, text, url) for _, order, text, url in _part_citations(note, rels))
    return found


def extract_docx(data: bytes, document: str) -> list[Citation]:
    """Citations in a .docx file, in document order.

    External `w:hyperlink`s (an `r:id` relationship), HYPERLINK field codes (complex
    fields split across runs and `w:fldSimple`), in the body, footnotes and endnotes;
    bookmark links (`w:anchor`, `\\l`) are not citations. `line` is the body paragraph
    number (1-based, every `w:p` in document order, table cells included). A link inside
    a footnote or endnote gets the number of the body paragraph carrying that note's
    reference mark, so it sorts right after that paragraph's own links (None if the note
    is never referenced). Raises InputError for a file that is not a readable .docx, or
    one that would inflate past the limits of `bounds.ZipLimits`.
    """
    check_zip(data, document)
    try:
        package = docx.Document(io.BytesIO(data))
        notes = {kind: _note_root(package.part, kind) for kind in ("footnote", "endnote")}
    except Exception as exc:  # python-docx and zipfile report bad input with many exception types
        detail = _collapse(str(exc)) or type(exc).__name__
        raise InputError(document, f"cannot read DOCX: {detail}") from exc
    main = package.part
    body = main.element
    located = [(line, 0, order, text, url) for line, order, text, url in _part_citations(body, main.rels)]
    for rank, kind in enumerate(("footnote", "endnote"), start=1):
        located += [(line, rank, order, text, url)
                    for line, order, text, url in _note_citations(notes[kind], kind, body)]
    located.sort(key=lambda item: (item[0] or math.inf, item[1], item[2]))
    return [Citation(document=document, line=line, text=text, url=url) for line, _, _, text, url in located]
