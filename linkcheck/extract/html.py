"""Find citations in HTML: link targets and quotation sources, exactly as written, with their lines."""
from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from linkcheck.encoding import decode_html
from linkcheck.model import Citation
from linkcheck.urls import is_mangled

__all__ = ["extract_html", "parse_html", "srcset_urls"]

_QUOTE_TEXT_LIMIT = 80
_ABSOLUTE_HTTP = re.compile(r"^https?://[^/\s]", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WHITESPACE = re.compile(r"\s+")
# lxml refuses str input that still carries an XML encoding declaration.
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def parse_html(data: bytes, charset: str | None = None) -> lxml.html.HtmlElement | None:
    """An HTML document (a file's or a server's bytes, `charset` from its Content-Type) as a tree;
    None when nothing parses. Decoded here, as a browser would, rather than by libxml2 (whose
    default is Latin-1), so the result does not depend on the parser build."""
    return _parse(decode_html(data, charset))


def _parse(text: str) -> lxml.html.HtmlElement | None:
    # Keep the declaration's line breaks so sourceline still matches the file.
    text = _XML_DECLARATION.sub(lambda m: "\n" * m.group().count("\n"), text)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return None  # nothing parseable (e.g. only a comment): no citations


def extract_html(text: str | bytes, document: str, base_url: str | None = None) -> list[Citation]:
    """Citations in an HTML document or fragment, in document order.

    Collects `a[href]` (anchor text = its collapsed text), `blockquote[cite]` and `q[cite]`
    (text = the first 80 characters of the quotation), and what the page embeds: `img[src]`,
    every `srcset` candidate of `img` and `picture > source`, `video[poster]`, and the `src`
    of `audio`, `video` and their `source` (text = the image's alt text). Placeholders such
    as `#`, "" and `javascript:` are kept as written, because reporting them is the point. A
    relative link is resolved as a browser would: against `<base href>`, else the page's own
    URL (`base_url`, or its canonical link); without either it stays relative, a local file.
    """
    if isinstance(text, bytes):
        text = decode_html(text)
    root = _parse(text)
    if root is None:
        return []
    base = _document_base(root, base_url)
    citations: list[Citation] = []
    for element in root.iter(*_CITING):
        line = element.sourceline
        if element.tag in _EMBEDDING:
            label = _collapse(element.get("alt") or "")
            citations.extend(Citation(document=document, line=line, text=label, url=_resolve(url, base), kind=kind)
                             for url, kind in _embedded(element))
            continue
        if element.tag == "a":
            url = element.get("href")
            label = _collapse(element.text_content())
        else:
            url = element.get("cite")
            label = _collapse(element.text_content())[:_QUOTE_TEXT_LIMIT]
        if url is None:
            continue
        citations.append(Citation(document=document, line=line, text=label, url=_resolve(url, base)))
    return citations


_EMBEDDING = ("img", "source", "audio", "video")
_CITING = ("a", "blockquote", "q", *_EMBEDDING)
_SRCSET_SPACE = " \t\n\r\f"


def _embedded(element: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(URL as written, kind) of every resource one element embeds, each URL once."""
    tag = element.tag
    # libxml2 does not know `source` is void: a second one nests in the first. Its media
    # element is the nearest audio, video or picture around it.
    holder = next(element.iterancestors("audio", "video", "picture"), None) if tag == "source" else None
    media = holder.tag if holder is not None and holder.tag != "picture" else tag
    found: list[tuple[str, str]] = []
    if tag in ("img", "source"):
        found.extend((url, "image") for url in srcset_urls(element.get("srcset") or ""))
    if tag == "video" and element.get("poster") is not None:
        found.append((element.get("poster") or "", "image"))
    src = element.get("src")
    if src is not None and src.strip():
        found.insert(0, (src, "image" if media in ("img", "source") else media))
    # An inline `data:` image is part of the page: nothing to reach.
    return [item for item in dict.fromkeys(found) if not item[0].lstrip()[:5].lower() == "data:"]


def srcset_urls(value: str) -> list[str]:
    """The candidate URLs of a `srcset`, split as the HTML standard's parser splits them: a
    URL runs to whitespace (trailing commas end it), descriptors run to a comma outside
    parentheses."""
    urls: list[str] = []
    pos, end = 0, len(value)
    while True:
        while pos < end and (value[pos] in _SRCSET_SPACE or value[pos] == ","):
            pos += 1
        if pos >= end:
            return urls
        start = pos
        while pos < end and value[pos] not in _SRCSET_SPACE:
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = False
            while pos < end:
                char = value[pos]
                pos += 1
                if char == "(":
                    depth = True
                elif char == ")":
                    depth = False
                elif char == "," and not depth:
                    break
        if url:
            urls.append(url)


def _absolute(url: str | None) -> str | None:
    url = (url or "").strip()
    return url if _ABSOLUTE_HTTP.match(url) else None


def _document_base(root: lxml.html.HtmlElement, own_url: str | None) -> str | None:
    """What relative links are relative to: <base href> (itself resolved against the page's
    own URL), else the page's own URL as given or as its canonical link declares."""
    own = _absolute(own_url) or next((u for u in (_absolute(h) for h in root.xpath(
        "//link[translate(@rel, 'CANONICAL', 'canonical')='canonical']/@href | "
        "//meta[@property='og:url']/@content")) if u), None)
    declared = next(iter(root.xpath("//base/@href")), None)
    if declared is not None and declared.strip():
        return urljoin(own, declared.strip()) if own else _absolute(declared)
    return own


def _resolve(url: str, base: str | None) -> str:
    """An author's relative link made absolute; placeholders, in-page anchors and URLs with a
    scheme stay exactly as written."""
    stripped = url.strip()
    if base is None and stripped.startswith("//") and len(stripped) > 2 and stripped[2] != "/":
        return "https:" + stripped  # protocol-relative in a saved page: the web, not this disk
    if (base is None or not stripped or stripped.startswith("#") or _HAS_SCHEME.match(stripped)
            or is_mangled(stripped)):
        return url
    return urljoin(base, stripped)
