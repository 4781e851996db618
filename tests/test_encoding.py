"""Encodings as browsers read them: real bodies served with labels, BOMs and meta tags, and the sniffing rules."""
from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from linkcheck import encoding
from linkcheck.config import Config, Settings
from linkcheck.extract import extract_file
from linkcheck.model import Reference
from linkcheck.pipeline import run_check
from tests.conftest import InstantClock

FAST = Settings(timeout=2.0, retries=0, allow_private=True)
QUOTE = "Le café coûte 5 € — « déjà » vu, un chef-d’œuvre"


def _page(head: str = "", text: str = QUOTE) -> str:
    return f"<!doctype html><html><head>{head}<title>Prix</title></head><body><h1>Prix</h1><p>{text}</p></body></html>"


# name -> (body bytes, Content-Type): each a way real servers label their bytes.
BODIES: dict[str, tuple[bytes, str]] = {
    # Latin-1 and ASCII labels mean windows-1252, where 0x80 is the euro sign and 0x97 an em dash.
    "latin1-label": (_page().encode("cp1252"), "text/html; charset=ISO-8859-1"),
    "ascii-label": (_page().encode("cp1252"), "text/html; charset=us-ascii"),
    "latin1-quoted": (_page().encode("cp1252"), 'text/html; charset="latin1"'),
    # A BOM wins over the HTTP charset and over the page's own declaration.
    "utf8-bom-over-header": (codecs.BOM_UTF8 + _page().encode("utf-8"), "text/html; charset=windows-1252"),
    "utf16le-bom-over-meta": (codecs.BOM_UTF16_LE + _page('<meta charset="utf-8">').encode("utf-16-le"),
                              "text/html"),
    "utf16be-bom": (codecs.BOM_UTF16_BE + _page().encode("utf-16-be"), "text/html; charset=iso-8859-1"),
    # The HTTP charset wins over <meta>.
    "header-over-meta": (_page('<meta charset="windows-1251">').encode("utf-8"), "text/html; charset=utf-8"),
    # No HTTP charset: the page's own declaration, found as the prescan finds it.
    "meta-charset": (_page('<meta charset="windows-1252">').encode("cp1252"), "text/html"),
    "meta-latin1": (_page("<meta charset=iso-8859-1>").encode("cp1252"), "text/html"),
    "meta-http-equiv": (_page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">')
                        .encode("cp1252"), "text/html"),
    "meta-in-comment-skipped": (_page('<!-- <meta charset="koi8-r"> --><meta charset="utf-8">').encode("utf-8"),
                                "text/html"),
    "charset-in-attribute-skipped": (_page('<link title="<meta charset=koi8-r>" rel="x"><meta charset=utf-8>')
                                     .encode("utf-8"), "text/html"),
    "content-without-pragma-ignored": (_page('<meta content="text/html; charset=koi8-r">').encode("utf-8"),
                                       "text/html"),
    # Nothing declared: valid UTF-8 is UTF-8, anything else windows-1252.
    "undeclared-utf8": (_page().encode("utf-8"), "text/html"),
    "undeclared-legacy": (_page().encode("cp1252"), "text/html"),
    # Plain text follows the same labels.
    "text-latin1": (QUOTE.encode("cp1252"), "text/plain; charset=iso-8859-1"),
    "text-utf8-bom": (codecs.BOM_UTF8 + QUOTE.encode("utf-8"), "text/plain; charset=iso-8859-1"),
}


# Not served to the test above: a label that misreads the bytes.
MISLABELLED = {"koi8-label": (_page().encode("cp1252"), "text/html; charset=koi8-r")}


async def _serve(request: web.Request) -> web.Response:
    body, content_type = {**BODIES, **MISLABELLED}[request.match_info["name"]]
    return web.Response(body=body, headers={"Content-Type": content_type})


@pytest.fixture
async def labelled() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{name}", _serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_quotes_found_on_bodies_decoded_as_browsers_do(labelled: str, tmp_path: Path,
                                                             clock: InstantClock) -> None:
    """Each body holds the quote once decoded as a browser would; a wrong decoding loses the euro
    sign, the dash or the accents, and the check would say `changed/quote_missing`."""
    doc = tmp_path / "doc.md"
    doc.write_text("".join(f"[{name}]({labelled}/{name})\n" for name in BODIES), encoding="utf-8")
    refs = tuple(Reference(id=name, url=f"{labelled}/{name}", quote=QUOTE) for name in BODIES)
    config = Config(path=None, documents=(doc,), settings=FAST, references=refs)
    report = await run_check(config, settings=FAST, clock=clock)
    verdicts = {r.reference_id: (str(r.verdict), str(r.reason), r.detail) for r in report.results}
    assert {name: v[:2] for name, v in verdicts.items()} == dict.fromkeys(BODIES, ("ok", "ok")), verdicts


async def test_a_body_mislabelled_by_its_server_reads_as_labelled(labelled: str, tmp_path: Path,
                                                                  clock: InstantClock) -> None:
    """Windows-1252 bytes labelled KOI8-R read as KOI8-R (the label is obeyed, as browsers obey
    it), so the quote is not found: the test above can fail."""
    url = f"{labelled}/koi8-label"
    doc = tmp_path / "doc.md"
    doc.write_text(f"[x]({url})\n", encoding="utf-8")
    ref = Reference(id="x", url=url, quote=QUOTE)
    report = await run_check(Config(path=None, documents=(doc,), settings=FAST, references=(ref,)),
                             settings=FAST, clock=clock)
    assert [(r.verdict, r.reason) for r in report.results] == [("changed", "quote_missing")]


