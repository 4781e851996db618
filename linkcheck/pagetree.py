"""The parse behind `evidence.parse_page`: a page's title, top headings, anchors and sign-in form,
read with lxml. Imported with the first page parsed, so that a run that parses none never loads lxml."""
from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from .evidence import Page
from .extract.html import parse_html

__all__ = ["parse"]

_SIGN_IN_WORDS = re.compile(
    r"\b(?:sign(?:ing)?[\s-]?in|log(?:ging)?[\s-]?in|log[\s-]?on|sign[\s-]?on|single sign|authenticat\w*|"
    r"password|anmelden|anmeldung|connexion|se connecter|iniciar sesi[oó]n|accedi|inloggen)\b", re.IGNORECASE)
_FEW_WORDS = 120

# Every fetched page that is parsed passes through here: the queries are compiled once.
_TITLE = etree.XPath("//title//text()")
_HEADINGS = etree.XPath("//h1 | //h2")
_ANCHORS = etree.XPath("//@id | //*[@name]/@name")
_PASSWORD = etree.XPath("//input[translate(@type, 'PASWORD', 'pasword') = 'password']")
_BODY_TEXT = etree.XPath("normalize-space(//body)")


def parse(body: bytes, charset: str | None, *, anchors: bool, sign_in: bool) -> Page | None:
    root = parse_html(body, charset)
    if root is None:
        return None
    title = _squash(" ".join(_strings(_TITLE, root)))
    headings = tuple(_squash(h.text_content()) for h in _nodes(_HEADINGS, root)[:4])
    return Page(title=title, headings=headings, anchors=frozenset(_strings(_ANCHORS, root)) if anchors else frozenset(),
                sign_in_form=sign_in and _sign_in_form(root, title, headings))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _sign_in_form(root: HtmlElement, title: str, headings: tuple[str, ...]) -> bool:
    """A password field that is the point of the page: its title or top headings say "sign in", or
    there is little else on it. A "Sign in" link, or a small login box beside an article, is not."""
    fields = _nodes(_PASSWORD, root)
    if not fields:
        return False
    if _SIGN_IN_WORDS.search(" ".join((title, *headings))):
        return True
    return len(str(_BODY_TEXT(root)).split()) < _FEW_WORDS


def _strings(query: etree.XPath, root: HtmlElement) -> list[str]:
    found = query(root)
    return [str(item) for item in found] if isinstance(found, list) else []


def _nodes(query: etree.XPath, root: HtmlElement) -> list[HtmlElement]:
    found = query(root)
    return [item for item in found if isinstance(item, HtmlElement)] if isinstance(found, list) else []
