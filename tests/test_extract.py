"""The extraction stage: every format yields the citations as written, where they are written."""
from __future__ import annotations

import io
import pathlib

import docx
import pytest
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from lxml import etree
from reportlab.pdfgen import canvas

from linkcheck.errors import InputError
from linkcheck.extract import SUPPORTED_SUFFIXES, extract_file, find_documents
from linkcheck.extract.docx import extract_docx
from linkcheck.extract.html import extract_html
from linkcheck.extract.markdown import extract_markdown
from linkcheck.extract.pdf import extract_pdf
from linkcheck.extract.text import extract_text, find_bare_urls
from linkcheck.model import Citation

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUBMISSION = ROOT / "submissions" / "ijm-integrated-review.md"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def found(citations: list[Citation]) -> list[tuple[int | None, str, str]]:
    return [(c.line, c.text, c.url) for c in citations]


# --- the shipped submission -------------------------------------------------------------

def test_submission_placeholders_and_contact_links() -> None:
    citations = extract_file(SUBMISSION, "ijm-integrated-review.md")
    assert found(citations) == [
        (5, "IJM", "#"),
        (17, "World Health Organisation", "#"),
        (17, "UN Trust Fund to End Violence Against Women", "#"),
        (17, "UNICEF", "#"),
        (21, "National Crime Agency", "#"),
        (29, "livelihoods and quality of life", "#"),
        (33, "communities may be destabilised", "#"),
        (39, "49 million", "#"),
        (45, "100,000 victims", "#"),
        (45, "40 million victims", "#"),
        (53, "77% of British businesses", "#"),
        (73, "contact@IJMUK.org", "mailto:contact@IJMUK.org"),
        (75, "IJMUK.org", "http://IJMUK.org"),
    ]
    assert {c.document for c in citations} == {"ijm-integrated-review.md"}
    lines = SUBMISSION.read_text(encoding="utf-8").split("\n")
    for citation in citations:  # each line really holds the link it is credited with
        assert f"[{citation.text}]({citation.url})" in lines[citation.line - 1]


# --- Markdown edge cases ----------------------------------------------------------------

MARKDOWN_CASES = {
    "reference-style": ("See [the report][r].\n\n[r]: https://ref.org/report",
                        [(1, "the report", "https://ref.org/report")]),
    "autolink": ("Go to <https://auto.org/x>.", [(1, "https://auto.org/x", "https://auto.org/x")]),
    "bare-trailing-dot": ("see https://a.org/x.", [(1, "https://a.org/x", "https://a.org/x")]),
    "bare-in-parens": ("(https://a.org/x)", [(1, "https://a.org/x", "https://a.org/x")]),
    "bare-trailing-comma": ("https://a.org/x, then more", [(1, "https://a.org/x", "https://a.org/x")]),
    "wikipedia-parens": ("See https://en.wikipedia.org/wiki/Foo_(bar).",
                         [(1, "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)")]),
    "www-as-written": ("visit www.example.org/page.", [(1, "www.example.org/page", "www.example.org/page")]),
    "footnote-link": ("Claim[^1].\n\n[^1]: Source: [ONS](https://ons.gov.uk/t).", [(3, "ONS", "https://ons.gov.uk/t")]),
    "inline-footnote": ("Claim^[see\n[ONS](https://ons.gov.uk/t)] and [x](https://x.org)",
                        [(2, "ONS", "https://ons.gov.uk/t"), (2, "x", "https://x.org")]),
    "image-embedded": ("![chart](https://img.org/c.png)", [(1, "chart", "https://img.org/c.png")]),
    "linked-image-uses-alt": ("[![badge](https://img.org/b.png)](https://ci.org)",
                              [(1, "badge", "https://ci.org"), (1, "badge", "https://img.org/b.png")]),
    "reference-image": ("Logo:\n![the\nlogo][lg]\n\n[lg]: https://img.org/l.svg", [(3, "the logo", "https://img.org/l.svg")]),
    "bare-mailto": ("Write to mailto:ed@journal.org. Not ed@journal.org.",
                    [(1, "mailto:ed@journal.org", "mailto:ed@journal.org")]),
    "code-span-skipped": ("Use `https://code.org/x` and `[a](https://b.org)`.", []),
    "code-block-skipped": ("```\nhttps://fenced.org\n```\n\n    https://indented.org", []),
    "empty-target": ("[citation needed]()", [(1, "citation needed", "")]),
    "hash-placeholder": ("[IJM](#)", [(1, "IJM", "#")]),
    "about-blank": ("[x](about:blank)", [(1, "x", "about:blank")]),
    "javascript": ("[x](javascript:void(0))", [(1, "x", "javascript:void(0)")]),
    "malformed-kept-raw": ("[stats](https//stats-office/tables)", [(1, "stats", "https//stats-office/tables")]),
    "non-ascii-as-written": ("[INE](https://ine.es/estadísticas/año)", [(1, "INE", "https://ine.es/estadísticas/año")]),
    "percent-encoding-as-written": ("[c](https://a.org/caf%C3%A9)", [(1, "c", "https://a.org/caf%C3%A9")]),
    "inline-html-anchor": ('Read <a href="https://inline.org/p">the\npage</a> now [n](https://n.org)',
                           [(1, "the page", "https://inline.org/p"), (2, "n", "https://n.org")]),
    "html-block-anchor": ('text\n\n<div>\n<p>\n<a href="https://blk.org">blk</a>\n</div>', [(5, "blk", "https://blk.org")]),
    "bare-email-not-a-citation": ("write to me@x.org or example.org", []),
    "mailto-link": ("[me](mailto:me@x.org) <you@x.org>",
                    [(1, "me", "mailto:me@x.org"), (1, "you@x.org", "mailto:you@x.org")]),
    "line-per-link": ("first line\nsecond [two](https://two.org)\nthird https://three.org",
                      [(2, "two", "https://two.org"), (3, "https://three.org", "https://three.org")]),
    "wrapped-code-span": ("a `code\nspan` then [l](https://l.org)", [(2, "l", "https://l.org")]),
    "wrapped-link-text": ("[multi\nline](https://ml.org) [b](https://b.org)",
                          [(1, "multi line", "https://ml.org"), (2, "b", "https://b.org")]),
    "list-and-quote": ("- item\n- see [x](https://x.org)\n\n> quoted https://q.org",
                       [(2, "x", "https://x.org"), (4, "https://q.org", "https://q.org")]),
    "crlf-lines": ("one\r\ntwo [t](https://t.org)\r\n", [(2, "t", "https://t.org")]),
}


