"""Page text, quote matching and drift: what an archived page says and whether it still says it."""
from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reportlab.pdfgen import canvas

from linkcheck.content import (
    DEFAULT_DRIFT_THRESHOLD,
    main_text,
    normalise_text,
    page_text,
    quote_present,
    similarity,
    word_diff,
)

HTML = "text/html; charset=utf-8"
QUOTE = "An estimated 49 million people were living in modern slavery on any given day in 2021."

ARTICLE = [
    "Forced labour and forced marriage have risen sharply over the past five years, according to "
    "the latest global estimates published by the International Labour Organization, Walk Free and "
    "the International Organization for Migration. " + QUOTE + " Of these, around 28 million were in "
    "forced labour and 22 million were trapped in forced marriage.",
    "The report finds that no region of the world is spared. More than half of all forced labour "
    "occurs in upper-middle income or high-income countries, and migrant workers are more than three "
    "times as likely to be in forced labour as other adult workers, largely because of irregular "
    "and poorly governed migration and unfair recruitment practices.",
    "Women and girls account for the majority of people forced to marry, and children make up more "
    "than a quarter of all those in commercial sexual exploitation. The authors warn that the "
    "pandemic, armed conflict and climate change have disrupted employment and education, deepened "
    "extreme poverty and pushed families towards unsafe migration.",
    "Private companies are not exempt from scrutiny. Most forced labour takes place in the private "
    "economy, in sectors such as services, manufacturing, construction and agriculture, and "
    "researchers traced recruitment debts and withheld wages through long supply chains that "
    "eventually reach consumers in wealthy countries.",
    "The authors call for stronger labour inspection, social protection for workers in the "
    "informal economy, fair recruitment rules that stop workers paying fees, and legal age limits "
    "on marriage without exception. They also urge governments to tackle the debt bondage that "
    "keeps families working for the same employer across generations.",
    "Survivors who contributed testimony said that escape was only the first step. Without safe "
    "housing, legal advice and a way to earn a living, many were at risk of being trafficked again, "
    "and the report recommends long-term support that lasts well beyond the first few months.",
]
UNRELATED = [
    "Sourdough bread depends on a lively starter, a mixture of flour and water colonised by wild "
    "yeasts and lactic acid bacteria. Bakers feed the starter daily, discarding part of it and "
    "adding fresh flour so that the culture stays vigorous and pleasantly sour.",
    "Hydration matters more than most beginners expect. A wetter dough produces an open, glossy "
    "crumb with irregular holes, while a stiffer dough is easier to shape but bakes into a tighter "
    "loaf. Stretch and fold sessions during bulk fermentation build strength without kneading.",
    "Temperature controls the schedule. In a warm kitchen the dough may double in a few hours; in "
    "a cool one it can take most of the day. Many bakers retard shaped loaves overnight in the "
    "fridge, which deepens flavour and makes scoring the surface much easier in the morning.",
    "Baking in a preheated cast iron pot traps steam around the loaf for the first twenty minutes, "
    "letting the crust stay supple while the bread springs upward. Removing the lid afterwards "
    "allows the surface to dry, caramelise and crackle as it cools on a wire rack.",
    "Whole grain flours absorb more water and ferment faster than white flour, so recipes that "
    "swap them in usually need adjustments. Rye in particular behaves differently, forming a "
    "sticky paste rather than an elastic gluten network, and is often baked in tins.",
    "Patience is the real secret ingredient. A loaf cut while still hot will seem gummy inside, "
    "because the crumb continues to set as steam escapes, so experienced bakers wait at least an "
    "hour before slicing and storing the bread in a linen bag.",
]
TOKEN_A = "3f9a8b7c6d5e4f30a1b2c3d4e5f60718"
TOKEN_B = "c0ffee11d2e3f405a6b7c8d9e0f1a2b3"


