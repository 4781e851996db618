"""The command line: parse, call the library, write reports, turn the verdicts into an exit status.

Each command lives in a module of this package; this one holds the group they join."""
from __future__ import annotations

import click

from .. import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """Check every cited source of a submission: gone, moved, placeholder, blocked."""




from . import check, email, fix, refs, report, state  # noqa: E402,F401  - the commands register on `main`