@pytest.mark.parametrize(("source", "expected"), MARKDOWN_CASES.values(), ids=MARKDOWN_CASES.keys())
def test_markdown_edge_cases(source: str, expected: list[tuple[int, str, str]]) -> None:
    assert found(extract_markdown(source, "doc.md")) == expected


@pytest.mark.parametrize("sentence", [
    "see https://a.org/x.", "(https://a.org/x)", "https://a.org/x, then", "go to https://a.org/x!",
    "See https://en.wikipedia.org/wiki/Foo_(bar).", '"https://a.org/q?a=1&b=2";', "visit www.example.org/page.",
])
def test_bare_urls_end_where_text_and_markdown_agree(sentence: str) -> None:
    from_text = [url for _, url in find_bare_urls(sentence)]
    assert len(from_text) == 1
    assert [c.url for c in extract_markdown(sentence, "d")] == from_text
    assert [c.url for c in extract_text(sentence, "d")] == from_text


# --- plain text and HTML ------------------------------------------------------------------

def test_text_bare_urls_with_lines() -> None:
    text = "Intro\nData: https://ons.gov.uk/a?x=1. And ftp://files.org/f.csv\n\nwww.who.int/r; not me@x.org nor //x.org"
    assert found(extract_text(text, "notes.txt")) == [
        (2, "https://ons.gov.uk/a?x=1", "https://ons.gov.uk/a?x=1"),
        (2, "ftp://files.org/f.csv", "ftp://files.org/f.csv"),
        (4, "www.who.int/r", "www.who.int/r"),
    ]


HTML_PAGE = """<!DOCTYPE html>
<html><head><base href="https://base.org/dir/"><title>t</title></head>
<body>
<p>See <a href="report.pdf">the
   report</a> and <a href="#">IJM</a>, <a href="">empty</a>, <a href="javascript:void(0)">js</a>.</p>
<a name="no-href">not a link</a>
<blockquote cite="https://quotes.org/q1">{quote}</blockquote>
<p><q cite="https://quotes.org/q2">Short</q> <cite><a href="https://src.org">Source</a></cite></p>
</body></html>
"""


