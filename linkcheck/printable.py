"""Text from documents and servers made safe to print: control characters shown, never obeyed."""
from __future__ import annotations

import re

__all__ = ["printable"]

# C0 (but tab and newline), DEL and C1: ESC starts terminal sequences (window title, screen clear,
# colours), BEL rings, CR rewrites a line, 0x9b is a one-byte CSI. Each becomes a visible `\x1b`.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_BUT_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _shown(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str, *, keep_cr: bool = False) -> str:
    """`text` with every control character but tab and newline (and CR, with `keep_cr`, for a
    diff of a CRLF file) written out as `\\xNN`, so a terminal or a viewer shows it as text."""
    pattern = _CONTROL_BUT_CR if keep_cr else _CONTROL
    return pattern.sub(_shown, text) if pattern.search(text) else text
