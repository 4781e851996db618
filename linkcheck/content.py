"""What an archived page says: its visible and main text, quote matching, and drift between snapshots."""
from __future__ import annotations

import copy
import difflib
import html
import io
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from linkcheck.coding import left_on
from linkcheck.encoding import charset_param, decode_html, decode_text
from linkcheck.wordbounds import contains as _contains

if TYPE_CHECKING:
    import lxml.html

__all__ = [
    "DEFAULT_DRIFT_THRESHOLD",
    "is_pdf",
    "main_text",
    "normalise_text",
    "page_text",
    "pdf_pages",
    "quote_present",
    "similarity",
    "why_unreadable",
    "word_diff",
]

# Below this similarity of main texts a page is reported as drifted. Measured in
# tests/test_content.py on a six-paragraph article: a changed date, visitor counter,
# rotating promo or session token 1.0; the quoted sentence cut 0.946 (the quote check
# reports that, not drift); one word copy-edited in every paragraph 0.897; one paragraph
# in six rewritten 0.753, two 0.557; an unrelated article of the same length 0.021.
# Upkeep passes with a wide margin; a page a third rewritten or more is drifted.
DEFAULT_DRIFT_THRESHOLD = 0.6

_WHITESPACE = re.compile(r"\s+")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
# Never rendered, or not text: their content is not what a reader sees.
_INVISIBLE = {"head", "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "tfoot", "thead", "tr", "ul",
}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
# Page furniture by name. Anchored at a word start so `unrelated` is not `related`.
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[\s_-])(?:cookie|consent|banner|promo|advert|sidebar|related|share|social|newsletter"
    r"|breadcrumb|menu)"
)
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_STRUCTURAL = {"nav", "aside", "form"}
_SECTIONING = {"header", "footer"}  # page furniture, except inside an article or <main>

# Typographic variants a quote may be retyped with; mapped before NFKC, which would
# otherwise turn the double prime into two single ones.
_TYPOGRAPHY = str.maketrans({
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u00a0\u2007\u202f", " "),
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff"),
})
_SOFT_BREAK = re.compile(r"\u00ad[ \t]*\r?\n\s*")
_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n\s*(?=[^\W\d_])")
# Punctuation that is not inside a number: "4.9" must never become "49".
_LOOSE_PUNCTUATION = re.compile(r"(?!(?<=\d)[.,](?=\d))[^\w\s]|_")

_TOKEN = re.compile(r"\w+(?:[-.,:/'@]\w+)*")
_SHINGLE = 3
_ID_LENGTH = 16
_CALENDAR = frozenset(  # not "sat" or "sun": those are common words
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec"
    " monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri".split()
)
_DIFF_ENTRY = 120
_DIFF_GAP = 3  # shorter runs of common words ("and the") do not split a change
_DIFF_WORDS = 5000  # words a side matched between the common start and end; the report shows ten changes


def _media_type(content_type: str) -> tuple[str, str | None]:
    return content_type.split(";", 1)[0].strip().lower(), charset_param(content_type)


def _kind(body: bytes, content_type: str) -> tuple[str, str | None]:
    """"html", "pdf", "text" or "" for the body, trusting the server's type but not its silence."""
    media, charset = _media_type(content_type)
    if media == "application/pdf" or body.startswith(b"%PDF-"):
        return "pdf", charset
    if media in _HTML_TYPES:
        return "html", charset
    if media.startswith("text/"):
        return "text", charset
    head = body[:1024].lstrip().lower()
    if not media and (head.startswith((b"<!doctype html", b"<html")) or b"<body" in head):
        return "html", charset
    return "", charset


def _pdf_text(body: bytes) -> str:
    """Every page's text; "" for a PDF pypdf cannot open, since a broken archive is not an error here."""
    try:
        from pypdf import PdfReader  # on first PDF: most runs never read one

        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            return ""
        pages = []
        for page in reader.pages:
            try:
                pages.append(page.extract_text() or "")
            except Exception:  # one damaged page should not hide the others
                continue
        return "\n".join(p for p in pages if p.strip())
    except Exception:  # pypdf signals bad input with many exception types
        return ""


def _open_pdf(body: bytes) -> tuple[Any, str]:
    """(pypdf reader, "") or (None, why it cannot be read)."""
    from pypdf import PdfReader  # on first PDF: most runs never read one

    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            return None, "the PDF is encrypted"
        return reader, ""
    except Exception as exc:  # pypdf signals bad input with many exception types
        return None, f"the PDF is damaged ({exc.__class__.__name__})"


def is_pdf(body: bytes, content_type: str) -> bool:
    return _kind(body, content_type)[0] == "pdf"


def pdf_pages(body: bytes) -> int | None:
    """How many pages a PDF has; None when it cannot be read."""
    reader, _ = _open_pdf(body)
    try:
        return len(reader.pages) if reader is not None else None
    except Exception:  # a damaged page tree
        return None