def test_html_links_quotes_and_lines() -> None:
    quote = "word " * 30
    citations = extract_html(HTML_PAGE.format(quote=quote), "page.html", base_url="https://other.org/")
    assert found(citations) == [
        # <base href> wins over the page's own URL; placeholders and anchors stay as written
        (4, "the report", "https://base.org/dir/report.pdf"),
        (5, "IJM", "#"),
        (5, "empty", ""),
        (5, "js", "javascript:void(0)"),
        (7, quote.strip()[:80], "https://quotes.org/q1"),
        (8, "Short", "https://quotes.org/q2"),
        (8, "Source", "https://src.org"),
    ]


@pytest.mark.parametrize("head,own,expected", [
    ("", None, "../annex/table.csv"),  # no base known: a local file, left relative
    ("", "https://ijm.org/uk/submission.html", "https://ijm.org/annex/table.csv"),
    ('<link rel="canonical" href="https://ijm.org/uk/s.html">', None, "https://ijm.org/annex/table.csv"),
    ('<base href="/docs/">', "https://ijm.org/uk/s.html", "https://ijm.org/annex/table.csv"),
    ('<base href="https://mirror.org/a/b/">', "https://ijm.org/uk/s.html", "https://mirror.org/a/annex/table.csv"),
])
def test_html_relative_links_resolve_like_a_browser(head: str, own: str | None, expected: str) -> None:
    page = f"<html><head>{head}</head><body><a href='../annex/table.csv'>annex</a> <a href='#'>x</a>" \
           "<a href='https//stats-office/tables'>bad</a></body></html>"
    urls = [c.url for c in extract_html(page, "s.html", base_url=own)]
    assert urls == [expected, "#", "https//stats-office/tables"]


def test_html_file_honours_declared_charset(tmp_path: pathlib.Path) -> None:
    page = tmp_path / "legacy.htm"
    page.write_bytes('<meta charset="windows-1252">\n<a href="https://x.org/café">Café – menu</a>'.encode("cp1252"))
    assert found(extract_file(page, "legacy.htm")) == [(2, "Café – menu", "https://x.org/café")]


def test_markdown_file_with_bom_and_legacy_encoding(tmp_path: pathlib.Path) -> None:
    bom = tmp_path / "bom.md"
    bom.write_bytes("\ufeff[a](https://a.org/é)".encode())
    legacy = tmp_path / "legacy.markdown"
    legacy.write_bytes("x\n[caf\xe9](https://b.org)".encode("cp1252"))
    assert found(extract_file(bom)) == [(1, "a", "https://a.org/é")]
    assert found(extract_file(legacy)) == [(2, "café", "https://b.org")]
    assert extract_file(bom)[0].document == str(bom)


# --- DOCX ---------------------------------------------------------------------------------

