"""Documents written to hurt: extraction stays linear, packages are measured before they inflate."""
from __future__ import annotations

import io
import pathlib
import subprocess
import sys
import time
import zipfile

import docx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck.errors import InputError
from linkcheck.extract import extract_file
from linkcheck.extract.bounds import MAX_TEXT_BYTES
from linkcheck.extract.context import _bounds, _paragraph, _Stretch, annotate, plain
from linkcheck.extract.docx import extract_docx
from linkcheck.extract.html import extract_html
from linkcheck.extract.markdown import LINK_REACH, extract_markdown
from linkcheck.extract.text import extract_text
from linkcheck.fix import Edit, fix_html
from linkcheck.urls import normalise
from tests.growth import growth_ratio

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def unclosed_anchors(size: int) -> str:
    """`size` bytes of Markdown, one unclosed `<a href>` per line: quadratic before, linear now."""
    line = '<a href="https://example.org/page/{0}">reference {0}\n'
    lines, total, n = [], 0, 0
    while total < size:
        lines.append(line.format(n))
        total += len(lines[-1])
        n += 1
    return "".join(lines)


def docx_bytes(document_xml: bytes | None = None) -> bytes:
    """A real .docx from python-docx, optionally with its main part replaced."""
    out = io.BytesIO()
    package = docx.Document()
    package.add_paragraph("Cited in the text.")
    package.save(out)
    if document_xml is None:
        return out.getvalue()
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename == "docProps/thumbnail.jpeg":
                continue  # python-docx's template picture: not part of what is measured
            data = document_xml if item.filename == "word/document.xml" else source.read(item)
            target.writestr(item.filename, data)
    return rebuilt.getvalue()


