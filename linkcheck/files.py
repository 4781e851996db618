"""Writing files so that a crash or a full disk never leaves half of one behind."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write beside the target, fsync, and rename over it: a reader sees the old file or the new
    one, never half of each. Text is UTF-8 (lone surrogates from undecodable input go back as the
    bytes they came from); an existing file keeps its permissions, a new one gets the umask's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; a report is not: keep the old mode, else the umask's.
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
