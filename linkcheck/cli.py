"""The command line: parse, call the library, write reports, turn the verdicts into an exit status."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, content
from .archive import export, read_capture
from .config import Config, default_config, load_config
from .errors import LinkcheckError
from .model import Verdict
from .pipeline import extract_documents, run_check
from .history import History
from .reports import FILENAMES, PLANNED, text, write_reports
from .store import archive_dir, history_path
from .urls import normalise

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
_FORMATS = ("json", "markdown", "html", "junit", "text")


class _InputProblem(click.ClickException):
    """A LinkcheckError at the boundary: one line, exit status 2, no traceback."""

    exit_code = 2


def _boundary(func: F) -> F:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LinkcheckError as exc:
            raise _InputProblem(str(exc)) from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _verdicts(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[Verdict] | None:
    if value is None:
        return None
    try:
        return frozenset(Verdict(v) for v in _split((value,)))
    except ValueError:
        raise click.BadParameter(f"{value!r}: choose from {', '.join(Verdict)}") from None


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """'90s', '30m', '6h', '1d', '2w' (a bare number is seconds) to seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value.lower())
    if not match:
        raise click.BadParameter(f"{value!r}: use a number with s, m, h, d or w, e.g. 6h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _state(config: Config, state_dir: Path | None) -> Path:
    """--state-dir, else .linkcheck/ beside the references file, else in the working folder."""
    if state_dir is not None:
        return state_dir
    return (config.path.parent if config.path else Path(".")) / ".linkcheck"


def _load(references: Path | None) -> Config:
    if references is not None:
        return load_config(references)
    default = Path("references.yaml")
    return load_config(default) if default.is_file() else default_config()


def _in_ci() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


class _Progress:
    """A one-line progress counter on a terminal; silent in CI logs and pipes."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total:
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\rchecking [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """Check every cited source of a submission: gone, moved, placeholder, blocked."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--references", type=click.Path(path_type=Path), help="The reference register [./references.yaml].")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path),
              help="What persists between runs [.linkcheck/ beside the references file].")
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help=f"Extra report formats ({', '.join(_FORMATS)}); repeat or separate with commas.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Requests in flight at once [64].")
@click.option("--per-host", type=click.IntRange(min=1), help="Requests in flight to one host [4].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request [20].")
@click.option("--retries", type=click.IntRange(min=0), help="Retries of transient failures [2].")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch loopback, private and link-local addresses.")
@click.option("--no-archive", is_flag=True, help="Keep no snapshot of the evidence.")
@click.option("--cache-ttl", callback=_duration, metavar="DURATION",
              help="Reuse ok results younger than this (e.g. 6h, 30m, 1d); failures are always re-checked.")
@click.option("--fail-on", callback=_verdicts, metavar="VERDICT[,VERDICT...]",
              help="Verdicts that make the exit status 1 [broken,changed,placeholder].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status tells.")
@_boundary
def check(paths: tuple[Path, ...], references: Path | None, report_dir: Path, state_dir: Path | None,
          formats: tuple[str, ...], concurrency: int | None, per_host: int | None, timeout: float | None,
          retries: int | None, allow_private: bool | None, no_archive: bool, cache_ttl: float | None,
          fail_on: frozenset[Verdict] | None, quiet: bool) -> None:
    """Check the documents (default: those listed in the references file)."""
    chosen = _split(formats)
    unknown = [f for f in chosen if f not in _FORMATS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(_FORMATS)}",
                                 param_hint="--format")
    config = _load(references)
    settings = config.settings.replace(concurrency=concurrency, per_host=per_host, timeout=timeout,
                                       retries=retries, allow_private=allow_private)
    progress = _Progress(enabled=not quiet and not _in_ci())
    try:
        report = asyncio.run(run_check(config, list(paths), settings=settings, state_dir=_state(config, state_dir),
                                       archive=not no_archive, cache_ttl=cache_ttl, progress=progress))
    finally:
        progress.close()
    write_reports(report, report_dir, chosen)
    if not quiet:
        click.echo(text.render(report), nl=False)
        for name in sorted(set(chosen) & PLANNED):
            click.echo(f"note: the {name} format ({FILENAMES[name]}) is not available in this version", err=True)
        click.echo(f"report: {report_dir / FILENAMES['json']}")
    failing = report.failing(fail_on if fail_on is not None else frozenset(Verdict(v) for v in settings.fail_on))
    sys.exit(1 if failing else 0)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON array of citations.")
@_boundary
def extract(paths: tuple[Path, ...], as_json: bool) -> None:
    """Print every citation found in the documents: where, anchor text, URL."""
    _, citations = extract_documents(list(paths))
    if as_json:
        click.echo(json.dumps([{**c.to_json(), "url": c.url} for c in citations], indent=2, ensure_ascii=False))
        return
    for c in citations:
        click.echo(f"{c.location}\t{c.text}\t{c.url}")


