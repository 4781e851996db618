"""Usage and input errors: the only exceptions that leave the library (per-link failures are values)."""
from __future__ import annotations

__all__ = ["ConfigError", "InputError", "LinkcheckError"]


class LinkcheckError(Exception):
    """Something the person running linkcheck must fix; shown as one line, exit status 2."""


class InputError(LinkcheckError):
    """A document or file that cannot be read, named with its path (and line where known)."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ConfigError(InputError):
    """references.yaml is malformed: bad YAML, an unknown key, a wrong type."""
