"""Size limits on documents, checked before anything is parsed or inflated."""
from __future__ import annotations

import io
import zipfile

from linkcheck.errors import InputError

__all__ = ["MAX_DOCUMENT_BYTES", "MAX_TEXT_BYTES", "ZipLimits", "check_size", "check_zip"]

# A document file's size on disk. PDF and DOCX carry images; 64 MiB holds a long illustrated report.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# Markdown, HTML and plain text: 16 MiB is far beyond any paper, and extraction is linear in it.
MAX_TEXT_BYTES = 16 * 1024 * 1024
_TEXT_SUFFIXES = frozenset({".md", ".markdown", ".html", ".htm", ".txt", ".text"})


def check_size(path: str, suffix: str, size: int) -> None:
    """An InputError naming the file when it is larger than its format's limit."""
    limit = MAX_TEXT_BYTES if suffix in _TEXT_SUFFIXES else MAX_DOCUMENT_BYTES
    if size > limit:
        raise InputError(path, f"document too large: {size:,} bytes, the limit for {suffix or 'this'} files "
                               f"is {limit:,}")


class ZipLimits:
    """What a Word package may inflate to. A 100-page thesis is some 2 MiB of XML in 100k elements,
    compressed about 10:1; a zip bomb is hundreds of times its size in repeated markup."""

    part_bytes = 32 * 1024 * 1024      # any one part, inflated
    total_bytes = 128 * 1024 * 1024    # all parts together, inflated
    ratio = 100                        # inflated / compressed, for parts above 1 MiB inflated
    ratio_floor = 1024 * 1024
    elements = 1_000_000               # XML elements in any one part
    parts = 10_000


def check_zip(data: bytes, document: str, limits: type[ZipLimits] = ZipLimits) -> None:
    """Refuse a package that would inflate past the limits, before anything inflates it.

    The sizes in the zip directory bound what zipfile will ever produce (it stops at the
    declared size and fails the CRC), so they are checked first; then every XML part is
    counted by a streaming parse that keeps no tree. An InputError names the document."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(document, f"cannot read DOCX: {exc}") from None
    with archive:
        parts = archive.infolist()
        if len(parts) > limits.parts:
            raise InputError(document, f"DOCX has {len(parts):,} parts, more than {limits.parts:,}")
        total = 0
        for part in parts:
            total += part.file_size
            if part.file_size > limits.part_bytes:
                raise InputError(document, f"DOCX part {part.filename} inflates to {part.file_size:,} bytes, "
                                           f"more than {limits.part_bytes:,}")
            ratio = part.file_size // max(part.compress_size, 1)
            if part.file_size > limits.ratio_floor and ratio > limits.ratio:
                raise InputError(document, f"DOCX part {part.filename} inflates {ratio:,} times its compressed "
                                           f"size (a zip bomb?); the limit is {limits.ratio}")
            if total > limits.total_bytes:
                raise InputError(document, f"DOCX inflates to more than {limits.total_bytes:,} bytes")
        for part in parts:
            if part.filename.endswith((".xml", ".rels")):
                _count_elements(archive, part, document, limits.elements)


def _count_elements(archive: zipfile.ZipFile, part: zipfile.ZipInfo, document: str, limit: int) -> None:
    from lxml import etree  # Word packages only: a run on text documents never loads lxml

    count = 0
    try:
        with archive.open(part) as stream:
            for _, element in etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True,
                                              huge_tree=False):
                count += 1
                if count > limit:
                    raise InputError(document, f"DOCX part {part.filename} has more than {limit:,} XML elements")
                element.clear(keep_tail=False)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]  # siblings already counted: the tree stays one path deep
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        return  # not well-formed or unreadable: python-docx says so in its own words