def why_unreadable(body: bytes, content_type: str, *, truncated: bool = False, coding: str = "") -> str:
    """Why the text of a body cannot be read in full, "" when it can. Asked only when a check
    did not find what it looked for: then "not there" and "could not look" must differ.
    `coding`: the answer's Content-Encoding."""
    coded = left_on(coding)
    if coded:
        return coded
    if truncated:
        return f"the body was cut at the size cap ({len(body):,} bytes) and the rest was not read"
    kind, charset = _kind(body, content_type)
    if kind == "pdf":
        reader, trouble = _open_pdf(body)
        if reader is None:
            return trouble
        return "" if _pdf_text(body).strip() else "the PDF has no text layer (scanned pages?)"
    if kind == "html":
        import lxml.etree  # as in _tree: only once a page is read
        import lxml.html

        parser = lxml.html.HTMLParser()
        try:
            lxml.html.document_fromstring(decode_html(body, charset), parser=parser)
        except (lxml.etree.ParserError, ValueError):
            return ""
        if any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log):
            return "the page nests its elements too deep for the HTML parser, which stopped reading there"
        return ""
    if kind == "text":
        return ""
    media = content_type.split(";", 1)[0].strip()
    return f"a {media} body has no text this checker can read" if media else "a body of unknown type has no text"


def _tree(body: bytes, charset: str | None) -> lxml.html.HtmlElement | None:
    from linkcheck.extract.html import parse_html  # lxml loads with the first page read: a run may read none

    return parse_html(body, charset)


def _hidden(element: Any) -> bool:
    return (element.get("hidden") is not None
            or (element.get("aria-hidden") or "").strip().lower() == "true"
            or bool(_HIDDEN_STYLE.search(element.get("style") or "")))


def _render(root: lxml.html.HtmlElement) -> str:
    """Visible text, one line per block element; source line breaks count as spaces except in <pre>."""
    parts: list[str] = []

    def inline(text: str, pre: bool) -> str:
        return text if pre else _WHITESPACE.sub(" ", text)

    def walk(element: Any, pre: bool) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else None
        if tag is not None and tag not in _INVISIBLE and not _hidden(element):
            pre = pre or tag == "pre"
            block = tag in _BLOCKS
            parts.append("\n" if block or tag == "br" else " " if tag in ("td", "th") else "")
            parts.append(inline(element.text or "", pre))
            for child in element:
                walk(child, pre)
            parts.append("\n" if block else "")
        parts.append(inline(element.tail or "", pre))  # the tail is the parent's text

    walk(root, False)
    lines = (_WHITESPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def page_text(body: bytes, content_type: str) -> str:
    """All the text a reader of the page could see, for checking that a quote is still there.

    HTML drops what is never shown (scripts, styles, templates, SVG, `hidden`,
    `aria-hidden="true"`, inline `display:none`) and puts each block on its own line; PDF is
    pypdf's text of every page; other text/* is decoded. Anything else has no text: "".
    """
    kind, charset = _kind(body, content_type)
    if kind == "pdf":
        return _pdf_text(body)
    if kind == "text":
        return decode_text(body, charset)
    if kind == "html":
        root = _tree(body, charset)
        return _render(root) if root is not None else ""
    return ""


def _protected(element: Any) -> bool:
    """A wrapper that holds the page's content, whatever layout class it carries (`has-sidebar`)."""
    if element.tag in ("html", "body", "main", "article"):
        return True
    return next(element.iterdescendants("main", "article", "h1"), None) is not None


def _inside_content(element: Any) -> bool:
    return any(a.tag in ("article", "main") for a in element.iterancestors())


def _strip(root: Any, structural: bool) -> None:
    """Remove hidden elements and page furniture named by class, id or ARIA role, in place.

    With `structural`, also nav/aside/form and header/footer outside an article: the
    fallback's rule of thumb, which the extraction library applies with more care.
    """
    doomed = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in _INVISIBLE or _hidden(element):
            doomed.append(element)
            continue
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        # <nav> is navigation by definition; the library keeps it on short pages.
        furniture = (element.tag == "nav" or _BOILERPLATE_NAME.search(names) is not None
                     or (element.get("role") or "").strip().lower() in _BOILERPLATE_ROLES)
        if structural:
            furniture = furniture or element.tag in _STRUCTURAL or (
                element.tag in _SECTIONING and not _inside_content(element))
        if furniture and not _protected(element):
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the tail, which belongs to the parent


def main_text(body: bytes, content_type: str) -> str:
    """The page's own content without navigation, banners, sidebars, promos and comments.

    Drift is judged on this, so that a redesigned menu or a new cookie banner is not news.
    Extraction is trafilatura's (offline and deterministic), after removing hidden
    elements and boxes whose class, id or role names them as furniture (so a rotating
    promo does not count). When it finds nothing, which happens on short pages, the
    rest minus nav/header/footer/aside/form is taken. PDF and text: `page_text`.
    """
    kind, charset = _kind(body, content_type)
    if kind != "html":
        return page_text(body, content_type)
    root = _tree(body, charset)
    if root is None:
        return ""
    _strip(root, structural=False)
    import trafilatura  # imported on first use: the CLI need not pay for it otherwise

    extracted = trafilatura.extract(
        copy.deepcopy(root), include_comments=False, include_tables=True, favor_recall=True,
        deduplicate=False, fast=False,
    )
    if extracted and extracted.strip():
        return "\n".join(line.strip() for line in extracted.splitlines() if line.strip())
    _strip(root, structural=True)
    return _render(root)


def normalise_text(text: str) -> str:
    """Text as compared for quotes: typography, case, entities and layout no longer count.

    A hyphen at a line end between letters is taken as a typesetter's break and removed
    ("evi-\\ndence" -> "evidence"). A compound broken at its own hyphen becomes one word
    too ("well-\\nknown" -> "wellknown"), which `quote_present` still matches to "well-known"
    through its punctuation-free comparison: accepted, since PDFs break ordinary words far
    more often than compounds, and a kept hyphen would split every one of those.
    """
    text = html.unescape(text)
    text = _SOFT_BREAK.sub("", text).translate(_TYPOGRAPHY)
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TYPOGRAPHY)
    text = _LINE_END_HYPHEN.sub("", text)
    return _WHITESPACE.sub(" ", text).strip()


