"""Shared pieces of the command line: option parsers, state-dir resolution, safe printing."""
from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import click

from ..config import Config, default_config, load_config
from ..errors import LinkcheckError
from ..history import History
from ..model import Verdict
from ..printable import printable
from ..store import history_path
from ..times import format_time
from .boundary import HISTORY

__all__ = ["Progress", "duration", "echo", "in_ci", "instant", "load", "open_history",
           "split", "state", "state_options", "verdicts"]

F = TypeVar("F", bound=Callable[..., Any])


def echo(message: str = "", *, err: bool = False, nl: bool = True, keep_cr: bool = False) -> None:
    """click.echo for text that may hold what a document or a server wrote: control characters are
    printed as `\\x1b`, so they cannot retitle, clear or recolour the terminal (`keep_cr` for diffs)."""
    click.echo(printable(message, keep_cr=keep_cr), err=err, nl=nl)


def split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def verdicts(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[Verdict] | None:
    if value is None:
        return None
    try:
        return frozenset(Verdict(v) for v in split((value,)))
    except ValueError:
        raise click.BadParameter(f"{value!r}: choose from {', '.join(Verdict)}") from None


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """'90s', '30m', '6h', '1d', '2w' (a bare number is seconds) to seconds."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value.lower())
    if not match:
        raise click.BadParameter(f"{value!r}: use a number with s, m, h, d or w, e.g. 6h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def state(config: Config, state_dir: Path | None) -> Path:
    """--state-dir, else .linkcheck/ beside the references file, else in the working folder; noted
    for the boundary, which names its history database when that turns out damaged."""
    folder = state_dir if state_dir is not None else (config.path.parent if config.path else Path(".")) / ".linkcheck"
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[HISTORY] = history_path(folder)
    return folder


def load(references: Path | None) -> Config:
    if references is not None:
        return load_config(references)
    default = Path("references.yaml")
    return load_config(default) if default.is_file() else default_config()


def in_ci() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


_REDRAW = 0.1  # seconds between two drawings of the progress line


class Progress:
    """A one-line progress counter on a terminal; silent in CI logs and pipes."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._drawn = -_REDRAW

    def __call__(self, done: int, total: int) -> None:
        """Redrawn at most every _REDRAW seconds, and at the end: not one write per link."""
        if self.enabled and total:
            now = time.monotonic()
            if done < total and now - self._drawn < _REDRAW:
                return
            self._drawn = now
            width = 30
            filled = width * done // total
            sys.stderr.write(f"\rchecking [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")


def state_options(func: F) -> F:
    """--references and --state-dir, as `check` resolves them, for the commands that read state."""
    func = click.option("--state-dir", type=click.Path(path_type=Path),
                        help="What persists between runs [.linkcheck/ beside the references file].")(func)
    return click.option("--references", type=click.Path(path_type=Path),
                        help="The reference register [./references.yaml].")(func)


def open_history(references: Path | None, state_dir: Path | None) -> tuple[Path, History]:
    folder = state(load(references), state_dir)
    path = history_path(folder)
    if not path.is_file():
        raise LinkcheckError(f"{path}: no history yet; run `linkcheck check` first")
    return folder, History(path)


def instant(value: str | None) -> str | None:
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
    return format_time(parsed)


