"""Atomic writes: whole files, the usual permissions, nothing left behind."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from linkcheck.files import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_follow_the_umask_and_existing_ones_keep_their_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        report = write_atomic(tmp_path / "reports" / "report.json", "{}\n")
        assert report.read_text() == "{}\n" and mode(report) == 0o644
        os.chmod(report, 0o600)
        write_atomic(report, b"[]\n")
        assert report.read_bytes() == b"[]\n" and mode(report) == 0o600
    finally:
        os.umask(old)
    assert [p.name for p in report.parent.iterdir()] == ["report.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "register.yaml", "version: 1\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\ud800")  # a lone high surrogate has no bytes to go back to
    assert target.read_text() == "version: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["register.yaml"]
