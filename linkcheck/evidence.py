"""Pure readings of a fetched page: is it a disguised 404, a bot wall, does it hold the fragment."""
from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from .encoding import charset_param, decode_html
from .markup import without_tags

__all__ = ["Page", "bot_wall", "fragment_checkable", "fragment_present", "is_html", "may_say_not_found", "parse_page",
           "pdf_destinations", "redirected_to_root", "sign_in_wall", "soft_404_phrase"]

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
# Every phrase _NOT_FOUND matches holds one of these words: a title or heading that spells none
# of them says no such phrase.
_NOT_FOUND_WORD = re.compile("404|found|find|locat|availab|exist|requested|looking|missing")
# The letters other than a-z that _NOT_FOUND, ignoring case, reads as theirs (once lower-cased).
_AS_ASCII = str.maketrans({"\u0131": "i", "\u017f": "s"})
# Character references that can spell a letter of those words: any numeric one, and the named
# ones for such letters (fj, the Turkish i's), lower-cased.
_LETTER_REFERENCE = re.compile(r"&(?:#|fjlig;|idot;|imath;|inodot;)")
# The next start or end tag of a title or top heading that stands outside any other tag's `<...>`
# (`<title</h2>` is a start tag of "title<", whose attribute `h2` closes no heading); a `<` not
# followed by a letter, `/`, `!` or `?` is text and opens no tag (`<<title>`). Read with
# possessive quantifiers, so that a page of `<` is not searched from each one to its end; matched
# ignoring ASCII case alone: of the other letters only "\u0130" and the Kelvin sign lower-case to
# ASCII ones, the first is replaced before the scan and the second spells none of these tags.
_TAGS = [re.compile(rf"(?:[^<]++|<(?![A-Za-z/!?])|<(?!/?{name}(?=[ \t\n\r\f/>]|\Z))[^>]*+>?)*+"
                    rf"<(/?){name}(?=[ \t\n\r\f/>]|\Z)", re.IGNORECASE | re.ASCII) for name in ("title", "h1", "h2")]
