"""The commands that read the state dir: archive list/show/export/prune, accept, history."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from .. import content
from ..archive import export, read_capture
from ..classify import QUOTE_ADVICE
from ..errors import LinkcheckError
from ..model import Reason
from ..store import archive_dir, last_report_path
from ..times import format_time, parse_time, utc_now
from ..urls import normalise, redact
from . import main
from .options import duration, echo, instant, open_history, state_options


@main.group()
def archive() -> None:
    """The snapshots of the evidence, as stored in WARC files in the state dir."""


@archive.command("list")
@click.argument("url", required=False)
@state_options
def archive_list(url: str | None, references: Path | None, state_dir: Path | None) -> None:
    """Every stored snapshot (of URL, if given), newest first."""
    _, history = open_history(references, state_dir)
    with history:
        rows = history.snapshots(redact(normalise(url)) if url else None)
    if not rows:
        echo("no snapshots" + (f" of {url}" if url else ""))
    for row in rows:
        marks = ",".join(m for m, on in (("baseline", row.baseline), ("revisit", row.revisit)) if on)
        echo(f"{row.time}  {row.status}  {row.sha256[:12]}  {row.warc}@{row.offset}  {row.url}"
                   + (f"  [{marks}]" if marks else ""))


@archive.command("show")
@click.argument("url")
@click.option("--at", "at", metavar="DATE", help="The snapshot as it was at this date or time [latest].")
@click.option("--text", "mode", flag_value="text", default=True, help="The stored page's main text [default].")
@click.option("--raw", "mode", flag_value="raw", help="The stored body, byte for byte.")
@state_options
def archive_show(url: str, at: str | None, mode: str, references: Path | None, state_dir: Path | None) -> None:
    """One stored snapshot of URL: its main text, or its raw body."""
    state, history = open_history(references, state_dir)
    with history:
        row = history.snapshot_at(redact(normalise(url)), instant(at))
        if row is None:
            raise LinkcheckError(f"{url}: no snapshot" + (f" at or before {at}" if at else ""))
        source = history.original_for(row.sha256) if row.revisit else row
    if source is None:
        raise LinkcheckError(f"{url}: the snapshot's original record is no longer in the archive")
    stored = read_capture(archive_dir(state), source.warc, source.offset)
    echo(f"{row.url}  captured {row.time}  HTTP {row.status}  sha256 {row.sha256}", err=True)
    if mode == "raw":
        click.echo(stored.body, nl=False)  # bytes go to the binary stream untouched
        return
    content_type = next((v for k, v in stored.headers if k.lower() == "content-type"), "")
    echo(content.main_text(stored.body, content_type))


@archive.command("export")
@click.argument("dest", type=click.Path(path_type=Path))
@state_options
def archive_export(dest: Path, references: Path | None, state_dir: Path | None) -> None:
    """Every snapshot in one WARC file, for pywb, ReplayWeb.page or the Wayback Machine's tools."""
    state, history = open_history(references, state_dir)
    with history:
        rows = history.snapshots()
        originals = [history.original_for(r.sha256) for r in rows if r.revisit]
    records = list(dict.fromkeys((r.warc, r.offset) for r in [*rows, *(o for o in originals if o)]))
    count = export(archive_dir(state), records, dest)
    echo(f"{count} captures written to {dest}")


@archive.command("prune")
@click.option("--keep-runs", type=click.IntRange(min=1), metavar="N", help="Keep every capture of the newest N runs.")
@click.option("--older-than", callback=duration, metavar="DURATION",
              help="Drop only captures older than this (e.g. 90d, 12w).")
@click.option("--dry-run", is_flag=True, help="Say what would be dropped; change nothing.")
@state_options
def archive_prune(keep_runs: int | None, older_than: float | None, dry_run: bool, references: Path | None,
                  state_dir: Path | None) -> None:
    """Drop old captures; never a baseline, the last good capture of a failing source, or the
    original of a revisit that stays. The WARC files are rewritten atomically."""
    if keep_runs is None and older_than is None:
        raise click.UsageError("give --keep-runs N, --older-than DURATION, or both")
    from ..prune import apply_plan, plan_prune, repoint_report

    cutoff = format_time(parse_time(utc_now()) - timedelta(seconds=older_than)) if older_than is not None else None
    state, history = open_history(references, state_dir)
    with history:
        plan = plan_prune(history, archive_dir(state), keep_runs=keep_runs, older_than=cutoff)
        if not dry_run:
            apply_plan(history, archive_dir(state), plan)
            repoint_report(last_report_path(state), plan)
    verb = "would drop" if dry_run else "dropped"
    for item in plan.dropped:
        echo(f"{verb}  {item.time}  {item.url}  {item.warc}@{item.offset}")
    rewritten = len(plan.files) - plan.files_removed
    echo(f"{verb} {len(plan.dropped)} captures ({rewritten} WARC files rewritten, {plan.files_removed} "
               f"removed): {plan.bytes_freed} bytes {'would be ' if dry_run else ''}freed")
    if plan.kept:
        echo("kept though old: " + ", ".join(f"{n} {why}" for why, n in sorted(plan.kept.items())))


@main.command()
@click.argument("url", required=False)
@click.option("--all", "all_urls", is_flag=True, help="Accept the current snapshot of every URL.")
@state_options
def accept(url: str | None, all_urls: bool, references: Path | None, state_dir: Path | None) -> None:
    """Take the current snapshot of URL (or of --all) as the new baseline, after review."""
    if bool(url) == all_urls:
        raise click.UsageError("give a URL or --all")
    _, history = open_history(references, state_dir)
    with history:
        accepted = history.accept(redact(normalise(url)) if url else None)
        missing = {item for item in accepted if history.latest_reason(item) == Reason.QUOTE_MISSING}
    if not accepted:
        raise LinkcheckError(f"{url}: no snapshot to accept" if url else "no snapshots to accept")
    for item in accepted:
        if item in missing:
            # The new baseline is taken, but that is not what this URL needs.
            echo(f"{item}: the quote is missing, which accepting a snapshot cannot fix: {QUOTE_ADVICE}")
        else:
            echo(f"accepted {item}")


@main.command("history")
@click.argument("url")
@state_options
def history_command(url: str, references: Path | None, state_dir: Path | None) -> None:
    """A URL's timeline: every run's verdict, oldest first."""
    _, history = open_history(references, state_dir)
    with history:
        rows = history.timeline(redact(normalise(url)))
    if not rows:
        raise LinkcheckError(f"{url}: not in the history")
    for row in rows:
        status = row.http_status if row.http_status is not None else "-"
        echo(f"{row.time}  {row.verdict:<11} {row.reason:<18} {status}  {row.detail}")