def _loose(text: str, joiner: str) -> str:
    return _WHITESPACE.sub(" ", _LOOSE_PUNCTUATION.sub(joiner, text)).strip()


def quote_present(quote: str, text: str) -> bool:
    """Whether the page text still holds the quote, however it was retyped.

    Exact after `normalise_text`; failing that, with punctuation removed on both sides,
    once deleted ("U.S." = "US") and once as a space ("well-known" = "well known").
    Decimal points and thousands separators stay, so a figure cannot change unnoticed.
    An empty quote is never present: finding nothing proves nothing.
    """
    needle, haystack = normalise_text(quote), normalise_text(text)
    if _contains(needle, haystack):
        return True
    return any(_contains(_loose(needle, j), _loose(haystack, j)) for j in ("", " "))


def _tokens(text: str) -> list[str]:
    """Words, with what changes on every visit masked: numbers, ids, dates."""
    tokens = []
    for word in _TOKEN.findall(normalise_text(text)):
        has_digit = any(c.isdigit() for c in word)
        if len(word) >= _ID_LENGTH and has_digit and any(c.isalpha() for c in word):
            tokens.append("<id>")
        elif has_digit:
            tokens.append("<n>")
        elif word in _CALENDAR:
            tokens.append("<date>")
        else:
            tokens.append(word)
    return tokens


def _shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    if len(tokens) < _SHINGLE:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i:i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1)}


def similarity(baseline: str, current: str) -> float:
    """How much of the baseline's wording the current main text keeps, from 0 to 1.

    Jaccard similarity of word 3-shingles (sets). For pages of a few thousand words,
    exact shingle sets are cheap and their score reads directly as "share of phrasing
    kept", whereas a 64-bit simhash is built for near-duplicate lookup at web scale and
    is coarse and noisy on one pair of short texts. Numbers, long hex/base64 ids and
    month and weekday names are masked first: a date, a counter, a version or a session
    token changes on every visit and says nothing about whether the page was rewritten.
    Two empty texts are identical (1.0); an empty one against text shares nothing (0.0).
    """
    a, b = _shingles(_tokens(baseline)), _shingles(_tokens(current))
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _entry(sign: str, words: list[str]) -> str:
    entry = f"{sign} {' '.join(words)}"
    return entry if len(entry) <= _DIFF_ENTRY else entry[:_DIFF_ENTRY - 1] + "…"


def word_diff(baseline: str, current: str, limit: int = 10) -> tuple[str, ...]:
    """What changed, word by word, for the report: "- removed words" / "+ added words".

    Words are compared after `normalise_text`, so a retyped quote mark is not a change,
    but shown as written; numbers are not masked, since a changed figure is the news.
    At most `limit` entries of at most 120 characters each. Bounded: the common start and
    end are set aside in one pass, and of the stretch between, at most `_DIFF_WORDS` words a
    side are matched, with difflib's junk heuristic on, so a page of one word repeated
    costs what any page of its length costs.
    """
    old, new = baseline.split(), current.split()
    a, b = [normalise_text(w) for w in old], [normalise_text(w) for w in new]
    start, shortest = 0, min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a_stop, b_stop = min(len(a) - end, start + _DIFF_WORDS), min(len(b) - end, start + _DIFF_WORDS)
    matcher = difflib.SequenceMatcher(None, a[start:a_stop], b[start:b_stop], autojunk=True)
    changes: list[tuple[int, int, int, int]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        i1, i2, j1, j2 = i1 + start, i2 + start, j1 + start, j2 + start
        if changes and i1 - changes[-1][1] < _DIFF_GAP:  # a word or two in common: one change
            changes[-1] = (changes[-1][0], i2, changes[-1][2], j2)
        else:
            changes.append((i1, i2, j1, j2))
    entries: list[str] = []
    for i1, i2, j1, j2 in changes:
        entries += [_entry("-", old[i1:i2])] if i2 > i1 else []
        entries += [_entry("+", new[j1:j2])] if j2 > j1 else []
    return tuple(entries[:limit])