# The rest of a tag, to the `>` that ends it: not one inside a quoted value. Where a quote is no
# value's, the tag may be taken to end later than the parser ends it: the region read is then
# longer, never shorter.
_TAG_REST = re.compile(r"""(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")
# A page with more title and top-heading tags than this is left to the parse: the scan stays cheap
# enough for the loop, whatever a page holds (a real page has a title and a few dozen headings).
_MOST_TAGS = 512
# Challenge pages of bot-protection services: a person can pass them, a checker cannot.
_BOT_WALL = re.compile(
    r"verify\s+(?:that\s+)?you\s+are\s+(?:a\s+)?human|are\s+you\s+a\s+robot|captcha|cf-chl|"
    r"challenge-platform|attention\s+required|unusual\s+traffic|enable\s+javascript\s+and\s+cookies|"
    r"access\s+denied|bot\s+detection|checking\s+your\s+browser|request\s+blocked",
)  # searched in text made by _folded: eight times as fast as a search that ignores case
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# A sign-in wall by its address: a path segment, a host's first label, or a return-to parameter
# carrying the address to come back to.
_SIGN_IN_PATH = re.compile(
    r"(?:^|/)(?:log-?[io]n|sign-?[io]n|sign_[io]n|signon|sso|cas|auth|authenticate|authori[sz]e|oauth2?|saml2?|"
    r"openid(?:-connect)?|idp|account|myaccount|servicelogin|sessions?/new|users?/(?:log|sign)_?in)(?:[/.;]|$)",
    re.IGNORECASE)
_SIGN_IN_HOST = re.compile(r"^(?:login|signin|sso|auth|accounts?|idp|cas)\.", re.IGNORECASE)
_RETURN_TO = frozenset({"next", "returnurl", "return_url", "returnto", "return_to", "return", "redirect",
                        "redirect_uri", "redirect_url", "redirectto", "service", "continue", "came_from",
                        "goto", "destination", "target", "from", "referer", "back", "url"})
_SAML = frozenset({"samlrequest", "relaystate"})
# Language roots: /en/, /fr-fr/, /pt_BR/, /zh-hans/, for the ISO 639-1 codes (so /ok/ or /go/ is not one).
_LANGUAGE = re.compile(r"/([a-z]{2})(?:[-_][a-z0-9]{2,4})?", re.IGNORECASE)
_ISO_639_1 = frozenset("""
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
    el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is
    it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
    mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
    sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu""".split())
_INDEX = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Page:
    """What the checks need from an HTML page, parsed once."""

    title: str
    headings: tuple[str, ...]
    anchors: frozenset[str]
    sign_in_form: bool = False  # a password form is what the page is for (looked for only after a redirect)


@functools.lru_cache(maxsize=256)  # asked several times of every answer, and a run sees a few types
def is_html(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


def parse_page(body: bytes, content_type: str = "", *, anchors: bool = True, sign_in: bool = False) -> Page | None:
    """Title, top headings and (when `anchors`) every id/name of an HTML body; None when it does
    not parse. `sign_in` also asks whether the page is a sign-in form (worth asking after a
    redirect only)."""
    from .pagetree import parse  # lxml loads with the first page parsed: a run that parses none never pays for it

    return parse(body, charset_param(content_type), anchors=anchors, sign_in=sign_in)


def may_say_not_found(body: bytes, content_type: str = "") -> bool:
    """False when no title or top heading of the HTML body can say a not-found phrase: none holds a
    word each such phrase holds, in the text as decoded for the parse, tags skipped (a tag may split
    a word in the source and not in the text: `<b>4</b>04`) and as written (the parser reads a
    title's tags as its text). A scan far cheaper than the parse: a page that cannot be a soft 404
    is not parsed for one. It reads each character at most once for each of the three names,
    however the page repeats, nests or leaves open its tags; past `_MOST_TAGS` it says maybe."""
    # "İ" is the one letter whose lower case is longer: replaced first, a region lower-cased alone
    # reads as it would in the whole page lower-cased. Only the regions are: a whole page of
    # letters other than ASCII takes many times as long to lower-case as to scan for tags.
    text = decode_html(body, charset_param(content_type)).replace("\u0130", "i")
    return any(region is None or _says_not_found(text[region[0]:region[1]].lower()) for region in _regions(text))


def _regions(text: str) -> Iterator[tuple[int, int] | None]:
    """(start, end) of each outermost title or top heading: from its start tag to the end tag that
    closes it, those of its name opened inside it counted, or to the end of the page when none
    does. A region holds every element of its name nested in it. None past `_MOST_TAGS` tags."""
    counted = 0
    for tags in _TAGS:
        at = depth = start = 0
        while (tag := tags.match(text, at)) is not None:
            counted += 1
            if counted > _MOST_TAGS:
                yield None
                return
            if not tag[1]:
                start, depth = (tag.end(), 1) if depth == 0 else (start, depth + 1)
            elif depth:  # an end tag with none open closes nothing
                depth -= 1
                if depth == 0:
                    yield start, tag.start(1) - 1  # the `<` of the end tag
            rest = _TAG_REST.match(text, tag.end())  # an end tag inside this tag closes nothing
            if rest is None:
                break
            at = rest.end()
        if depth:
            yield start, len(text)


def _says_not_found(region: str) -> bool:
    if _LETTER_REFERENCE.search(region):
        return True
    if "<" in region and _holds_word(without_tags(region)):
        return True
    return _holds_word(region)


def _holds_word(words: str) -> bool:
    return _NOT_FOUND_WORD.search(words if words.isascii() else words.translate(_AS_ASCII)) is not None


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
    return bool(_BOT_WALL.search(_folded(decode_html(body[:65536]))))


def _folded(text: str) -> str:
    """`text` lower-cased, and the letters other than A-Z that match a-z when case is ignored made
    those letters: a pattern in lower case matches it as it would match `text` ignoring case (the
    Kelvin sign lower-cases to k by itself; "\u0130" would lower-case to two characters)."""
    text = text.replace("\u0130", "i").lower()
    return text if text.isascii() else text.translate(_AS_ASCII)


def _same_page(cited: str, final: str) -> bool:
    """The redirect only respelled the address: a trailing slash, case, percent-encoding, a
    dropped `index.html`, or http to https."""
    a, b = urlsplit(cited), urlsplit(final)
    return ((a.hostname or "").removeprefix("www.") == (b.hostname or "").removeprefix("www.")
            and _page_path(a.path) == _page_path(b.path) and unquote(a.query) == unquote(b.query))


def _page_path(path: str) -> str:
    return _INDEX.sub("/", unquote(path)).rstrip("/").casefold()


def _language_root(path: str) -> bool:
    match = _LANGUAGE.fullmatch(_INDEX.sub("/", path).rstrip("/"))
    return match is not None and match.group(1).lower() in _ISO_639_1


def redirected_to_root(cited: str, final: str) -> bool:
    """A deep link that redirects to a site's home page: the page it named is gone. Not a page
    that only moved to its own other spelling (`/en` to `/en/`), nor a site root or a language
    code sent to its language's home (`/fr` to `/fr-fr/`)."""
    cited_parts, final_parts = urlsplit(cited), urlsplit(final)
    cited_path = cited_parts.path.rstrip("/")
    if not cited_path or final_parts.query or _same_page(cited, final):
        return False
    final_path = _INDEX.sub("/", final_parts.path).rstrip("/").lower()
    if _language_root(final_parts.path):
        return not _language_root(cited_parts.path)
    return final_path in ("", "/home", "/default.aspx")


def sign_in_wall(cited: str, final: str, page: Page | None) -> bool:
    """A redirect ended on a sign-in page: by its address (a login path or host, a return-to
    parameter pointing back, SAML), or by what it is (a password form). Not when the cited
    address was itself a sign-in page."""
    if _sign_in_address(cited):
        return False
    return _sign_in_address(final, cited) or (page is not None and page.sign_in_form)


def _sign_in_address(url: str, cited: str = "") -> bool:
    parts = urlsplit(url)
    if _SIGN_IN_PATH.search(parts.path) or _SIGN_IN_HOST.match(parts.hostname or ""):
        return True
    for key, value in parse_qsl(parts.query):
        key = key.lower()
        if key in _SAML:
            return True
        if cited and key in _RETURN_TO and value.startswith(("/", "http:", "https:")) and (
                value == cited or urlsplit(value).path == urlsplit(cited).path):
            return True
    return False


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


def pdf_destinations(body: bytes) -> frozenset[str] | None:
    """A PDF's named destinations, which `report.pdf#name` opens at in a browser's viewer;
    None when the file cannot be opened (damaged, or encrypted with a password)."""
    try:
        from pypdf import PdfReader  # on the first PDF fragment: most runs never see one

        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        return frozenset(str(name).lstrip("/") for name in reader.named_destinations)
    except Exception:  # pypdf signals bad input with many exception types
        return None