def _hyperlink(part: XmlPart, url: str, text: str) -> object:
    r_id = part.relate_to(url, RT.HYPERLINK, is_external=True)
    return parse_xml(f'<w:hyperlink {nsdecls("w", "r")} r:id="{r_id}">'
                     f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:hyperlink>')


def _run(inner: str) -> object:
    return parse_xml(f'<w:r {nsdecls("w")}>{inner}</w:r>')


def _add_footnote(document: docx.document.Document, paragraph: object, url: str, text: str) -> None:
    """python-docx has no footnote API: add word/footnotes.xml and a reference mark by hand."""
    notes = parse_xml(f'<w:footnotes {nsdecls("w", "r")}><w:footnote w:id="1"><w:p>'
                      f'<w:r><w:t xml:space="preserve">Source: </w:t></w:r></w:p></w:footnote></w:footnotes>')
    part = XmlPart(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, notes, document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)
    notes[0][0].append(_hyperlink(part, url, text))
    paragraph._p.append(_run('<w:footnoteReference w:id="1"/>'))


def _docx(links: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for url, text in links:
        paragraph = document.add_paragraph("Cited: ")
        paragraph._p.append(_hyperlink(document.part, url, text))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_hyperlinks_fields_and_footnotes() -> None:
    document = docx.Document()
    document.add_paragraph("Title")                                               # 1
    p2 = document.add_paragraph("See ")                                           # 2
    p2._p.append(_hyperlink(document.part, "https://www.who.int/report", "WHO report"))
    p2._p.append(parse_xml(f'<w:hyperlink {nsdecls("w")} w:anchor="intro"><w:r><w:t>above</w:t></w:r></w:hyperlink>'))
    p3 = document.add_paragraph("Field: ")                                        # 3
    for inner in ('<w:fldChar w:fldCharType="begin"/>',
                  '<w:instrText xml:space="preserve"> HYPERLINK "https://fie</w:instrText>',
                  '<w:instrText xml:space="preserve">ld.org/x?a=1" \\o "tooltip" </w:instrText>',
                  '<w:fldChar w:fldCharType="separate"/>', '<w:t xml:space="preserve">field </w:t>',
                  '<w:t>link</w:t>', '<w:fldChar w:fldCharType="end"/>',
                  '<w:fldChar w:fldCharType="begin"/>', '<w:instrText>HYPERLINK \\l "bookmark"</w:instrText>',
                  '<w:fldChar w:fldCharType="separate"/>', '<w:t>internal</w:t>', '<w:fldChar w:fldCharType="end"/>'):
        p3._p.append(_run(inner))
    table = document.add_table(rows=1, cols=1)                                    # 4 (cell paragraph)
    table.cell(0, 0).paragraphs[0]._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr=" HYPERLINK &quot;https://simple.org&quot; ">'
        f'<w:r><w:t>simple</w:t></w:r></w:fldSimple>'))
    p5 = document.add_paragraph("Claim with a note.")                             # 5
    _add_footnote(document, p5, "https://ons.gov.uk/data", "ONS table")
    document.add_paragraph("Placeholder ")._p.append(_hyperlink(document.part, "#", "IJM"))  # 6
    boxed = _hyperlink(document.part, "https://boxed.org", "boxed")
    box = f'<w:txbxContent><w:p>{etree.tostring(boxed).decode()}</w:p></w:txbxContent>'       # 8 (7 holds it)
    document.add_paragraph("Text box: ")._p.append(_run(
        f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="wps">{box}</mc:Choice>'
        f'<mc:Fallback>{box}</mc:Fallback></mc:AlternateContent>'))
    out = io.BytesIO()
    document.save(out)

    assert found(extract_docx(out.getvalue(), "brief.docx")) == [
        (2, "WHO report", "https://www.who.int/report"),
        (3, "field link", "https://field.org/x?a=1"),
        (4, "simple", "https://simple.org"),
        (5, "ONS table", "https://ons.gov.uk/data"),
        (6, "IJM", "#"),
        (8, "boxed", "https://boxed.org"),  # once, though Word stores the box twice
    ]


# --- PDF ----------------------------------------------------------------------------------