@pytest.mark.parametrize("label,name", [
    ("ISO-8859-1", "windows-1252"), ("latin1", "windows-1252"), ("ascii", "windows-1252"),
    ("us-ascii", "windows-1252"), (" Windows-1252 ", "windows-1252"), ("utf8", "utf-8"),
    ("x-sjis", "shift_jis"), ("koi8-r", "koi8-r"), ("no-such-charset", None), ("", None),
])
def test_labels_mean_what_they_mean_to_browsers(label: str, name: str | None) -> None:
    assert encoding.lookup(label) == name


@pytest.mark.parametrize("head,expected", [
    (b'<meta charset="koi8-r">', "koi8-r"),
    (b"<META CHARSET=KOI8-R>", "koi8-r"),
    (b'<meta http-equiv="content-type" content="text/html; charset=\'koi8-r\'">', "koi8-r"),
    (b'<meta content="text/html;charset=koi8-r" http-equiv=Content-Type>', "koi8-r"),
    (b'<meta content="text/html; charset=koi8-r">', None),           # no pragma: ignored
    (b'<meta charset="utf-16le">', "utf-8"),                          # ASCII bytes cannot be UTF-16
    (b'<meta charset="x-user-defined">', "windows-1252"),
    (b'<!-- <meta charset="koi8-r"> -->', None),
    (b'<!--> <meta charset="koi8-r">', "koi8-r"),                     # `<!-->` is a whole comment
    (b'<a title="<meta charset=koi8-r>">', None),
    (b"<a title='<meta charset=koi8-r>'>", None),
    (b"<a x=\"'\" y='<meta charset=koi8-r>'>", None),
    (b"<title>It's ours</title><meta charset=\"koi8-r\">", "koi8-r"),
    (b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><meta charset="utf-8">', "koi8-r"),
    (b'<meta charset="bogus"><meta charset="koi8-r">', "koi8-r"),     # an unknown label is passed over
    (b'<meta charset="koi8-r"', None),                                # cut before its `>`
])
def test_prescan_finds_the_declaration_a_browser_would(head: bytes, expected: str | None) -> None:
    assert encoding.prescan(b"<!doctype html><html><head>" + head) == expected


def test_an_xml_declaration_counts_only_at_the_very_start() -> None:
    assert encoding.prescan(b'<?xml version="1.0" encoding="koi8-r"?><html>') == "koi8-r"
    assert encoding.prescan(b'<html><?xml version="1.0" encoding="koi8-r"?>') is None


def test_prescan_reads_only_the_first_1024_bytes() -> None:
    late = b"<!doctype html><html><head><title>" + b"x" * 1100 + b'</title><meta charset="koi8-r">'
    assert encoding.sniff_html(late) == ("utf-8", 0)
    assert encoding.sniff_html(late.replace(b"x" * 1100, b"x" * 900)) == ("koi8-r", 0)


def test_a_utf8_character_cut_at_the_size_cap_is_still_utf8() -> None:
    body = ("é" * 100).encode("utf-8")[:-1]
    assert encoding.sniff_html(body) == ("utf-8", 0)
    assert encoding.decode_html(body).startswith("é" * 99)


def test_undefined_windows_1252_bytes_are_c1_controls_not_errors() -> None:
    assert encoding.decode(b"\x80\x81\x9d", "windows-1252") == "€\x81\x9d"
    every = bytes(range(256))
    assert encoding.decode(every, "windows-1252") == "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else every[b:b + 1].decode("cp1252") for b in range(256))
    for name in ("linkcheck-windows-1252", "windows-1252"):  # no codec error handler added to the process
        with pytest.raises(LookupError):
            codecs.lookup_error(name)


@pytest.mark.parametrize("name,bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                      ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE),
                                      ("utf-32-be", codecs.BOM_UTF32_BE)])
def test_local_documents_with_a_bom_are_read(tmp_path: Path, name: str, bom: bytes) -> None:
    doc = tmp_path / "notes.md"
    doc.write_bytes(bom + "Voir [la note — été](https://data.example.org/été)\n".encode(name))
    [citation] = extract_file(doc, "notes.md")
    assert (citation.text, citation.url, citation.line) == ("la note — été", "https://data.example.org/été", 1)


def test_local_html_declaring_latin1_is_windows_1252(tmp_path: Path) -> None:
    doc = tmp_path / "page.html"
    doc.write_bytes('<html><head><meta charset="iso-8859-1"></head><body><a href="https://a.example.org/">5 € — x</a>'
                    .encode("cp1252"))
    [citation] = extract_file(doc, "page.html")
    assert citation.text == "5 € — x"


def test_charset_parameter_of_a_content_type() -> None:
    assert encoding.charset_param('text/html; Charset="UTF-8"') == "UTF-8"
    assert encoding.charset_param("text/html;charset=iso-8859-1;q=1") == "iso-8859-1"
    assert encoding.charset_param("text/html; format=charset=x") is None
    assert encoding.charset_param("text/html") is None
