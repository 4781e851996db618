"""jsontext writes a result's and its citations' JSON text directly: it must be, byte for byte, what
the encoder makes of their to_json(), for the usual shapes it writes itself and for every other."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from linkcheck import jsontext
from linkcheck.figures import Figure
from linkcheck.model import Citation, Hop, Reason, Result, RunReport, Snapshot, Verdict
from linkcheck.reports import json as report_json
from linkcheck.thennow import ThenAndNow

_ENCODER = json.JSONEncoder(ensure_ascii=False)

# Any text, lone surrogates (from undecodable documents) and control characters included, plus the
# characters JSON escapes and the "@"/"=" that make a result mask credentials.
_TEXT = st.text(st.characters(blacklist_categories=())) | st.sampled_from(
    ["", "a\"b\\c", "tab\there\nline", "é ü 中文 🙂", "\u2028\u2029", "user:pw@host", "?token=abc", "\x00\x1f\x7f"])
_OPTIONAL_TEXT = st.none() | _TEXT
_INT = st.integers(min_value=-(2**70), max_value=2**70)
_FIGURES = st.lists(st.builds(Figure, _TEXT, st.decimals(allow_nan=False, allow_infinity=False, places=3),
                              st.none() | st.sampled_from(["%", "USD"])), max_size=2).map(tuple)
_SNAPSHOTS = st.none() | st.builds(Snapshot, _TEXT, _TEXT, st.none() | _INT, _OPTIONAL_TEXT)


@st.composite
def citations(draw: Any) -> Citation:
    plain = draw(st.booleans())  # half of them in the shape jsontext writes itself
    return Citation(document=draw(_TEXT), line=draw(st.none() | _INT), text=draw(_TEXT), url=draw(_TEXT),
                    page=None if plain else draw(st.none() | _INT),
                    kind="" if plain else draw(st.sampled_from(["", "image", "video"])),
                    accessed=None if plain else draw(_OPTIONAL_TEXT), claims=() if plain else draw(_FIGURES))


# The fields that put a result on the encoder's path; each example has none, one or a few of them.
_UNUSUAL = ("similarity", "quotes", "claims", "figures_not_found", "then_now", "baseline_note")


@st.composite
def results(draw: Any) -> Result:
    unusual = draw(st.sets(st.sampled_from(_UNUSUAL), max_size=3))

    def maybe(name: str, strategy: Any, absent: Any) -> Any:
        return draw(strategy) if name in unusual else absent

    claims = maybe("claims", _FIGURES, ())
    texts = [f.text for f in claims]
    return Result(
        url=draw(_TEXT), verdict=draw(st.sampled_from(Verdict)), reason=draw(st.sampled_from(Reason)),
        detail=draw(_TEXT), http_status=draw(st.none() | _INT), final_url=draw(_OPTIONAL_TEXT),
        redirects=tuple(draw(st.lists(st.builds(Hop, _TEXT, _INT), max_size=2))),
        citations=tuple(draw(st.lists(citations(), max_size=3))), reference_id=draw(_OPTIONAL_TEXT),
        snapshot=draw(_SNAPSHOTS), archived_url=draw(_OPTIONAL_TEXT), suggested_url=draw(_OPTIONAL_TEXT),
        first_failed=draw(_OPTIONAL_TEXT), consecutive_failures=draw(_INT), last_ok=draw(_OPTIONAL_TEXT),
        trend=draw(_OPTIONAL_TEXT), similarity=maybe("similarity", st.floats(allow_nan=False), None),
        changes=tuple(draw(st.lists(_TEXT, max_size=2))),
        quotes=tuple(maybe("quotes", st.lists(st.tuples(_TEXT, _TEXT, st.booleans()), min_size=1, max_size=2), ())),
        claims=claims, figures_found=tuple(t for t in texts if draw(st.booleans())),
        figures_not_found=tuple(maybe("figures_not_found", st.lists(_TEXT, min_size=1, max_size=2), ())),
        figures_lost=tuple(t for t in texts if draw(st.booleans())),
        then_now=maybe("then_now", st.builds(ThenAndNow, _TEXT, _OPTIONAL_TEXT, _OPTIONAL_TEXT, _OPTIONAL_TEXT,
                                             _SNAPSHOTS), None),
        baseline_note=maybe("baseline_note", _TEXT, None))


_OK = Result("https://example.org/a", Verdict.OK, Reason.OK, "HTTP 200", 200,
             citations=(Citation("paper.md", 3, "a source", "https://example.org/a"),))


@settings(max_examples=400)
@given(results())
@example(_OK)
@example(Result("#", Verdict.PLACEHOLDER, Reason.PLACEHOLDER, "", None,
                citations=(Citation("paper.md", None, "", "#"),), snapshot=Snapshot("w.warc.gz", "ab", 12, "2026-01-01T00:00:00Z"),
                redirects=(Hop("http://a.example/", 301),), suggested_url="https://x.example/"))
def test_result_text_is_the_encoders(result: Result) -> None:
    assert jsontext.result(result) == _ENCODER.encode(result.to_json())
    assert jsontext.citations(result.citations) == _ENCODER.encode([c.to_json() for c in result.citations])


@given(st.lists(citations(), max_size=4))
@example([Citation("paper.md", True, "a bool for a line", "u")])  # a bool is an int that json spells true
def test_citations_text_is_the_encoders(cited: list[Citation]) -> None:
    assert jsontext.citations(cited) == _ENCODER.encode([c.to_json() for c in cited])


def test_report_json_reads_back_as_to_json() -> None:
    """Lines joined a few hundred to a piece: the whole is still the report's to_json, one result a line."""
    report = RunReport(id="r", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:01Z", tool_version="1",
                       results=tuple(Result(f"https://example.org/{i}", Verdict.OK, Reason.OK, "HTTP 200", 200)
                                     for i in range(600)))
    text = report_json.render(report)
    assert json.loads(text) == report.to_json()
    assert len(text.splitlines()) == 1 + 600 + 1


def test_a_new_field_is_seen_by_these_tests() -> None:
    """jsontext spells each field of the usual shapes itself and the generators above fill every
    field they know: a field added to Result, Citation or Snapshot must be added to both, or a
    result holding it could be written without it and no example here would show it."""
    from dataclasses import fields

    assert [f.name for f in fields(Result)] == [
        "url", "verdict", "reason", "detail", "http_status", "final_url", "redirects", "citations",
        "reference_id", "snapshot", "archived_url", "suggested_url", "first_failed", "consecutive_failures",
        "last_ok", "trend", "similarity", "changes", "quotes",
        "checked_at",  # not in report.json: history's own column
        "claims", "figures_found", "figures_not_found", "figures_lost", "then_now", "baseline_note"]
    assert [f.name for f in fields(Citation)] == ["document", "line", "text", "url", "page", "kind", "accessed",
                                                 "claims"]
    assert [f.name for f in fields(Snapshot)] == ["warc", "sha256", "offset", "time"]