def _state_options(func: F) -> F:
    """--references and --state-dir, as `check` resolves them, for the commands that read state."""
    func = click.option("--state-dir", type=click.Path(path_type=Path),
                        help="What persists between runs [.linkcheck/ beside the references file].")(func)
    return click.option("--references", type=click.Path(path_type=Path),
                        help="The reference register [./references.yaml].")(func)


def _open_history(references: Path | None, state_dir: Path | None) -> tuple[Path, History]:
    state = _state(_load(references), state_dir)
    path = history_path(state)
    if not path.is_file():
        raise LinkcheckError(f"{path}: no history yet; run `linkcheck check` first")
    return state, History(path)


def _instant(value: str | None) -> str | None:
    """'2026-11-28' (end of that day) or a full ISO time, as history stores times."""
    if value is None:
        return None
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return f"{value}T23:59:59Z"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD or an ISO 8601 time", param_hint="--at") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@main.group()
def archive() -> None:
    """The snapshots of the evidence, as stored in WARC files in the state dir."""


@archive.command("list")
@click.argument("url", required=False)
@_state_options
@_boundary
def archive_list(url: str | None, references: Path | None, state_dir: Path | None) -> None:
    """Every stored snapshot (of URL, if given), newest first."""
    _, history = _open_history(references, state_dir)
    with history:
        rows = history.snapshots(normalise(url) if url else None)
    if not rows:
        click.echo("no snapshots" + (f" of {url}" if url else ""))
    for row in rows:
        marks = ",".join(m for m, on in (("baseline", row.baseline), ("revisit", row.revisit)) if on)
        click.echo(f"{row.time}  {row.status}  {row.sha256[:12]}  {row.warc}@{row.offset}  {row.url}"
                   + (f"  [{marks}]" if marks else ""))


@archive.command("show")
@click.argument("url")
@click.option("--at", "at", metavar="DATE", help="The snapshot as it was at this date or time [latest].")
@click.option("--text", "mode", flag_value="text", default=True, help="The stored page's main text [default].")
@click.option("--raw", "mode", flag_value="raw", help="The stored body, byte for byte.")
@_state_options
@_boundary
def archive_show(url: str, at: str | None, mode: str, references: Path | None, state_dir: Path | None) -> None:
    """One stored snapshot of URL: its main text, or its raw body."""
    state, history = _open_history(references, state_dir)
    with history:
        row = history.snapshot_at(normalise(url), _instant(at))
        if row is None:
            raise LinkcheckError(f"{url}: no snapshot" + (f" at or before {at}" if at else ""))
        source = history.original_for(row.sha256) if row.revisit else row
    if source is None:
        raise LinkcheckError(f"{url}: the snapshot's original record is no longer in the archive")
    stored = read_capture(archive_dir(state), source.warc, source.offset)
    click.echo(f"{row.url}  captured {row.time}  HTTP {row.status}  sha256 {row.sha256}", err=True)
    if mode == "raw":
        click.echo(stored.body, nl=False)  # bytes go to the binary stream untouched
        return
    content_type = next((v for k, v in stored.headers if k.lower() == "content-type"), "")
    click.echo(content.main_text(stored.body, content_type))


@archive.command("export")
@click.argument("dest", type=click.Path(path_type=Path))
@_state_options
@_boundary
def archive_export(dest: Path, references: Path | None, state_dir: Path | None) -> None:
    """Every snapshot in one WARC file, for pywb, ReplayWeb.page or the Wayback Machine's tools."""
    state, history = _open_history(references, state_dir)
    with history:
        rows = history.snapshots()
        originals = [history.original_for(r.sha256) for r in rows if r.revisit]
    records = list(dict.fromkeys((r.warc, r.offset) for r in [*rows, *(o for o in originals if o)]))
    count = export(archive_dir(state), records, dest)
    click.echo(f"{count} captures written to {dest}")


@main.command()
@click.argument("url", required=False)
@click.option("--all", "all_urls", is_flag=True, help="Accept the current snapshot of every URL.")
@_state_options
@_boundary
def accept(url: str | None, all_urls: bool, references: Path | None, state_dir: Path | None) -> None:
    """Take the current snapshot of URL (or of --all) as the new baseline, after review."""
    if bool(url) == all_urls:
        raise click.UsageError("give a URL or --all")
    _, history = _open_history(references, state_dir)
    with history:
        accepted = history.accept(normalise(url) if url else None)
    if not accepted:
        raise LinkcheckError(f"{url}: no snapshot to accept" if url else "no snapshots to accept")
    for item in accepted:
        click.echo(f"accepted {item}")


@main.command("history")
@click.argument("url")
@_state_options
@_boundary
def history_command(url: str, references: Path | None, state_dir: Path | None) -> None:
    """A URL's timeline: every run's verdict, oldest first."""
    _, history = _open_history(references, state_dir)
    with history:
        rows = history.timeline(normalise(url))
    if not rows:
        raise LinkcheckError(f"{url}: not in the history")
    for row in rows:
        status = row.http_status if row.http_status is not None else "-"
        click.echo(f"{row.time}  {row.verdict:<11} {row.reason:<18} {status}  {row.detail}")
