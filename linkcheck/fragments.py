"""What a URL's #fragment asks of the page: an element, text fragments, a PDF page, or nothing checkable."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote

from .content import normalise_text, quote_present
from .urls import host_of

__all__ = ["Fragment", "TextDirective", "parse", "text_present"]

# Hosts whose line anchors (#L10, #L10-L20, #L10C2-L12C4) are drawn by script after the page loads.
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht", "gitea.com")
_LINE_ANCHOR = re.compile(r"L\d+(?:C\d+)?(?:-L?\d+(?:C\d+)?)?|lines-\d+(?::\d+)?")
_PAGE = re.compile(r"page=(\d+)(?:&.*)?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TextDirective:
    """One `text=[prefix-,]start[,end][,-suffix]` of a text fragment, percent-decoded."""

    start: str
    end: str = ""
    prefix: str = ""
    suffix: str = ""

    def __str__(self) -> str:
        return f"{self.start} … {self.end}" if self.end else self.start


@dataclass(frozen=True, slots=True)
class Fragment:
    """The checks a fragment asks for. `element` is an id or name to find; `texts` are text
    fragments, quotes carried in the URL; `page` a PDF page number; `unchecked` says why a
    fragment is left alone (a route or a line anchor drawn by script)."""

    element: str = ""
    texts: tuple[TextDirective, ...] = ()
    page: int | None = None
    unchecked: str = ""


_NONE = Fragment()


def _directive(value: str) -> TextDirective | None:
    """The spec's `text=` grammar: a trailing `-` marks a prefix, a leading `-` a suffix."""
    parts = value.split(",")
    prefix = unquote(parts.pop(0)[:-1]) if parts and parts[0].endswith("-") and len(parts) > 1 else ""
    suffix = unquote(parts.pop()[1:]) if parts and parts[-1].startswith("-") and len(parts) > 1 else ""
    if not 1 <= len(parts) <= 2 or not parts[0]:
        return None
    start, end = unquote(parts[0]), unquote(parts[1]) if len(parts) == 2 else ""
    return TextDirective(start=start.strip(), end=end.strip(), prefix=prefix.strip(), suffix=suffix.strip())


def parse(fragment: str, url: str = "") -> Fragment:
    """What `#fragment` of `url` asks for. The fragment directive (`:~:`) is never part of the
    element id: `#intro:~:text=x` asks for the element `intro` and the text `x`."""
    return _parse(fragment, url) if fragment else _NONE


@functools.lru_cache(maxsize=1024)  # asked by the comparison and by classify about the same link
def _parse(fragment: str, url: str) -> Fragment:
    element, _, directive = fragment.partition(":~:")
    texts = tuple(d for item in directive.split("&") if item.startswith("text=")
                  if (d := _directive(item[5:])) is not None) if directive else ()
    if element.startswith(("/", "!")):
        return Fragment(texts=texts, unchecked=f"#{element} is a route of a script-driven page")
    if element and _LINE_ANCHOR.fullmatch(element) and host_of(url).removeprefix("www.") in _CODE_HOSTS:
        return Fragment(texts=texts, unchecked=f"#{element} is a line anchor drawn by the code host's script")
    page = _PAGE.fullmatch(element)
    if page:
        return Fragment(texts=texts, page=int(page.group(1)))
    if "=" in element:
        element = ""  # other open parameters (`#zoom=200`, `#search=x`) name no element
    return Fragment(element=element, texts=texts)


def text_present(directive: TextDirective, text: str) -> bool:
    """Whether a page's text holds a text fragment, compared as quotes are: the start (with its
    prefix before it), then the end after it (with its suffix after that)."""
    head = " ".join(filter(None, (directive.prefix, directive.start)))
    tail = " ".join(filter(None, (directive.end or directive.start, directive.suffix)))
    if not quote_present(head, text) or not quote_present(tail, text):
        return False
    if not directive.end:
        return True
    flat = normalise_text(text)
    start, end = normalise_text(directive.start), normalise_text(directive.end)
    first = flat.find(start)
    return first < 0 or flat.rfind(end) < 0 or flat.rfind(end) >= first + len(start)
