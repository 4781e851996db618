"""The calls a program makes: check a register's documents, and render the report.

`linkcheck/__init__.py` re-exports these with the result types and the errors; everything else
in the package is private and may change between releases."""
from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from .config import Config, Settings, default_config
from .model import RunReport
from .pipeline import run_check
from .reports import FORMATS

__all__ = ["check", "check_async", "render"]

StrPath = str | os.PathLike[str]


async def check_async(config: Config | None = None, paths: Sequence[StrPath] = (), *,
                      settings: Settings | None = None, state_dir: StrPath | None = None, archive: bool = True,
                      cache_ttl: float | None = None, archived_copies: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Check every citation of `paths` (default: the register's documents) and every URL the
    register lists; per-link trouble is in each result's verdict, never raised.

    `config` is a register from load_config (default: none, only the documents' own links);
    `settings` replaces its settings (e.g. `config.settings.replace(allow_private=True)`).
    Without `state_dir` a run keeps nothing; with one, evidence is archived (unless `archive`
    is false), compared with earlier runs' baselines and recorded, as `linkcheck check` does.
    `cache_ttl` (seconds) reuses ok results younger than that; `archived_copies` asks the
    Wayback Machine for an archived copy of broken evidence. `progress(done, total)` is called
    as results come in. Raises InputError (or ConfigError) for a document that cannot be read."""
    config = config if config is not None else default_config()
    return await run_check(config, [Path(p) for p in paths], settings=settings,
                           state_dir=Path(state_dir) if state_dir is not None else None, archive=archive,
                           cache_ttl=cache_ttl, archived_copies=archived_copies, progress=progress)


def check(config: Config | None = None, paths: Sequence[StrPath] = (), *, settings: Settings | None = None,
          state_dir: StrPath | None = None, archive: bool = True, cache_ttl: float | None = None,
          archived_copies: bool = False, progress: Callable[[int, int], None] | None = None) -> RunReport:
    """check_async run to its end on an event loop of its own; a caller already on a loop
    awaits check_async instead."""
    return asyncio.run(check_async(config, paths, settings=settings, state_dir=state_dir, archive=archive,
                                   cache_ttl=cache_ttl, archived_copies=archived_copies, progress=progress))


def render(report: RunReport, format: str = "text") -> str:
    """The report as one of the formats `linkcheck check --format` writes: text, json, markdown,
    html, junit or sarif. Document-derived text is escaped as each format requires."""
    try:
        renderer = FORMATS[format]
    except KeyError:
        raise ValueError(f"{format!r}: choose from {', '.join(FORMATS)}") from None
    return renderer(report)
