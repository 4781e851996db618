"""The command line: parse, call the library, write reports, turn the verdicts into an exit status.

Each command lives in a module of this package; this one holds the group they join."""
from __future__ import annotations

import importlib

import click

from .. import __version__

__all__ = ["main"]

# command -> the module of this package that defines it (and registers it on `main`).
_COMMANDS = {"check": "check", "extract": "check", "report": "report", "archive": "state", "accept": "state",
             "history": "state", "email": "email", "fix": "fix", "refs": "refs", "init": "refs"}


class _LazyGroup(click.Group):
    """Loads a command's module when the command is asked for (click's lazy-loading pattern), so
    that `linkcheck check` never imports the mail, YAML-editing or fixing code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            importlib.import_module(f"{__name__}.{_COMMANDS[cmd_name]}")
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="linkcheck")
def main() -> None:
    """Check every cited source of a submission: gone, moved, placeholder, blocked."""
