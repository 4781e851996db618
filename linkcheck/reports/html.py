"""report.html: one self-contained page (inline CSS and SVG, no script) for browsers and mail clients."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..model import HISTORY_NOTE, Citation, Reason, Result, RunReport, Verdict
from .notes import figures_line, figures_summary, stand_ins, uncited

if TYPE_CHECKING:
    import jinja2

__all__ = ["COLOURS", "PLAIN_REASONS", "PLAIN_VERDICTS", "is_linkable", "plain_reason", "render"]

PLAIN_REASONS: dict[Reason, str] = {
    Reason.OK: "the page answers and still holds the evidence",
    Reason.PERMANENT_REDIRECT: "the page has moved permanently to another address",
    Reason.QUOTE_MISSING: "the quoted text is no longer on the page",
    Reason.FIGURE_MISSING: "a figure the citation states is no longer on the page",
    Reason.CONTENT_DRIFT: "the page's text has changed a lot since it was first archived",
    Reason.RETRACTED: "the cited work has been retracted or withdrawn",
    Reason.HTTP_STATUS: "the server answers with an error status",
    Reason.DNS: "the site's name no longer exists",
    Reason.CONNECTION_REFUSED: "the server refuses connections",
    Reason.REDIRECT_LOOP: "the address redirects in a circle",
    Reason.TOO_MANY_REDIRECTS: "the address redirects too many times",
    Reason.SOFT_404: "the page says it is not there",
    Reason.FRAGMENT_MISSING: "the section the link points to is not on the page",
    Reason.FILE_MISSING: "the linked file does not exist",
    Reason.PLACEHOLDER: "the link is a placeholder, not a real source",
    Reason.INVALID_URL: "the link is not a usable address",
    Reason.AUTH_REQUIRED: "the page needs a login",
    Reason.BOT_BLOCKED: "the site turns automated checkers away",
    Reason.RATE_LIMITED: "the site asked us to slow down",
    Reason.TIMEOUT: "the server took too long to answer",
    Reason.HTTP_5XX: "the server had an internal error",
    Reason.TLS: "the site's secure connection failed",
    Reason.CONNECTION: "the connection to the server failed",
    Reason.OFFLINE: "the network was down, so this could not be checked",
    Reason.UNREADABLE: "the text the check needs could not be read, so it could not be compared",
    Reason.EXCLUDED: "the settings say not to check this address",
    Reason.PRIVATE_ADDRESS: "the address is on a private network, so it was not fetched",
    Reason.MAILTO: "it is an e-mail address; only its form was checked",
    Reason.UNSUPPORTED_SCHEME: "this kind of link cannot be checked",
    Reason.LOCAL_FILE: "it is a file beside the document; it exists, so it was not fetched",
}


def plain_reason(reason: Reason) -> str:
    """The reason in plain words; a code newer than this table reads as its own words."""
    return PLAIN_REASONS.get(reason) or str(reason).replace("_", " ")

PLAIN_VERDICTS: dict[Verdict, str] = {
    Verdict.BROKEN: "The cited source cannot be reached any more.",
    Verdict.PLACEHOLDER: "The citation has no real source yet.",
    Verdict.CHANGED: "The source is there, but no longer says what was cited.",
    Verdict.REDIRECTED: "The source has moved; update the citation.",
    Verdict.BLOCKED: "The site would not let us look; check it by hand.",
    Verdict.ERROR: "The check failed this time; it is often temporary.",
    Verdict.SKIPPED: "Not checked, on purpose.",
    Verdict.OK: "The source is there.",
}

# Dark enough for white text; the badge text names the verdict, so colour never carries meaning alone.
COLOURS: dict[Verdict, str] = {
    Verdict.BROKEN: "#b91c1c", Verdict.PLACEHOLDER: "#a21caf", Verdict.CHANGED: "#c2410c",
    Verdict.REDIRECTED: "#1d4ed8", Verdict.BLOCKED: "#6d28d9", Verdict.ERROR: "#92400e",
    Verdict.SKIPPED: "#4b5563", Verdict.OK: "#15803d",
}

# What to do when the result itself suggests nothing better.
_NEXT_STEPS: dict[Verdict, str] = {
    Verdict.BROKEN: "Find where the source lives now, or cite an archived copy.",
    Verdict.PLACEHOLDER: "Put the real address of the source in the document.",
    Verdict.CHANGED: "Read the page; if it still supports the claim, run: linkcheck accept URL",
    Verdict.REDIRECTED: "Cite the new address.",
    Verdict.BLOCKED: "Open it in a browser to confirm it is still there.",
    Verdict.ERROR: "Run the check again later.",
    Verdict.SKIPPED: "Nothing, unless it should be checked.",
    Verdict.OK: "",
}

# Where the verdict's advice would mislead: a missing quote lives in the register, not the snapshot.
_NEXT_FOR_REASON: dict[str, str] = {
    str(Reason.QUOTE_MISSING): "Update the quote: in references.yaml to what the source says now, or restore "
                               "the cited text; linkcheck accept cannot help, the quote is not in the snapshot.",
}

# In the chart ok is pale, so that the failures at the base of each bar stand out.
_CHART_COLOURS = {**COLOURS, Verdict.OK: "#9fd4ad"}

_TRENDS = {"new": "newly failing in this run", "still": "still failing", "flaky": "failing on and off",
           "fixed": "fixed since the last run"}

# Only plain web addresses become links: never javascript:, data:, file: or anything a browser would run.
_LINKABLE = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f\"'<>`\\]+\Z", re.IGNORECASE)
# Characters HTML forbids in a document (controls, noncharacters, lone surrogates): dropped, not escaped.
_NOT_HTML = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]")
_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z\Z")

# Chart geometry, in pixels.
_BAR_W, _SLOT_W, _PLOT_H, _TOP, _LEFT = 26, 46, 140, 18, 8
_MAX_BARS = 13


def is_linkable(url: str | None) -> bool:
    """Whether a URL may become a clickable link: http or https, nothing else."""
    return bool(url) and _LINKABLE.match(url or "") is not None


def _clean(value: Any) -> Any:
    """Applied to every value the template prints, before autoescaping (markup stays markup)."""
    if isinstance(value, Markup):
        return Markup(_NOT_HTML.sub("", value))
    return _NOT_HTML.sub("", value) if isinstance(value, str) else value


def _when(value: str | None) -> str:
    """`2024-05-01T10:00:00Z` as `2024-05-01 10:00 UTC`; other forms as given."""
    if not value:
        return ""
    m = _ISO_TIME.match(value)
    return f"{m[1]} {m[2]} UTC" if m else value


@dataclass(frozen=True, slots=True)
class _Segment:
    verdict: str
    count: int
    y: str
    height: str
    colour: str


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    title: str
    total: int
    x: str
    top: str
    text_x: str
    segments: tuple[_Segment, ...]


def _bars(report: RunReport) -> list[_Bar]:
    """Stacked bars of verdict counts, oldest first, this run last; failures at the base."""
    runs = [*report.previous_runs, ("", report.summary)][-_MAX_BARS:]
    totals = [sum(counts.get(str(v), 0) for v in Verdict) for _, counts in runs]
    scale = _PLOT_H / max(max(totals), 1)
    base = _TOP + _PLOT_H
    bars = []
    for i, ((finished, counts), total) in enumerate(zip(runs, totals, strict=True)):
        x = _LEFT + i * _SLOT_W + (_SLOT_W - _BAR_W) / 2
        segments, below = [], 0
        for verdict in Verdict:
            count = counts.get(str(verdict), 0)
            if count:
                # From cumulative counts, so rounding never leaves gaps between segments.
                top, bottom = base - (below + count) * scale, base - below * scale
                segments.append(_Segment(str(verdict), count, f"{top:.1f}", f"{bottom - top:.1f}",
                                         _CHART_COLOURS[verdict]))
                below += count
        current = i == len(runs) - 1
        date = _when(finished)
        bars.append(_Bar(label="this run" if current else (date[5:10] if _ISO_TIME.match(finished) else date[:8]),
                         title="this run" if current else date, total=total, x=f"{x:.1f}",
                         top=f"{base - below * scale:.1f}", text_x=f"{x + _BAR_W / 2:.1f}", segments=tuple(segments)))
    return bars


def _location(citation: Citation) -> str:
    """`file:line`, with `page N` kept on one line."""
    return citation.where.replace(":page ", ":page\u00a0")


def _history(result: Result) -> list[str]:
    notes = []
    if result.trend:
        notes.append(_TRENDS.get(result.trend, result.trend))
    if result.first_failed:
        runs = result.consecutive_failures
        streak = f" ({runs} runs in a row)" if runs > 1 else ""
        notes.append(f"failing since {_when(result.first_failed)}{streak}")
    elif result.consecutive_failures > 1:
        notes.append(f"failed {result.consecutive_failures} runs in a row")
    if result.last_ok and result.verdict is not Verdict.OK:
        notes.append(f"last seen fine {_when(result.last_ok)}")
    return notes


@functools.cache
def _environment() -> jinja2.Environment:
    """Built on first use: a run that writes no HTML never loads Jinja2."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("linkcheck.reports", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, finalize=_clean, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["when"] = _when
    env.filters["location"] = _location
    env.tests["linkable"] = is_linkable
    env.globals.update(plain_reason=plain_reason, history=_history, history_note=HISTORY_NOTE)
    return env


