"""Atomic writes: whole files, the usual permissions, nothing left behind."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from linkcheck.files import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask,new_mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask_and_existing_ones_keep_their_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int, new_mode: int) -> None:
    old = os.umask(umask)
    try:
        # The umask is applied by the kernel when the file is made: writing never reads (that is, sets) it.
        with monkeypatch.context() as patched:
            patched.setattr(os, "umask", _no_umask)
            report = write_atomic(tmp_path / "reports" / "report.json", "{}\n")
            assert report.read_text() == "{}\n" and mode(report) == new_mode
            os.chmod(report, 0o600 if new_mode != 0o600 else 0o640)
            kept = mode(report)
            write_atomic(report, b"[]\n")
        assert report.read_bytes() == b"[]\n" and mode(report) == kept
    finally:
        os.umask(old)
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]  # no temporary file left


def _no_umask(mask: int) -> int:
    raise AssertionError("os.umask changes the whole process's setting")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "register.yaml", "version: 1\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\ud800")  # a lone high surrogate has no bytes to go back to
    assert target.read_text() == "version: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["register.yaml"]
