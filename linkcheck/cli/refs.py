"""`linkcheck refs sync` and `linkcheck init`: start the reference register, and keep it in step."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import Settings, load_config
from ..errors import LinkcheckError
from ..pipeline import extract_documents
from ..redact import redact
from ..refs import SyncPlan, apply_sync, fetch_titles, init_register, plan_sync
from . import boundary, main
from .options import echo

__all__ = ["init", "refs"]

_REFERENCES = "references.yaml"


def _titles(plan: SyncPlan, settings: Settings, wanted: bool) -> dict[str, str]:
    urls = [new.url for new in plan.added if new.url]
    return boundary.run(fetch_titles(urls, settings)) if wanted and urls else {}


def _count(n: int) -> str:
    return f"{n} reference" + ("" if n == 1 else "s")


def _register(references: Path | None) -> Path:
    path = references or Path(_REFERENCES)
    if not path.is_file():
        raise LinkcheckError(f"{path}: no reference register; start one with `linkcheck init PATH...`")
    return path


@main.group()
def refs() -> None:
    """The reference register (references.yaml): keep it in step with the documents."""


@refs.command(short_help="Register newly cited sources; name uncited ones.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--references", type=click.Path(path_type=Path), help=f"The reference register [./{_REFERENCES}].")
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; print the difference and exit 1 if there is one (for CI).")
@click.option("--no-titles", is_flag=True, help="Do not fetch the new sources' page titles.")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch titles from loopback, private and link-local addresses.")
def sync(paths: tuple[Path, ...], references: Path | None, check_only: bool, no_titles: bool,
         allow_private: bool | None) -> None:
    """Add the URLs the documents (default: the register's) cite but the register lacks;
    name the references no document cites any more (they are kept)."""
    path = _register(references)
    config = load_config(path)
    sources = list(paths) or list(config.documents)
    if not sources:
        raise LinkcheckError(f"{path}: no documents; give PATH... or list them under `documents:`")
    _, citations = extract_documents(sources)
    plan = plan_sync(path.read_text(encoding="utf-8"), citations, where=str(path))
    if check_only:
        if plan.in_step:
            echo(f"{path} is in step with the documents ({plan.unchanged} references cited)")
            return
        echo(f"{path} is out of step with the documents:")
        for new in plan.added:
            cited = f'  (cited as "{new.cited_as}")' if new.cited_as else ""
            echo(f"  not registered: {redact(new.url or '')}{cited}")
        for ref_id in plan.uncited:
            echo(f"  cited nowhere:  {ref_id}")
        echo("run `linkcheck refs sync` to register the new sources; remove uncited entries by hand")
        sys.exit(1)
    titles = _titles(plan, config.settings.replace(allow_private=allow_private), not no_titles)
    apply_sync(path, plan, titles)
    if plan.added:
        echo(f"added {_count(len(plan.added))} to {path}:")
        for new in plan.added:
            title = titles.get(new.url or "")
            echo(f"  {new.id}  {redact(new.url or '')}" + (f'  "{title}"' if title else ""))
    if plan.uncited:
        echo("cited by no document (kept; remove by hand if no longer needed):")
        for ref_id in plan.uncited:
            echo(f"  {ref_id}")
    if plan.in_step:
        echo(f"{path} is in step with the documents ({plan.unchanged} references cited)")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--references", type=click.Path(path_type=Path),
              help=f"Where to write the register [./{_REFERENCES}].")
@click.option("--no-titles", is_flag=True, help="Do not fetch the cited pages' titles.")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch titles from loopback, private and link-local addresses.")
def init(paths: tuple[Path, ...], references: Path | None, no_titles: bool, allow_private: bool | None) -> None:
    """Start a reference register from the documents: one entry per cited source, placeholders too."""
    path = references or Path(_REFERENCES)
    if path.exists():
        raise LinkcheckError(f"{path}: already exists; `linkcheck refs sync` brings it up to date")
    _, citations = extract_documents(list(paths))
    plan = plan_sync("", citations, placeholders=True)
    titles = _titles(plan, Settings().replace(allow_private=allow_private), not no_titles)
    init_register(path, list(paths), citations, titles=titles)
    missing = sum(1 for new in plan.added if new.url is None)
    echo(f"wrote {path}: {_count(len(plan.added))}, {missing} of them still without a URL")
    echo("next:")
    steps = [
        "fill in `url:` where it is missing, and add a `quote:` to each reference: "
        "words the source must still hold",
        "run `linkcheck check` to check every citation against its source",
        "set up the weekly run: a workflow with `uses: <owner>/linkcheck@v1` (README, \"Weekly monitoring in five "
        "minutes\"): history on a branch, the digest by email",
        "when the documents change, `linkcheck refs sync` registers new sources "
        "(`--check` fails a CI job when the register is out of step)",
    ]
    for number, step in enumerate(steps, 1):
        echo(f"  {number}. {step}")
