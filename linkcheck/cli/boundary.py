"""The command line's one exception boundary: what the person running linkcheck must fix (a bad
register, an unreadable document, a state dir that cannot be written, a damaged history database)
becomes one line on stderr and exit status 2; an interrupt exits with 130, a closed output pipe
quietly with 141. None shows a traceback.

Network trouble never gets here: every link's failure is a value in its result. What does get here
and is none of these is a bug, and keeps its traceback."""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import LinkcheckError
from ..printable import printable

__all__ = ["HISTORY", "INTERRUPTED", "PIPE_CLOSED", "InputProblem", "problem", "run"]

# ctx.meta key (shared by every context of one command line): the history database of the state dir
# a command resolved, so that a damaged one is named even where SQLite's own message does not name it.
HISTORY = "linkcheck.history"

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
PIPE_CLOSED = 141  # 128 + SIGPIPE: the output's reader went away


class InputProblem(click.ClickException):
    """One line, exit status 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return printable(self.message)  # it may quote a file name or a document's text


def problem(exc: BaseException, history: Path | None = None) -> str | None:
    """The one line that tells a person what to fix, or None when `exc` is not theirs to fix.

    yaml and sqlite3 are looked up among the modules already imported: an error of a module
    never imported cannot have been raised, and `linkcheck --version` stays free of both."""
    if isinstance(exc, LinkcheckError):
        return str(exc)
    if isinstance(exc, OSError):
        return _os_problem(exc)
    yaml = sys.modules.get("yaml")
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.name}:{mark.line + 1}" if mark is not None else "YAML"
        return f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError):
        where = str(history) if history is not None else "the history database"
        return f"{where}: not a usable history database ({exc})"
    return None


def _os_problem(exc: OSError) -> str:
    reason = (exc.strerror or type(exc).__name__).lower()
    if exc.filename is None:
        return f"linkcheck: {reason}"
    where = printable(str(exc.filename))
    if exc.filename2 is not None:
        where += f" -> {printable(str(exc.filename2))}"
    return f"{where}: {reason}"


T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, without the traceback Python may print when Ctrl-C lands as a connection
    completes: the interrupt cancels the connect's future from inside the callback completing it
    (`_sock_connect_cb`), which then fails to set its result. The connection was being given up
    anyway; any other failure of a callback is still reported as asyncio reports it."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(_quiet_on_abandoned_connect)
        return runner.run(main)


def _quiet_on_abandoned_connect(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if isinstance(context.get("exception"), asyncio.InvalidStateError) and "_sock_connect_cb" in repr(
            context.get("handle")):
        return
    loop.default_exception_handler(context)