def page(paragraphs: list[str], *, updated: str = "3 March 2024", visitors: int = 10234,
         promo: str = "Donate today: every gift is matched until Friday.", token: str = TOKEN_A,
         title: str = "49 million people now live in modern slavery") -> bytes:
    """A realistic article page: cookie banner, header with navigation, article, promo, footer."""
    body = "\n".join(f"    <p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} | Global Rights Monitor</title>
  <style>body {{ font-family: Georgia, serif; }} .promo {{ border: 1px solid #ccc; }}</style>
  <script>window.dataLayer = [{{"event": "pageview", "section": "news"}}];</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>We use cookies to improve your experience and to measure how our site is used.</p>
    <button>Accept all cookies</button> <button>Manage preferences</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/">Global Rights Monitor</a>
    <nav aria-label="Main"><ul>
      <li><a href="/">Home</a></li><li><a href="/news">News</a></li>
      <li><a href="/research">Research and data</a></li><li><a href="/donate">Donate</a></li>
    </ul></nav>
  </header>
  <main>
    <article>
    <h1>{title}</h1>
    <p>Last updated: {updated}. This article has been read {visitors} times.</p>
{body}
    <p>Permalink: https://monitor.example.org/news/slavery-estimates?sid={token}</p>
    </article>
    <aside class="promo"><h2>Support our work</h2><p>{promo}</p></aside>
  </main>
  <footer>
    <p>Visitors: {visitors}</p>
    <p>Copyright Global Rights Monitor. Registered charity number 1234567.</p>
    <a href="/privacy?session={token}">Privacy policy</a> <a href="/contact">Contact us</a>
  </footer>
</body>
</html>
""".encode()


def pdf_bytes(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for n, line in enumerate(lines):
        pdf.drawString(72, 760 - 16 * n, line)
    pdf.save()
    return buffer.getvalue()


def mtext(paragraphs: list[str], **kwargs: object) -> str:
    return main_text(page(paragraphs, **kwargs), HTML)  # type: ignore[arg-type]


# --- page_text ----------------------------------------------------------------------------

def test_page_text_keeps_visible_text_and_drops_what_is_never_shown() -> None:
    body = b"""<html><head><title>T</title><style>p { color: red }</style></head><body>
      <h1>Annual report</h1>
      <script>var secret = "tracking code";</script>
      <p>Poverty rose<br>by 49 million.</p><noscript>Enable JavaScript</noscript>
      <template><p>Template text</p></template><svg><text>Chart label</text></svg>
      <div hidden>Hidden by attribute</div><span aria-hidden="true">Icon text</span>
      <p style="display: none">Hidden by style</p><!-- an HTML comment -->
      <ul><li>First item</li><li>Second <b>bold</b> item</li></ul>
      </body></html>"""
    text = page_text(body, "text/html")
    assert text.split("\n") == ["Annual report", "Poverty rose", "by 49 million.", "First item", "Second bold item"]


@pytest.mark.parametrize("body, content_type, expected", [
    ("<p>Price: 5 €</p>".encode("cp1252"), "text/html; charset=windows-1252", "Price: 5 €"),
    ("<p>Price: 5 €</p>".encode("cp1252"), "text/html; charset=\"cp1252\"", "Price: 5 €"),
    ("<p>Caf\u00e9 cr\u00e8me</p>".encode(), "text/html", "Café crème"),
    ("plain “text” 5 €".encode(), "text/plain", "plain “text” 5 €"),
    ("plain 5 €".encode("cp1252"), "text/plain", "plain 5 €"),  # not UTF-8: cp1252
    ("a,b\n1,2".encode(), "text/csv; charset=utf-8", "a,b\n1,2"),
    (b"<!DOCTYPE html><p>no content type</p>", "", "no content type"),
    (b"\x89PNG\r\n\x1a\n....", "image/png", ""),
    (b"<p>binary labelled</p>", "application/octet-stream", ""),
])
def test_page_text_decodes_by_type_and_charset(body: bytes, content_type: str, expected: str) -> None:
    assert page_text(body, content_type) == expected


def test_page_text_reads_every_pdf_page() -> None:
    sentence = "Poverty rose by 49 million people in 2020."
    data = pdf_bytes(["Global estimates of modern slavery", sentence])
    for content_type in ("application/pdf", "application/octet-stream"):  # the %PDF- magic suffices
        text = page_text(data, content_type)
        assert sentence in text and "Global estimates" in text
    assert main_text(data, "application/pdf") == page_text(data, "application/pdf")


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage without objects", b"not a pdf at all", b""])
def test_broken_pdf_has_no_text(data: bytes) -> None:
    assert page_text(data, "application/pdf") == ""


# --- main_text ----------------------------------------------------------------------------

def test_main_text_keeps_the_article_and_drops_the_furniture() -> None:
    text = mtext(ARTICLE)
    for paragraph in ARTICLE:
        assert paragraph in text
    for furniture in ("cookies", "Accept all", "Research and data", "Donate today", "Support our work",
                      "Registered charity", "Privacy policy", "Visitors:", "dataLayer", "font-family"):
        assert furniture not in text, furniture
    everything = page_text(page(ARTICLE), HTML)
    assert "Accept all cookies" in everything and "Donate today" in everything  # visible, not main


def test_main_text_falls_back_on_a_short_page() -> None:
    body = b"""<html><body><nav class="menu"><a href="/">Home</a> <a href="/about">About</a></nav>
      <div class="cookie-notice">We use cookies.</div>
      <div class="layout has-sidebar"><h1>Notice</h1><p>Offices closed on Monday.</p></div>
      <div class="sidebar">Popular posts</div><p hidden>Draft note</p>
      <footer>Copyright 2024</footer></body></html>"""
    text = main_text(body, HTML)
    assert "Offices closed on Monday." in text
    for furniture in ("Home", "About", "cookies", "Popular posts", "Draft note", "Copyright"):
        assert furniture not in text, furniture


# --- normalise_text and quote_present --------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("“Smart” quotes ‘here’ and ″inches″", '"smart" quotes \'here\' and "inches"'),
    ("2010–2020 — a decade − long", "2010-2020 - a decade - long"),
    ("Fish &amp; chips&nbsp;today", "fish & chips today"),
    ("evi\u00addence\u200b here\ufeff", "evidence here"),
    ("evi-\ndence and inter-\n   national", "evidence and international"),
    ("soft\u00ad\nbreak", "softbreak"),
    ("COVID-19 and 2021-\n2022", "covid-19 and 2021- 2022"),  # not between letters: kept
    ("  MIXED\tCase \n\n  text ", "mixed case text"),
    ("ﬁnance ﬂows", "finance flows"),  # PDF ligatures, via NFKC
])
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


PDF_LIKE = ("Globally, an estimated 49 mil-\nlion people were living in modern slav-\nery on any "
            "given\nday in 2021, according to the ILO.")


@pytest.mark.parametrize("quote, text, present", [
    ("“Poverty rose by 49 million”", '"Poverty rose by 49 million" in 2020', True),
    ("Poverty rose by 49 million", "POVERTY   ROSE\nby 49 million", True),
    ("it's a 2010–2020 trend", "It\u2019s a 2010-2020 trend", True),
    ("fish & chips", "<p>Fish &amp; chips&nbsp;shops</p>", True),
    ("fish and chips", "fish&nbsp;and&nbsp;chips", True),
    ("the evidence base", "the evi\u00addence base", True),
    ("49 million people were living in modern slavery on any given day", PDF_LIKE, True),
    ("poverty rose, sharply, in 2020", "Poverty rose sharply in 2020.", True),
    ("U.S. workers", "US workers", True),
    ("well-known problem", "a well known problem", True),
    ("a well-known problem", "a well-\nknown problem", True),  # the compound joined, matched loosely
    ("modern slavery", "MODERN SLAVERY", True),
    # Negatives: a changed figure, a figure inside a larger one, a moved decimal point.
    ("Poverty rose by 49 million", "Poverty rose by 71 million", False),
    ("49 million", "149 million people", False),
    ("4.9 million", "49 million", False),
    ("slavery", "modern slaveryish", False),
    ("", "anything at all", False),
])
def test_quote_present(quote: str, text: str, present: bool) -> None:
    assert quote_present(quote, text) is present


def test_quote_found_in_a_pdf_and_a_page() -> None:
    data = pdf_bytes(["Globally, an estimated 49 mil-", "lion people were living in modern", "slavery in 2021."])
    assert quote_present("49 million people were living in modern slavery", page_text(data, "application/pdf"))
    assert quote_present(QUOTE, main_text(page(ARTICLE), HTML))
    assert not quote_present(QUOTE.replace("49", "50"), main_text(page(ARTICLE), HTML))


# --- similarity and word_diff ----------------------------------------------------------------

REMOVED = [ARTICLE[0].replace(" " + QUOTE, "")] + ARTICLE[1:]
COPY_EDITED = [p.replace(" the ", " a ", 1) for p in ARTICLE]
SCENARIOS = [
    # name, current page (the baseline is page(ARTICLE)), lowest and highest similarity allowed
    ("identical", page(ARTICLE), 1.0, 1.0),
    ("date changed", page(ARTICLE, updated="9 June 2025"), 0.95, 1.0),
    ("counter, promo and session token changed",
     page(ARTICLE, visitors=10921, token=TOKEN_B, promo="Sign up to our newsletter for weekly updates."),
     0.9, 1.0),
    ("quoted sentence removed", page(REMOVED), DEFAULT_DRIFT_THRESHOLD + 0.25, 0.99),  # 0.946
    ("one word edited per paragraph", page(COPY_EDITED), DEFAULT_DRIFT_THRESHOLD + 0.2, 0.99),  # 0.897
    # Where the threshold falls: one paragraph in six rewritten passes, two do not.
    ("one of six paragraphs replaced", page(ARTICLE[:5] + UNRELATED[:1]), 0.7, 0.8),  # 0.753
    ("two of six paragraphs replaced", page(ARTICLE[:4] + UNRELATED[:2]), 0.5, 0.59),  # 0.557
    ("unrelated article", page(UNRELATED, title="How to bake sourdough bread at home"), 0.0, 0.1),  # 0.021
]
DRIFTED = {"two of six paragraphs replaced", "unrelated article"}


@pytest.mark.parametrize("name, current, low, high", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_similarity_scenarios(name: str, current: bytes, low: float, high: float) -> None:
    score = similarity(main_text(page(ARTICLE), HTML), main_text(current, HTML))
    assert low <= score <= high, (name, score)
    assert (score < DEFAULT_DRIFT_THRESHOLD) is (name in DRIFTED)


def test_volatile_changes_keep_the_score_at_one() -> None:
    base = mtext(ARTICLE)
    assert similarity(base, mtext(ARTICLE, updated="9 June 2025")) == 1.0
    assert similarity(base, mtext(ARTICLE, visitors=10921, token=TOKEN_B, promo="Other promo")) == 1.0
    assert similarity("Version 3.2.1, build 7f3a9c2e1b4d5f6a8c9e", "Version 3.4.0, build aa11bb22cc33dd44ee55") == 1.0
    assert similarity("Updated Monday 3 March at 10:45", "Updated Friday 9 June at 16:02") == 1.0
    assert similarity("Poverty rose by 49 million", "Poverty rose by 71 million") == 1.0  # quotes catch figures


@pytest.mark.parametrize("a, b, expected", [
    ("", "", 1.0), ("   ", "\n", 1.0), ("", "some text here", 0.0), ("some text here", "", 0.0),
    ("one", "one", 1.0), ("one two", "one three", 0.0), ("a b c d", "a b c e", 1 / 3),
])
def test_similarity_edge_cases(a: str, b: str, expected: float) -> None:
    assert similarity(a, b) == pytest.approx(expected)


def test_word_diff_shows_removed_and_added_words() -> None:
    diff = word_diff("Poverty rose by 49 million people in 2020.", "Poverty rose by 71 million people in 2020.")
    assert diff == ("- 49", "+ 71")
    diff = word_diff("The report was “published” today by the ILO.", 'The report was "published" yesterday.')
    assert diff == ("- today by the ILO.", "+ yesterday.")  # the retyped quote marks are no change
    assert word_diff("same words", "same   words") == ()


def test_word_diff_is_short() -> None:
    diff = word_diff(mtext(ARTICLE), mtext(UNRELATED))  # "and the" in common does not split it up
    assert len(diff) == 2 and all(len(e) <= 120 and e.endswith("…") for e in diff)
    assert diff[0].startswith("- Forced labour and forced") and diff[1].startswith("+ Sourdough bread depends")
    edits = word_diff(mtext(ARTICLE), mtext(COPY_EDITED), limit=4)
    assert edits == ("- the", "+ a", "- the", "+ a")
    removed = word_diff(mtext(ARTICLE), mtext(REMOVED))
    assert removed == ("- " + QUOTE,)


words = st.lists(st.text(alphabet="abcdefgh xyz0123", min_size=1, max_size=8), max_size=40).map(" ".join)


@given(words, words)
def test_similarity_is_reflexive_symmetric_and_bounded(a: str, b: str) -> None:
    assert similarity(a, a) == 1.0
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 <= similarity(a, b) <= 1.0
