"""`linkcheck fix`: point placeholders at their registered source and moved links at their new home."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..files import write_atomic
from ..fix import Edit, fix_html, fix_markdown, instructions, plan_edits, robust_links, unified_diff
from ..model import RunReport, Verdict
from ..pipeline import run_check
from ..redact import is_redacted
from . import boundary, main
from .options import Progress, echo, in_ci, load, state

__all__ = ["fix"]

_MARKDOWN = frozenset({".md", ".markdown"})
_HTML = frozenset({".html", ".htm"})


def _moved_sources(report: RunReport) -> dict[str, str]:
    """Registered sources that moved permanently: reference id -> the URL to register instead, so that
    the register agrees with the mended documents (`refs sync --check`, and the strict gate)."""
    return {r.reference_id: r.suggested_url for r in report.results
            if r.verdict is Verdict.REDIRECTED and r.reference_id and r.suggested_url
            and not is_redacted(r.suggested_url)}  # masked: only a person can write the real one


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--apply", "write", is_flag=True, help="Write the changes into the documents (default: only show them).")
@click.option("--robust-links", "robust", is_flag=True,
              help="HTML: also add data-versionurl/data-versiondate (Robust Links) to links with an archived copy.")
@click.option("--references", type=click.Path(path_type=Path), help="The reference register [./references.yaml].")
@click.option("--state-dir", type=click.Path(path_type=Path),
              help="What persists between runs, shared with `check` [.linkcheck/ beside the references file].")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch loopback, private and link-local addresses.")
def fix(paths: tuple[Path, ...], write: bool, robust: bool, references: Path | None, state_dir: Path | None,
        allow_private: bool | None) -> None:
    """Replace placeholder links with the URL registered for them, and permanently moved links with
    their new address, in the documents (default: those listed in the references file).

    Only the URL of each link changes; everything else stays byte for byte. The change to each
    Markdown and HTML document is printed as a unified diff on stdout (so it can go to `git apply`);
    PDF and Word files are never rewritten: the changes to make by hand are listed instead. A
    registered source that moved gets its new URL in the references file too. Without --apply
    nothing is kept: no history, no snapshot.

    \b
    Exit status:
      0  nothing to fix (with --apply: everything fixed)
      1  without --apply: there are fixes to make (so it can gate CI);
         with --apply: some changes are left for a person to make (listed)
      2  a usage or input problem
    """
    config = load(references)
    settings = config.settings.replace(allow_private=allow_private)
    progress = Progress(enabled=not in_ci())
    try:
        # Only a run that changes the documents is recorded: a preview must not count as a run in
        # history (streaks, trends, the digest) nor leave snapshots behind.
        report = boundary.run(run_check(config, list(paths), settings=settings,
                                       state_dir=state(config, state_dir) if write else None,
                                       archive=write, progress=progress))
    finally:
        progress.close()
    edits = plan_edits(report, {ref.id: ref.url for ref in config.references if ref.url})
    moved = _moved_sources(report) if config.path is not None else {}
    versions = robust_links(report, settings.archive_replay_url) if robust and write else None
    by_document: dict[str, list[Edit]] = {}
    for edit in edits:
        by_document.setdefault(edit.document, []).append(edit)
    if versions:  # Robust Links can touch an HTML document that has nothing to fix
        for document in report.documents:
            if Path(document).suffix.lower() in _HTML:
                by_document.setdefault(document, [])
    changed: list[tuple[Path, str]] = []
    links = annotated = by_hand = 0
    for document, planned in sorted(by_document.items()):
        if Path(document).suffix.lower() not in _MARKDOWN | _HTML:
            for line in instructions(planned):
                echo(f"by hand: {line}", err=True)
            by_hand += len(planned)
            continue
        path = Path(document)
        # surrogateescape: whatever the bytes, the text written back is byte-for-byte the same outside the edits.
        before = path.read_bytes().decode("utf-8", errors="surrogateescape")
        markdown = path.suffix.lower() in _MARKDOWN
        fixed = fix_markdown(before, planned) if markdown else fix_html(before, planned, versions)
        if fixed.text != before:
            echo(unified_diff(document, before, fixed.text), nl=False, keep_cr=True)
            changed.append((path, fixed.text))
        links, annotated = links + fixed.links, annotated + fixed.annotated
        for edit, why in fixed.skipped:
            echo(f"by hand: {edit.location}: not changed, {why}: link {edit.text!r} to {edit.new_url} "
                       f"instead of {edit.old_url}", err=True)
        by_hand += len(fixed.skipped)
    unknown = sum(len(r.citations) for r in report.results if r.verdict is Verdict.PLACEHOLDER and not r.suggested_url)
    if unknown:
        echo(f"note: {unknown} placeholder link(s) have no known source yet: add a url to their "
                   "reference in the references file", err=True)
    if robust and not write:
        echo("note: Robust Links attributes are added by --apply, from the snapshots that run keeps", err=True)
    elif robust and not versions:
        echo("note: no archived copy is known for any link: no Robust Links attributes to add", err=True)
    for ref_id, url in moved.items():
        echo(f"{config.path}: reference {ref_id} moved: its url becomes {url}", err=True)
    if not changed and not by_hand and not moved:
        echo("nothing to fix", err=True)
        sys.exit(0)
    where = f"{len(changed)} document(s)" + (f" (and Robust Links on {annotated} link(s))" if annotated else "")
    if not write:
        echo(f"{links} link(s) to fix in {where}; run `linkcheck fix --apply` to write them"
                   + (f"; {by_hand} change(s) to make by hand" if by_hand else ""), err=True)
        sys.exit(1)
    for path, text in changed:
        write_atomic(path, text)  # a reader sees the old document or the new one, never half of each
    if moved and config.path is not None:
        from ..refs import replace_urls  # ruamel, only when the register changes
        updated = replace_urls(config.path, moved)
        if updated:
            echo(f"updated the url of {len(updated)} reference(s) in {config.path}", err=True)
    echo(f"fixed {links} link(s) in {where}; run `linkcheck check` again to confirm"
               + (f"; {by_hand} change(s) left to make by hand (listed above)" if by_hand else ""), err=True)
    sys.exit(1 if by_hand else 0)
