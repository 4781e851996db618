"""The periodic digest: what broke, what is still broken and what was fixed, from history rows (pure)."""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from ..model import FAILING, GOOD, HISTORY_NOTE, Citation, Verdict, identity
from ..thennow import ThenAndNow
from ..times import parse_time

if TYPE_CHECKING:
    import jinja2

__all__ = ["Digest", "Item", "ResultLike", "build_digest", "render_html", "render_text"]

_ORDER = {str(v): i for i, v in enumerate(Verdict)}


class ResultLike(Protocol):
    """A stored verdict, as History.latest_results and History.results_between return it."""

    @property
    def run_id(self) -> str: ...
    @property
    def finished(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def reference_id(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def http_status(self) -> int | None: ...
    @property
    def citations(self) -> tuple[Citation, ...]: ...
    @property
    def first_failed(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Item:
    """One citation's line in the digest. `days` counts whole days failing (still broken);
    `was` is the failing verdict a fixed citation had."""

    url: str
    verdict: str
    reason: str
    detail: str
    http_status: int | None
    citations: tuple[Citation, ...]
    first_failed: str | None = None
    days: int | None = None
    was: str | None = None
    reference_id: str = ""
    then_now: ThenAndNow | None = None  # a changed source: its cited sentence then and now


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything the email says; `latest_run` is None when no counted run has finished yet.
    `history_missing` is when a run of the period expected earlier state and found none."""

    title: str
    since: str
    now: str
    latest_run: str | None
    runs_in_period: int
    new: tuple[Item, ...]
    still: tuple[Item, ...]
    fixed: tuple[Item, ...]
    totals: dict[str, int]
    previous_totals: dict[str, int] | None
    offline_run: str | None = None  # when the last run ended, if it found its own network down
    history_missing: str | None = None  # when a run of the period expected earlier state and found none

    @property
    def newly_broken(self) -> int:
        """Newly failing citations other than changed ones (placeholder, blocked, error included)."""
        return sum(item.verdict != Verdict.CHANGED for item in self.new)

    @property
    def changed(self) -> int:
        return sum(item.verdict == Verdict.CHANGED for item in self.new)

    @property
    def subject(self) -> str:
        """The counts and the title, on one line whatever the title holds."""
        line = (f"{self.newly_broken} newly broken, {self.changed} changed, {len(self.still)} still broken, "
                f"{len(self.fixed)} fixed{' (no history found)' if self.history_missing else ''} — {self.title}")
        return " ".join(line.split())

    def trend(self, verdict: str) -> str:
        """'+2', '-1' or '' (unchanged, or no previous run) against the previous run."""
        if self.previous_totals is None:
            return ""
        delta = self.totals.get(verdict, 0) - self.previous_totals.get(verdict, 0)
        return f"{delta:+d}" if delta else ""


def _item(row: ResultLike, first_failed: str | None = None, days: int | None = None, was: str | None = None) -> Item:
    return Item(row.url, str(row.verdict), str(row.reason), row.detail, row.http_status, tuple(row.citations),
                first_failed, days, was, row.reference_id or "")


def with_then_and_now(digest: Digest, shown: Mapping[tuple[str, str], ThenAndNow | None]) -> Digest:
    """The digest with each failing item's sentence then and now (by URL identity), where the
    latest run's report has one."""
    def add(items: tuple[Item, ...]) -> tuple[Item, ...]:
        return tuple(replace(i, then_now=shown.get(identity(i.url, i.reference_id), i.then_now)) for i in items)
    return replace(digest, new=add(digest.new), still=add(digest.still))


def _totals(rows: Iterable[ResultLike]) -> dict[str, int]:
    counts = {str(v): 0 for v in Verdict}
    for row in rows:
        counts[str(row.verdict)] = counts.get(str(row.verdict), 0) + 1
    return counts


def build_digest(rows: Sequence[ResultLike], since: str, now: str, *, title: str,
                 offline_run: str | None = None) -> Digest:
    """The digest of the period [since, now] from the rows of the run it started from (the latest
    finished before `since`) and of every run finished in it, offline runs left out.

    The latest run says what is failing now: newly when its failing streak began in the period,
    still when before. Fixed means ok or redirected now after failing in an earlier run given.
    `offline_run` is when the last run ended if it found its own network down: the digest says so."""
    runs: dict[str, list[ResultLike]] = {}
    for row in rows:
        runs.setdefault(row.run_id, []).append(row)
    order = sorted(runs, key=lambda run_id: runs[run_id][0].finished)  # stable: ties keep the given order
    if not order:
        return Digest(title, since, now, None, 0, (), (), (), _totals(()), None, offline_run)
    latest = runs[order[-1]]
    was: dict[tuple[str, str], str] = {}
    for run_id in order[:-1]:
        for row in runs[run_id]:
            if row.verdict in FAILING:
                was[identity(row.url, row.reference_id)] = str(row.verdict)
    new, still, fixed = [], [], []
    for row in latest:
        if row.verdict in FAILING:
            first = row.first_failed or row.finished
            if first >= since:
                new.append(_item(row, first_failed=first))
            else:
                still.append(_item(row, first_failed=first, days=(parse_time(now) - parse_time(first)).days))
        elif row.verdict in GOOD and identity(row.url, row.reference_id) in was:
            fixed.append(_item(row, was=was[identity(row.url, row.reference_id)]))
    new.sort(key=lambda i: (_ORDER.get(i.verdict, len(_ORDER)), i.url))
    still.sort(key=lambda i: (i.first_failed or "", i.url))
    fixed.sort(key=lambda i: i.url)
    previous = _totals(runs[order[-2]]) if len(order) > 1 else None
    in_period = sum(runs[run_id][0].finished >= since for run_id in order)
    return Digest(title, since, now, latest[0].finished, in_period, tuple(new), tuple(still), tuple(fixed),
                  _totals(latest), previous, offline_run)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _intro(digest: Digest) -> str:
    period = f"{digest.since[:10]} to {digest.now[:10]}"
    offline = (f" The last run ({digest.offline_run}) was offline: the checker's own network was down, "
               "so it checked nothing and is not counted here." if digest.offline_run else "")
    if digest.latest_run is None:
        return f"{period}: no check has finished yet.{offline}"
    if not digest.runs_in_period:
        return f"{period}: no check finished in this period; the latest finished {digest.latest_run}.{offline}"
    runs = "1 run" if digest.runs_in_period == 1 else f"{digest.runs_in_period} runs"
    intro = f"{period}: {runs}, the latest finished {digest.latest_run}.{offline}"
    if digest.history_missing:
        intro += (f" NOTE: {HISTORY_NOTE}. The run of {digest.history_missing} expected earlier state and found "
                  "none, so every failure below counts as new and drift is measured from that run.")
    return intro


def _why(item: Item) -> str:
    return _one_line(f"{item.reason}: {item.detail}" if item.detail else item.reason)


def _cited(citation: Citation) -> str:
    return citation.where + (f"  “{_one_line(citation.text)}”" if citation.text.strip() else "")


def _then_and_now(shown: ThenAndNow) -> list[str]:
    lines = [f"      {shown.when_cited}: “{_one_line(shown.then)}”",
             f"      now: {'“' + _one_line(shown.now) + '”' if shown.now else '(nothing like it is on the page now)'}"]
    if shown.memento_url:
        lines.append(f"      archived copy: {_one_line(shown.memento_url)}")
    if shown.snapshot is not None:
        lines.append(f"      our snapshot: {_one_line(shown.snapshot.warc)}"
                     + (f" at offset {shown.snapshot.offset}" if shown.snapshot.offset is not None else ""))
    return lines


def render_text(digest: Digest) -> str:
    """The plain-text part: the same sections as the HTML, readable in any mail client."""
    lines = [f"linkcheck digest — {_one_line(digest.title)}", "", _intro(digest)]
    sections = (("Newly broken or changed", digest.new), ("Still broken", digest.still), ("Fixed", digest.fixed))
    for heading, items in sections:
        lines += ["", f"{heading} ({len(items)})"]
        if not items:
            lines.append("  none")
        for item in items:
            if item.was is not None:
                note = f"was {item.was}"
            elif item.days is not None:
                note = f"{_why(item)} — failing for {item.days} days (since {(item.first_failed or '')[:10]})"
            else:
                note = _why(item)
            lines.append(f"  [{item.verdict}] {_one_line(item.url)} — {note}")
            if item.then_now is not None:
                lines += _then_and_now(item.then_now)
            lines += [f"      {_cited(c)}" for c in item.citations]
    lines += ["", "Latest run, by verdict" + (" (change since the previous run)" if digest.previous_totals else "")]
    for verdict, count in digest.totals.items():
        trend = digest.trend(verdict)
        lines.append(f"  {verdict:<12} {count:>5}" + (f"  ({trend})" if trend else ""))
    return "\n".join(lines) + "\n"


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ d.subject }}</title>
<style>
body{margin:0;padding:16px;background:#f3f4f6;color:#111827;
font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.page{max-width:1120px;margin:0 auto;background:#fff;padding:20px 24px;border:1px solid #e5e7eb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}.muted{color:#4b5563}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th{text-align:left;background:#f9fafb;border-bottom:2px solid #d1d5db;font-size:12px;text-transform:uppercase;
letter-spacing:.03em;color:#374151;padding:4px 8px}
td{border-bottom:1px solid #e5e7eb;vertical-align:top;padding:4px 8px;overflow-wrap:anywhere}td.n{text-align:right}
.url,code{font-family:ui-monospace,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.url{word-break:break-all}
.v{font-weight:600;white-space:nowrap}.broken,.changed,.placeholder{color:#b91c1c}.blocked,.error{color:#a16207}
.ok,.redirected{color:#15803d}
</style></head>
<body><div class="page">
<h1>linkcheck digest — {{ d.title }}</h1>
<p class="muted">{{ intro }}</p>
{% for heading, items in sections %}
<h2>{{ heading }} ({{ items|length }})</h2>
{% if items %}<table>
<tr><th>verdict</th><th>URL</th><th>why</th><th>cited at</th></tr>
{% for i in items %}<tr><td class="v {{ i.verdict }}">{{ i.verdict }}</td>
<td class="url">{% if i.url is web %}<a href="{{ i.url }}">{{ i.url }}</a>{% else %}{{ i.url }}{% endif %}</td>
<td>{% if i.was %}was {{ i.was }}{% else %}{{ i.reason }}{% if i.detail %}: {{ i.detail }}{% endif %}
{% if i.then_now %}<table style="margin:4px 0;width:100%"><tr><th>{{ i.then_now.when_cited }}</th><th>now</th></tr>
<tr><td style="background:#fee2e2">“{{ i.then_now.then }}”</td><td style="background:#f3f4f6">
{% if i.then_now.now %}“{{ i.then_now.now }}”{% else %}<em>nothing like it is on the page now</em>{% endif %}</td></tr>
{% if i.then_now.memento_url or i.then_now.snapshot %}<tr><td colspan="2" class="muted">
{% if i.then_now.memento_url %}{% if i.then_now.memento_url is web %}<a href="{{ i.then_now.memento_url }}">
archived copy</a>{% else %}archived copy: {{ i.then_now.memento_url }}{% endif %}{% endif %}
{% if i.then_now.snapshot %} our snapshot: <code>{{ i.then_now.snapshot.warc }}</code>{% endif %}</td></tr>{% endif %}
</table>{% endif %}
{% if i.days is not none %}<br><span class="muted">failing for {{ i.days }} days, since {{ i.first_failed[:10] }}
</span>{% endif %}{% endif %}</td>
<td>{% for c in i.citations %}<code>{{ c.location }}</code>{% if c.text.strip() %} “{{ c.text }}”{% endif %}
{% if not loop.last %}<br>{% endif %}{% else %}—{% endfor %}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">None.</p>{% endif %}
{% endfor %}
<h2>Latest run, by verdict</h2>
<table><tr><th>verdict</th><th>count</th>{% if d.previous_totals %}<th>since the previous run</th>{% endif %}</tr>
{% for verdict, count in d.totals.items() %}<tr><td class="v {{ verdict }}">{{ verdict }}</td>
<td class="n">{{ count }}</td>{% if d.previous_totals %}<td class="n">{{ d.trend(verdict) }}</td>{% endif %}</tr>
{% endfor %}</table>
</div></body></html>
"""

# Everything rendered comes from documents and servers, so autoescape is on for every value.
@functools.cache
def _template() -> jinja2.Template:
    """Built on first use, so that importing the digest does not load Jinja2."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.tests["web"] = lambda url: isinstance(url, str) and url.lower().startswith(("http://", "https://"))
    return env.from_string(_HTML)


def render_html(digest: Digest) -> str:
    """The HTML part: one self-contained page (inline CSS, no images or scripts)."""
    sections = (("Newly broken or changed", digest.new), ("Still broken", digest.still), ("Fixed", digest.fixed))
    return str(_template().render(d=digest, intro=_intro(digest), sections=sections))