def _pdf(draw: list[list[tuple[float, float, str, str | None]]]) -> bytes:
    """One page per list; each item draws `text` at (x, y) and, given a URL, links it."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for page in draw:
        pdf.setFont("Helvetica", 11)
        for x, y, text, url in page:
            pdf.drawString(x, y, text)
            if url is not None:
                width = pdf.stringWidth(text, "Helvetica", 11)
                pdf.linkURL(url, (x, y - 3, x + width, y + 10), relative=0)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def test_pdf_annotations_and_broken_bare_url() -> None:
    data = _pdf([
        [(72, 700, "The", None), (95, 700, "annual report", "https://example.org/report"),
         (72, 680, "https://shown.org/link", "https://shown.org/link")],
        [(72, 700, "Tables: https://stats.example.org/tables/", None),
         (72, 686, "2020/annual.csv and then.", None),
         (72, 660, "See https://a.org/end.", None), (72, 646, "The next sentence.", None)],
    ])
    citations = extract_pdf(data, "paper.pdf")
    assert [(c.page, c.line, c.text, c.url) for c in citations] == [
        (1, None, "annual report", "https://example.org/report"),
        (1, None, "https://shown.org/link", "https://shown.org/link"),  # its visible text is not cited twice
        (2, None, "https://stats.example.org/tables/2020/annual.csv",
         "https://stats.example.org/tables/2020/annual.csv"),
        (2, None, "https://a.org/end", "https://a.org/end"),
    ]
    assert citations[0].location == "paper.pdf:page 1"


# --- the same citations from every format ---------------------------------------------------

SAME_CITATIONS = [
    ("https://www.who.int/news/item/violence", "World Health Organisation"),
    ("https://example.org/report?year=2020&lang=en", "annual report"),
    ("#", "IJM"),
]


def test_equivalent_documents_give_the_same_citations() -> None:
    def escape(s: str) -> str:
        return s.replace("&", "&amp;")

    markdown = "\n\n".join(f"Cited: [{text}]({url})" for url, text in SAME_CITATIONS)
    html = "".join(f'<p>Cited: <a href="{escape(url)}">{text}</a></p>\n' for url, text in SAME_CITATIONS)
    # The PDF puts each citation on a page of its own, so that pages are checked too.
    pdf = _pdf([[(72, 700, "Cited:", None), (110, 700, text, url)] for url, text in SAME_CITATIONS])
    by_format = {
        "markdown": extract_markdown(markdown, "d"),
        "html": extract_html(html, "d"),
        "docx": extract_docx(_docx(SAME_CITATIONS), "d"),
        "pdf": extract_pdf(pdf, "d"),
    }
    # Where each citation stands: Markdown and HTML by line, Word by paragraph, PDF by page.
    locations = {"markdown": ["d:1", "d:3", "d:5"], "html": ["d:1", "d:2", "d:3"],
                 "docx": ["d:1", "d:2", "d:3"], "pdf": ["d:page 1", "d:page 2", "d:page 3"]}
    for name, citations in by_format.items():
        assert [(c.url, c.text) for c in citations] == SAME_CITATIONS, name
        assert [c.location for c in citations] == locations[name], name


# --- files, folders and errors ------------------------------------------------------------

def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".text", ".pdf", ".docx"})


def test_find_documents_walks_folders_sorted(tmp_path: pathlib.Path) -> None:
    for name in ("b.md", "a.txt", "sub/c.PDF", "sub/skip.py", ".git/notes.md", "sub/.hidden.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    explicit = tmp_path / "sub" / "skip.py"
    assert find_documents([tmp_path, explicit, tmp_path / "b.md"]) == [
        tmp_path / "a.txt", tmp_path / "b.md", tmp_path / "sub" / "c.PDF", explicit,
    ]
    with pytest.raises(InputError, match="no such file or directory") as excinfo:
        find_documents([tmp_path / "absent"])
    assert excinfo.value.path == str(tmp_path / "absent")


def test_missing_file_is_an_input_error_naming_the_path(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "gone.md"
    with pytest.raises(InputError) as excinfo:
        extract_file(missing, "gone.md")
    assert str(excinfo.value) == f"{missing}: no such file or directory"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "cannot read PDF"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "cannot read DOCX"),
    ("notes.rtf", b"{\\rtf1 hi}", "unsupported file type '.rtf'"),
])
def test_unreadable_files_are_input_errors(
    tmp_path: pathlib.Path, name: str, content: bytes, message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as excinfo:
        extract_file(path, "display-name")
    assert excinfo.value.path == str(path)
    assert str(excinfo.value).startswith(f"{path}: {message}")
    assert "\n" not in str(excinfo.value)


# Constructs of a long paragraph, some spanning lines (link text, a destination after a line end,
# a title), some with brackets or parentheses that close nothing or stay open a while.
_LONG_PARAGRAPH = [
    "[source {i}](http://h{i}.example/p{i}) grew 45% *since*", "see http://bare{i}.example/a_(b) **and**",
    "[a link over", "two lines](http://two{i}.example)", "![chart](http://img{i}.example/c.png)",
    "[x](", "http://after-break{i}.example)", "a] stray [bracket", "closed](http://late{i}.example \"a (title)\")",
    "an open ( parenthesis", "closed ) here [ref]", "www.site{i}.example and mailto:a{i}@example.org",
    "^[a footnote citing http://note{i}.example]", "[t][ref] *emphasis", "closed later*",
]


def test_a_long_paragraph_is_read_in_pieces_with_the_citations_of_the_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from linkcheck.extract import markdown

    lines = [_LONG_PARAGRAPH[i % len(_LONG_PARAGRAPH)].format(i=i) for i in range(600)]
    text = "# Title\n\n" + "\n".join(lines) + "\n\n[ref]: http://ref.example\n"
    whole = extract_markdown(text, "long.md")
    made: list[int] = []
    cut = markdown._pieces
    monkeypatch.setattr(markdown, "_PIECE", 40)
    monkeypatch.setattr(markdown, "_pieces", lambda token: made.append(len(pieces := cut(token))) or pieces)
    assert extract_markdown(text, "long.md") == whole
    assert max(made) > 100  # it was cut, into many pieces
    assert len(whole) >= 400 and max(c.line or 0 for c in whole) > 590
    # Code spans and raw HTML may hide a link across lines: such a paragraph is read whole.
    made.clear()
    assert extract_markdown(text.replace("# Title\n\n", "# Title\n\n`a` <b> "), "long.md") == whole
    assert max(made) == 1
