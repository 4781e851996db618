"""The command line: parse, call the library, write reports, turn the verdicts into an exit status."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .config import Config, default_config, load_config
from .errors import LinkcheckError
from .model import Verdict
from .pipeline import extract_documents, run_check
from .reports import FILENAMES, PLANNED, text, write_reports

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
@click.option("--fail-on", callback=_verdicts, metavar="VERDICT[,VERDICT...]",
              help="Verdicts that make the exit status 1 [broken,changed,placeholder].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status tells.")
@_boundary
def check(paths: tuple[Path, ...], references: Path | None, report_dir: Path, state_dir: Path | None,
          formats: tuple[str, ...], concurrency: int | None, per_host: int | None, timeout: float | None,
          retries: int | None, allow_private: bool | None, no_archive: bool,
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
        report = asyncio.run(run_check(config, list(paths), settings=settings, need_body=not no_archive,
                                       progress=progress))
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
