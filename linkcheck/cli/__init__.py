"""The command line: parse, call the library, write reports, turn the verdicts into an exit status.

Each command lives in a module of this package; this one holds the group they join, and the one
place where an exception becomes a message and an exit status (see boundary.py)."""
from __future__ import annotations

import gc
import importlib
import os
import re
import sys
from typing import Any

import click

try:
    from .. import DISTRIBUTION, __version__
except ImportError:  # another project's `linkcheck/__init__.py` replaced ours in this environment
    print("linkcheck: the import package `linkcheck` here is not this linkcheck's (LinkChecker installs one of that "
          "name): install linkcheck with pipx or in a virtual environment of its own", file=sys.stderr)
    sys.exit(2)

from .boundary import HISTORY, INTERRUPTED, PIPE_CLOSED, InputProblem, problem

__all__ = ["main"]

# command -> the module of this package that defines it (and registers it on `main`).
_COMMANDS = {"check": "check", "extract": "check", "report": "report", "archive": "state", "accept": "state",
             "history": "state", "email": "email", "fix": "fix", "refs": "refs", "init": "refs",
             "pre-commit": "precommit"}


class _LazyGroup(click.Group):
    """Loads a command's module when the command is asked for (click's lazy-loading pattern), so
    that `linkcheck check` never imports the mail, YAML-editing or fixing code; and turns what a
    person must fix into one line and exit status 2, for every command (boundary.py)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The program (the `linkcheck` script, `python -m linkcheck`), which then exits without the
        interpreter's last collections of garbage: they would walk every object the command leaves (its
        imports alone are some 40,000) several times over to free memory the process hands back whole,
        a tenth of a second of every run. What is still in a reference cycle then is not finalised; by
        then every file, archive and database of ours is closed by its own with-block. Only in click's
        standalone mode, which ends by exiting; tests call `main.main` (click's CliRunner), which
        leaves the collector as it is."""
        try:
            return super().__call__(*args, **kwargs)
        finally:
            if kwargs.get("standalone_mode", True):
                gc.freeze()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        clash = _clash()
        if clash:
            click.echo(clash, err=True)
            sys.exit(2)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("linkcheck: interrupted", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except BrokenPipeError:
            # The reader stopped reading (`linkcheck extract ... | head`): nothing to say, and the
            # output still buffered goes nowhere rather than failing again at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(PIPE_CLOSED) from None
        except Exception as exc:  # only what problem() names becomes a message; a bug keeps its traceback
            message = problem(exc, ctx.meta.get(HISTORY))
            if message is None:
                raise
            raise InputProblem(message) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            importlib.import_module(f"{__name__}.{_COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


def _clash() -> str | None:
    """LinkChecker, the classic link checker, installs an import package also called `linkcheck`: in one
    environment each overwrites the other's files, so neither works reliably. Say so before anything runs.
    (A scan of sys.path for its metadata folder: importlib.metadata alone takes longer to import than a command.)"""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            found = _LINKCHECKER.match(name)
            if found:
                return (f"linkcheck: LinkChecker {found.group(1)} is installed in this environment and also provides "
                        f"the import package `linkcheck`; the two cannot share one environment: install "
                        f"{DISTRIBUTION} with pipx or in a virtual environment of its own")
    return None


_LINKCHECKER = re.compile(r"(?i)linkchecker-([^-]+)\.(?:dist|egg)-info\Z")


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """Check every cited source of a submission: gone, moved, placeholder, blocked."""
