"""Links to local files: looked up only inside the document's tree, never outside it."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from .facts import LocalFile, Lookup
from .model import Target

__all__ = ["look_up"]


def _root(document: str) -> str:
    """The tree a document's links may name: the working folder (the repository) when the
    document lies below it, else the document's own folder."""
    if os.path.isabs(document):
        return os.path.dirname(document) or os.sep
    return os.getcwd()


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def look_up(target: Target) -> LocalFile:
    """A relative link names a file beside its document: there or not, it is never fetched.

    Only a path inside the document's tree is looked up: one that climbs out of it gets the same
    answer whether or not the file exists, so a document cannot probe the machine that checks it
    (`../../../etc/passwd`). An absolute path (`/root/x`) never gets here: it is a path from a
    site's root (see pipeline._prejudge)."""
    written = target.citations[0].url.strip() if target.citations else target.url
    plain = unquote(target.url.split("#", 1)[0].split("?", 1)[0])
    root = _root(target.citations[0].document if target.citations else "")
    in_working_folder = root == os.getcwd()
    absolute = os.path.abspath(plain)
    # A symbolic link inside the tree may point out of it: judged by where it leads.
    if not _inside(absolute, root) or not _inside(os.path.realpath(absolute), os.path.realpath(root)):
        return LocalFile(Lookup.OUTSIDE_TREE, written, plain, in_working_folder)
    local = Path(plain)
    return LocalFile(Lookup.EXISTS if local.exists() else Lookup.MISSING, written, str(local), in_working_folder)
