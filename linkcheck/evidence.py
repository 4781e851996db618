"""Pure readings of a fetched page: is it a disguised 404, a bot wall, does it hold the fragment."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from .encoding import charset_param, decode_html
from .extract.html import parse_html

__all__ = ["Page", "bot_wall", "fragment_checkable", "fragment_present", "is_html", "parse_page",
           "redirected_to_root",
           "soft_404_phrase"]

# Said in a title or top heading, these mean the server answered 200 for a page that is gone.
_NOT_FOUND = re.compile(
    r"^\s*404\b|\b404\s*(?:error|[-–—|:])|\berror\s*(?:code\s*)?404\b"  # not "Section 404 of the Act"
    r"|\bnot\s+found\b"
    r"|\b(?:could\s*n[o'’]?t|can\s*n[o'’]?t|can\s+not|unable\s+to)\s+(?:be\s+)?(?:find|found|locate)\b"
    r"|\bcannot\s+be\s+(?:found|located)\b"
    r"|\bno\s+longer\s+(?:available|exists?)\b"
    r"|\b(?:does\s+not|doesn[’']t)\s+exist\b"
    r"|\bpage\s+(?:you\s+(?:requested|are\s+looking\s+for)|is\s+missing|unavailable)\b"
    r"|\bnothing\s+(?:was\s+)?found\b",
    re.IGNORECASE,
)
# Challenge pages of bot-protection services: a person can pass them, a checker cannot.
_BOT_WALL = re.compile(
    r"verify\s+(?:that\s+)?you\s+are\s+(?:a\s+)?human|are\s+you\s+a\s+robot|captcha|cf-chl|"
    r"challenge-platform|attention\s+required|unusual\s+traffic|enable\s+javascript\s+and\s+cookies|"
    r"access\s+denied|bot\s+detection|checking\s+your\s+browser|request\s+blocked",
    re.IGNORECASE,
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class Page:
    """What the checks need from an HTML page, parsed once."""

    title: str
    headings: tuple[str, ...]
    anchors: frozenset[str]


def is_html(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


def _squash(text: str) -> str:
    return " ".join(text.split())


_TITLE = etree.XPath("//title//text()")
_HEADINGS = etree.XPath("//h1 | //h2")
_ANCHORS = etree.XPath("//@id | //*[@name]/@name")


def parse_page(body: bytes, content_type: str = "", *, anchors: bool = True) -> Page | None:
    """Title, top headings and (when `anchors`) every id/name of an HTML body; None when it does
    not parse. Every fetched page passes through here, so the queries are compiled once."""
    root = parse_html(body, charset_param(content_type))
    if root is None:
        return None
    title = _squash(" ".join(_strings(_TITLE, root)))
    headings = tuple(_squash(h.text_content()) for h in _nodes(_HEADINGS, root)[:4])
    return Page(title=title, headings=headings, anchors=frozenset(_strings(_ANCHORS, root)) if anchors else frozenset())


def _strings(query: etree.XPath, root: HtmlElement) -> list[str]:
    found = query(root)
    return [str(item) for item in found] if isinstance(found, list) else []


def _nodes(query: etree.XPath, root: HtmlElement) -> list[HtmlElement]:
    found = query(root)
    return [item for item in found if isinstance(item, HtmlElement)] if isinstance(found, list) else []


def soft_404_phrase(page: Page) -> str | None:
    """The not-found phrase a 200 page shows in its title or top headings, if any."""
    for text in (page.title, *page.headings):
        if _NOT_FOUND.search(text):
            return text[:120]
    return None


def bot_wall(body: bytes, headers: dict[str, str]) -> bool:
    """True when a 403/429 answer is a bot-protection challenge rather than a plain refusal."""
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    return bool(_BOT_WALL.search(decode_html(body[:65536])))


def redirected_to_root(cited: str, final: str) -> bool:
    """A deep link that redirects to a site's home page: the page it named is gone."""
    cited_path = urlsplit(cited).path.rstrip("/")
    final_parts = urlsplit(final)
    final_path = final_parts.path.rstrip("/").lower()
    if not cited_path or final_parts.query:
        return False
    return final_path in ("", "/index.html", "/index.htm", "/index.php", "/home", "/en", "/default.aspx")


def fragment_checkable(fragment: str) -> bool:
    """Fragments that name an element; routes (`#/x`, `#!x`), text fragments and
    PDF open parameters (`#page=3`) are not element ids and are not checked, nor are an
    empty fragment and `#top`, which the HTML standard sends to the top of any page."""
    return (bool(fragment) and not fragment.startswith(("/", "!", ":~:")) and "=" not in fragment
            and fragment.lower() != "top")


# GitHub renders a README's headings as id="user-content-<slug>" and its script scrolls
# `#<slug>` there: a working `github.com/owner/repo#section` must be found.
_PREFIXES = ("", "user-content-")


def fragment_present(page: Page, fragment: str) -> bool:
    names = {fragment, unquote(fragment)}
    return any(prefix + name in page.anchors for prefix in _PREFIXES for name in names)
