"""Writing files so that a crash or a full disk never leaves half of one behind."""
from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["write_atomic"]


def _create(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, made with mode 0o666 so that the kernel applies the
    process's umask: reading the umask would mean setting it, which other threads would see."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:  # name the file being written, not its temporary
            raise OSError(exc.errno, exc.strerror, str(path)) from exc


def write_atomic(path: Path, data: str | bytes | Iterable[str | bytes]) -> Path:
    """Write beside the target, fsync, and rename over it: a reader sees the old file or the new
    one, never half of each. Text is UTF-8 (lone surrogates from undecodable input go back as the
    bytes they came from), given whole or as pieces written as they come (a big report is never
    held whole); an existing file keeps its permissions, a new one gets the umask's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pieces = [data] if isinstance(data, str | bytes) else data
    fd, tmp = _create(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                handle.write(piece.encode("utf-8", errors="surrogateescape") if isinstance(piece, str) else piece)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename in (str(tmp), tmp):  # name the file being written, not its temporary
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