def render(report: RunReport) -> str:
    """The whole report as one HTML page; the same report always gives the same bytes."""
    groups = [(v, [r for r in report.results if r.verdict is v]) for v in Verdict if v is not Verdict.OK]
    bars = _bars(report)
    shown = [v for v in Verdict if any(s.verdict == v for b in bars for s in b.segments)]
    behind = stand_ins(report)
    return _environment().get_template("report.html.j2").render(
        uncited=lambda result: uncited(result, behind), figures_line=figures_line,
        figures_summary=figures_summary(report),
        report=report, summary=report.summary, verdicts=list(Verdict), colours={str(k): c for k, c in COLOURS.items()},
        chart_colours={str(k): c for k, c in _CHART_COLOURS.items()},
        plain_verdicts={str(k): t for k, t in PLAIN_VERDICTS.items()},
        next_steps={str(k): t for k, t in _NEXT_STEPS.items()}, next_for_reason=_NEXT_FOR_REASON,
        groups=[(v, rs) for v, rs in groups if rs], ok=[r for r in report.results if r.verdict is Verdict.OK],
        bars=bars, legend=shown, chart_w=2 * _LEFT + len(bars) * _SLOT_W, chart_h=_TOP + _PLOT_H + 22,
        base_y=_TOP + _PLOT_H, bar_w=_BAR_W,
    )
