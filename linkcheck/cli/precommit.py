"""`linkcheck pre-commit`: the pre-publication gate on the submissions among the files a commit touches."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import PRE_PUBLICATION_FAIL_ON, Config, unquoted_references
from ..errors import LinkcheckError
from ..model import Verdict
from ..pipeline import run_check
from ..reports import text
from . import boundary, main
from .options import echo, load, verdicts

__all__ = ["pre_commit", "submissions"]


def submissions(files: tuple[Path, ...], config: Config) -> list[Path]:
    """The register's documents among `files` (all of them when no file is given, or when the register
    itself is one): a repository's README, changelog or requirements are never the submission."""
    assert config.path is not None
    listed = [d.resolve() for d in config.documents]
    given = [f.resolve() for f in files]
    if not files or config.path.resolve() in given:
        return list(config.documents)
    return [f for f, full in zip(files, given, strict=True)
            if any(full == d or d in full.parents for d in listed)]


@main.command("pre-commit")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--references", type=click.Path(path_type=Path), help="The reference register [./references.yaml].")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch loopback, private and link-local addresses.")
@click.option("--fail-on", callback=verdicts, metavar="VERDICT[,VERDICT...]",
              help="Verdicts that fail the commit [broken,changed,placeholder,redirected].")
def pre_commit(files: tuple[Path, ...], references: Path | None, allow_private: bool | None,
               fail_on: frozenset[Verdict] | None) -> None:
    """The pre-publication gate for a pre-commit hook: checks the FILES that the reference register
    lists as documents (all of them when none is given or the register is among the FILES), and
    leaves nothing behind: no reports, no state dir, no snapshot."""
    config = load(references)
    if config.path is None:
        raise LinkcheckError("references.yaml: no reference register here; the hook checks the documents it "
                             "lists (give --references FILE)")
    documents = submissions(files, config)
    if not documents:
        echo(f"linkcheck: none of the {len(files)} file(s) is a document of {config.path}; nothing to check")
        return
    settings = config.settings.replace(allow_private=allow_private)
    # No state dir: the run keeps nothing (no history, no WARC files) and writes no report.
    report = boundary.run(run_check(config, documents, settings=settings, state_dir=None, archive=False))
    echo(text.render(report), nl=False)
    for ref in unquoted_references(config):
        echo(f"warning: {config.path}:{ref.line}: reference {ref.id} has no quote: only its "
                   "reachability is checked, not what it says", err=True)
    failing = report.failing(fail_on if fail_on is not None else frozenset(Verdict(v) for v in PRE_PUBLICATION_FAIL_ON))
    sys.exit(1 if failing else 0)
