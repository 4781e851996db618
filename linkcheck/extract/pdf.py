"""Find citations in a PDF: link annotations and bare URLs in the page text, located by page."""
from __future__ import annotations

import io
import math
import re
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from linkcheck.errors import InputError
from linkcheck.extract.text import find_bare_urls, trim_url
from linkcheck.model import Citation

__all__ = ["extract_pdf"]

_WHITESPACE = re.compile(r"\s+")
_TOLERANCE = 2.0  # points: text baselines sit a little inside or outside a link's /Rect
_CHAR_WIDTH = 0.47  # average glyph width in ems, to place characters inside a long fragment
# A line that ends like this is likely to stop mid-URL (the typesetter broke it there).
_BREAKABLE_END = "/-_=&?#%~."
# What a continuation of a URL on the next line looks like: URL characters, no spaces.
_CONTINUATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_URL_START = re.compile(r"(?:https?|ftp)://|www\.", re.IGNORECASE)
# How long a line may grow by joining: each join reads the whole line again, so a URL broken over
# thousands of lines took time quadratic in them.
_JOINED_REACH = 2048

_Fragment = tuple[float, float, float, str]  # x, y, effective font size, text


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _as_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _links(page: Any) -> list[tuple[tuple[float, float, float, float], str]]:
    """(rect, URI) of every external link annotation on the page, in /Annots order."""
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else None
    if not isinstance(annots, ArrayObject):
        return []
    links = []
    for ref in annots:
        annot = ref.get_object()
        if not isinstance(annot, DictionaryObject) or annot.get("/Subtype") != "/Link":
            continue
        action = annot.get("/A")
        action = action.get_object() if action is not None else None
        if not isinstance(action, DictionaryObject) or action.get("/S") != "/URI" or "/URI" not in action:
            continue  # internal destinations (/GoTo, /Dest) are not citations
        x1, y1, x2, y2 = (float(v) for v in annot.get("/Rect", [0, 0, 0, 0])[:4])
        rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        links.append((rect, _as_str(action["/URI"].get_object())))
    return links


def _text_in(rect: tuple[float, float, float, float], fragments: list[_Fragment]) -> str:
    """The page text under a link's rectangle.

    Fragments starting inside the rectangle are taken whole. When none does, the link may
    cover part of a longer fragment (a whole line): words are placed by an average glyph
    width and those whose middle is covered kept. Both are estimates; "" when none found.
    """
    x0, y0, x1, y1 = rect[0] - _TOLERANCE, rect[1] - _TOLERANCE, rect[2] + _TOLERANCE, rect[3] + _TOLERANCE
    inside = [text for x, y, _, text in fragments if x0 <= x <= x1 and y0 <= y <= y1]
    if inside:
        return _collapse(" ".join(inside))
    for x, y, size, text in fragments:
        width = _CHAR_WIDTH * size
        if not (y0 <= y <= y1) or width <= 0 or x > x1 or x + len(text) * width < x0:
            continue
        words = [m.group() for m in re.finditer(r"\S+", text)
                 if x0 <= x + (m.start() + m.end()) / 2 * width <= x1]
        if words:
            return " ".join(words)
    return ""


def _join_broken_urls(text: str) -> str:
    """Undo line breaks a typesetter put inside URLs.

    A line is joined to the next when its last word is a URL ending in one of `/-_=&?#%~.`
    and the next line starts with URL characters (no space) that make the URL longer.
    After a `.` the continuation must start in lower case or a digit and hold a `/` or `.`
    (so `x.org/report.` followed by `The next sentence` stays apart); a capitalised plain
    word is taken as a new sentence after any ending. A hyphen is kept: it cannot be told
    apart from a hyphen that belongs to the URL. A line past `_JOINED_REACH` characters is joined
    to nothing more.
    """
    out: list[str] = []
    for line in text.split("\n"):
        if out and len(out[-1]) <= _JOINED_REACH and _continues(out[-1], line):
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _continues(line: str, following: str) -> bool:
    words = line.split()
    head = _CONTINUATION.match(following)
    if not words or head is None or _URL_START.match(following):
        return False
    last, piece = words[-1], head.group()
    if not find_bare_urls(last) or last[-1] not in _BREAKABLE_END:
        return False
    if piece.isalpha() and piece[0].isupper():
        return False
    if last.endswith("."):
        lower_start = piece[0].islower() or piece[0].isdigit()
        if not lower_start or ("/" not in piece and "." not in piece.rstrip(".,;:")):
            return False
    return len(trim_url(last + piece)) > len(trim_url(last))


def _page_citations(page: Any, number: int, document: str) -> list[Citation]:
    fragments: list[_Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        # Text space to user space: the start point and the scale of tm x cm.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3])
        fragments.append((x, y, (size or 0) * scale, text))

    page_text = page.extract_text(visitor_text=visit) or ""
    links = _links(page)
    # Reading order: top to bottom, then left to right.
    links.sort(key=lambda link: (-round(link[0][3]), link[0][0]))
    citations = [
        Citation(document=document, line=None, text=_text_in(rect, fragments), url=uri, page=number)
        for rect, uri in links
    ]
    # A bare URL is covered when a link points at it or shows it as its text.
    covered = {uri.rstrip("/") for _, uri in links}
    covered |= {url.rstrip("/") for c in citations for _, url in find_bare_urls(c.text)}
    for _, url in find_bare_urls(_join_broken_urls(page_text)):
        if url.rstrip("/") in covered:
            continue
        covered.add(url.rstrip("/"))
        citations.append(Citation(document=document, line=None, text=url, url=url, page=number))
    return citations


def extract_pdf(data: bytes, document: str) -> list[Citation]:
    """Citations in a PDF, page by page. `page` is 1-based and `line` is None.

    Per page: link annotations (/URI actions) in reading order, anchor text being the
    page text under the link's rectangle; then bare URLs in the page text that no link
    already covers, each reported once per page. Raises InputError for an unreadable,
    corrupt or password-protected file.
    """
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(document, "PDF is password-protected")
        citations: list[Citation] = []
        for number, page in enumerate(reader.pages, start=1):
            citations.extend(_page_citations(page, number, document))
        return citations
    except InputError:
        raise
    except Exception as exc:  # pypdf signals bad input with many exception types
        detail = _collapse(str(exc)) or type(exc).__name__
        raise InputError(document, f"cannot read PDF: {detail}") from exc