def docx_bomb(inflated: int = 60 * 1024 * 1024) -> bytes:
    """Some 120 KB of DOCX whose main part inflates to `inflated` bytes of paragraphs."""
    paragraph = b"<w:p><w:r><w:t>" + b"x" * 4000 + b"</w:t></w:r></w:p>"
    body = paragraph * (inflated // len(paragraph))
    return docx_bytes(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      b"<w:document " + W.encode() + b"><w:body>" + body + b"</w:body></w:document>")


# --- Markdown and HTML: linear ------------------------------------------------------------

def test_unclosed_anchors_in_markdown_extract_in_linear_time() -> None:
    """1.2 MB of unclosed `<a href>` took over two minutes when each tag scanned ahead for `</a>`.
    The Markdown extractor's part, measured in CPU seconds of this process: a busy machine slows
    the clock, not the work. (`make stress` times the whole of `extract_file`.)"""
    text = unclosed_anchors(1_200_000)
    started = time.process_time()
    citations = extract_markdown(text, "hostile.md")
    elapsed = time.process_time() - started
    assert len(citations) == text.count("<a href")
    assert citations[7].url == "https://example.org/page/7" and citations[7].line == 8
    assert elapsed < 5, f"{elapsed:.1f} s"


def test_unclosed_anchor_text_stops_at_the_next_anchor() -> None:
    text = 'See <a href="https://a.org/">first and <a href="https://b.org/">second</a> done.\n'
    assert [(c.url, c.text, c.line) for c in extract_markdown(text, "d")] == [
        ("https://a.org/", "first and", 1), ("https://b.org/", "second", 1)]


def test_escaped_tag_in_text_does_not_swallow_the_following_links() -> None:
    text = 'A \\<textarea> here, then <a href="https://a.org/">a</a> and <a href="https://b.org/">b</a>.'
    assert [c.url for c in extract_markdown(text, "d")] == ["https://a.org/", "https://b.org/"]


def test_many_links_on_one_line_are_found_without_rescanning_it() -> None:
    text = " ".join(f"[t{i}](https://e.org/{i})" for i in range(20_000))
    started = time.process_time()
    citations = extract_markdown(text, "d")
    assert len(citations) == 20_000 and {c.line for c in citations} == {1}
    assert time.process_time() - started < 5


def test_reference_links_far_from_their_definition_stay_linear() -> None:
    text = "\n".join(f"[t{i}][r]" for i in range(20_000)) + "\n\n[r]: https://r.org/\n"
    started = time.process_time()
    citations = extract_markdown(text, "d")
    assert [c.line for c in citations[:3]] == [1, 2, 3] and citations[-1].line == 20_000
    assert time.process_time() - started < 5


@pytest.mark.parametrize("extract, make", [
    pytest.param(extract_markdown, lambda n: '<a href="https://e.org/x">t ' * n, id="markdown-unclosed"),
    pytest.param(extract_markdown, lambda n: "[x](https://e.org/y) " * n, id="markdown-links"),
    # Patterns on which markdown-it's own link-label scan and linkify rule were quadratic.
    pytest.param(extract_markdown, lambda n: "[r] https://r.org/\\[ " * (n // 16), id="markdown-escaped-brackets"),
    pytest.param(extract_markdown, lambda n: "*(&amp;]https://e.org/" * (n // 8), id="markdown-run-together-urls"),
    pytest.param(extract_markdown, lambda n: "</a>[" * (n // 4), id="markdown-tags-and-brackets"),
    pytest.param(lambda text, doc: annotate(extract_markdown(text, doc), text),
                 lambda n: "".join(f'<a href="https://e.org/{i}">accessed 1 May 2020 ' for i in range(n // 4)),
                 id="markdown-one-line-with-context"),
    pytest.param(lambda text, doc: annotate(extract_markdown(text, doc), text),
                 lambda n: "".join(f"[source {i}](https://e.org/{i})\n" for i in range(n // 8)),
                 id="markdown-a-link-a-line-with-context"),
    pytest.param(extract_html, lambda n: '<a href="https://e.org/x">t ' * n, id="html-unclosed"),
    pytest.param(extract_text, lambda n: "see https://e.org/x, " * (4 * n), id="text"),
    pytest.param(extract_text, lambda n: "https://e.org/x" + ")" * (50 * n), id="text-closers"),
    pytest.param(lambda text, doc: annotate(extract_markdown(text, doc), text),
                 lambda n: "See [source](https://e.org/a) " + "<" * (4 * n) + "\n", id="markdown-a-line-of-lt"),
    pytest.param(lambda text, doc: annotate(extract_html(text, doc), text),
                 lambda n: "<a href='https://e.org/a'>x</a> " + "<" * (4 * n), id="html-a-line-of-lt"),
    pytest.param(lambda text, doc: fix_html(text, [Edit(doc, 1, "#", "https://e.org/", "x", "t")],
                                            {"https://e.org/b": ("https://archive.example/b", "2024-05-01")}),
                 lambda n: '<a href="#">x</a> ' + "<a " * n, id="fix-html-unclosed-a-tags"),
    pytest.param(lambda text, doc: fix_html(text, [Edit(doc, 1, "#", "https://e.org/", "x", "t")]),
                 lambda n: '<a href="#">x</a> ' + '<a "' * n, id="fix-html-unclosed-quotes"),
])
def test_extraction_time_grows_linearly_with_the_input(extract: object, make: object) -> None:
    assert growth_ratio(lambda source: extract(source, "d"), make) < 8  # type: ignore[operator]


_PIECES = st.sampled_from(['<a href="https://e.org/x">', "</a>", "<a ", "[", "]", "(", ")", "](", "<", ">",
                           "\n", "\n\n", "`", "*", "https://e.org/", "<!--", "-->", '"', "&amp;", "[^1]",
                           "^[note]", "[r]: https://r.org/", "\\", " ", "text", "<textarea>", "<b>", "#"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=60))
def test_markdown_and_html_extraction_never_raise(pieces: list[str]) -> None:
    source = "".join(pieces)
    for citation in extract_markdown(source, "d"):
        assert citation.line is None or citation.line >= 1
    extract_html(source, "d")
    extract_text(source, "d")


@settings(max_examples=15, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=20))
def test_markdown_extraction_stays_linear_on_generated_input(pieces: list[str]) -> None:
    """Any generated pattern repeated N and 4N times: four times the input takes about four times
    as long (a quadratic scan would take sixteen); the bound leaves room for a busy machine. N
    makes at least four link reaches of text, for below one reach each `[` may scan to the end of
    the input, as it may by design, and a short input would measure that instead of the growth."""
    unit = "".join(pieces)
    copies = max(200, -(-4 * LINK_REACH // max(1, len(unit))))

    def timed(copies: int) -> float:
        best = float("inf")
        for _ in range(2):
            started = time.process_time()
            extract_markdown(unit * copies, "d")
            best = min(best, time.process_time() - started)
        return best

    small, large = timed(copies), timed(4 * copies)
    assert large < 10 * small + 0.05, f"{unit!r}: {small:.3f} s, then {large:.3f} s"


_LINES = st.sampled_from(["", " ", "text [a](https://e.org/a)", "- item", "# heading", "> quote", "1. one",
                          "| cell |", "<b>x</b> &amp; *y*", "Stra\u00dfe \ufb01", "12) x", "    code"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES, min_size=1, max_size=80), st.data())
def test_a_stretch_reads_each_paragraph_as_it_reads_alone(lines: list[str], data: st.DataObject) -> None:
    """The paragraphs a stretch of lines shares between citations are the ones each line has alone,
    whichever lines are cited and in whatever order they are read."""
    cited = sorted(data.draw(st.lists(st.integers(0, len(lines) - 1), min_size=1)))
    stretch = _Stretch(lines, cited)
    for index in data.draw(st.permutations(cited)):
        text, offset = _paragraph(lines, index, lambda i: plain(lines[i]))
        first, last = _bounds(lines, index)
        assert stretch.paragraph(index) == (text, offset, offset + len(plain(lines[index])), text.casefold())
        assert text == " ".join(plain(line) for line in lines[first:last + 1])


_PROSE = st.sampled_from(["[source 1](https://e.org/1)", "[a 5% rise](https://e.org/p)", "in", "a", "out of", "7",
                          "per", "program", "accessed 1 May 2020", "caf\u00e9", "3,000", "", "- [item](https://e.org/i)",
                          "word " * 130, "One. Two", "[k](https://e.org/k)"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PROSE, min_size=1, max_size=60))
@example(["one in", "four people [source](https://e.org/1)"])  # a ratio over two lines: 25%
# A paragraph too long to read whole: the sentence cut 600 characters on reads "10 million".
@example(["[source](https://e.org/1) xy " + "x " * 293 + "10 millionaires"])
def test_paragraphs_that_cannot_state_anything_are_not_read_for_claims_or_dates(lines: list[str]) -> None:
    """Skipping the sentence of a citation whose paragraph has no figure mark, no ratio beside a
    count and no "accessed" gives what reading it gives."""
    text = "\n".join(lines)
    citations = extract_markdown(text, "d.md")
    quick = annotate(citations, text)
    quiet = _Stretch.quiet
    _Stretch.quiet = lambda self, index: False  # type: ignore[method-assign]  # every sentence read
    try:
        assert annotate(citations, text) == quick
    finally:
        _Stretch.quiet = quiet  # type: ignore[method-assign]


@given(st.text())
def test_normalise_twice_changes_nothing_on_any_text(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


@given(st.from_regex(r"https?://[a-zA-Z0-9.%\[\]:@-]{1,20}(:[0-9]{1,5})?(/[^\s#?]{0,12}){0,3}(\?[^\s#]{0,12})?"
                     r"(#.{0,6})?", fullmatch=True))
def test_normalise_twice_changes_nothing_on_url_shaped_text(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


# --- Word packages and sizes: measured before they are read -----------------------------

def test_docx_within_the_limits_still_reads() -> None:
    assert extract_docx(docx_bytes(), "ok.docx") == []


def test_docx_bomb_is_an_input_error_naming_the_part() -> None:
    bomb = docx_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(InputError, match=r"bomb\.docx: DOCX part word/document\.xml inflates"):
        extract_docx(bomb, "bomb.docx")


def test_docx_with_too_many_elements_is_refused_before_python_docx_parses_it() -> None:
    from linkcheck.extract.bounds import ZipLimits, check_zip

    class Small(ZipLimits):
        elements = 1000

    body = b"<w:p/>" * 2000
    data = docx_bytes(b"<w:document " + W.encode() + b"><w:body>" + body + b"</w:body></w:document>")
    check_zip(data, "fine.docx")
    with pytest.raises(InputError, match="more than 1,000 XML elements"):
        check_zip(data, "many.docx", Small)


def test_oversized_text_document_is_an_input_error(tmp_path: pathlib.Path) -> None:
    big = tmp_path / "huge.md"
    with big.open("wb") as out:
        out.truncate(MAX_TEXT_BYTES + 1)
    with pytest.raises(InputError, match=r"huge\.md: document too large"):
        extract_file(big)


def test_docx_bomb_run_exits_2_under_200_mb(tmp_path: pathlib.Path) -> None:
    """The 122 KB bomb that inflated to 1.36 GB: now a one-line input error, exit 2, bounded memory."""
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(docx_bomb())
    probe = ("import resource, subprocess, sys;"
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
             "print(p.returncode, peak, repr(p.stderr.strip()))")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "linkcheck", "check",
                          "--state-dir", str(tmp_path / "state"),
                          "--report-dir", str(tmp_path / "reports"), str(bomb)],
                         capture_output=True, text=True, check=True, cwd=tmp_path, timeout=120).stdout
    code, peak_kib, stderr = out.split(" ", 2)
    assert code == "2", out
    assert "bomb.docx" in stderr and "Traceback" not in stderr and stderr.count("\\n") == 0
    assert int(peak_kib) < 200 * 1024, f"peak {int(peak_kib) // 1024} MiB"
