"""`linkcheck check` and `linkcheck extract`: the documents' citations, and their verdicts."""
from __future__ import annotations

import gc
import json
import shlex
import sys
from collections import Counter
from pathlib import Path

import click

from ..config import PRE_PUBLICATION_FAIL_ON, Settings, unquoted_references
from ..model import RunReport, Verdict
from ..pipeline import extract_documents, run_check
from ..redact import redact
from ..reports import FORMATS, text, write_reports
from ..reports.github import emit_github
from ..reports.notes import stand_ins
from ..store import last_report_path
from . import boundary, main
from .options import Progress, duration, echo, in_ci, load, split, state, verdicts

_FORMATS = tuple(FORMATS)
_RUN_GC_THRESHOLD = 50_000


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--references", type=click.Path(path_type=Path), help="The reference register [./references.yaml].")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--state-dir", type=click.Path(path_type=Path),
              help="What persists between runs [.linkcheck/ beside the references file].")
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help=f"Extra report formats ({', '.join(_FORMATS)}); repeat or separate with commas.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Requests in flight at once [64].")
@click.option("--per-host", type=click.IntRange(min=1), help="Requests in flight to one host [4].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per request [20].")
@click.option("--retries", type=click.IntRange(min=0), help="Retries of transient failures [2].")
@click.option("--allow-private", is_flag=True, default=None,
              help="Also fetch loopback, private and link-local addresses.")
@click.option("--no-archive", is_flag=True, help="Keep no snapshot of the evidence.")
@click.option("--cache-ttl", callback=duration, metavar="DURATION",
              help="Reuse ok results younger than this (e.g. 6h, 30m, 1d); failures are always re-checked.")
@click.option("--fail-on", callback=verdicts, metavar="VERDICT[,VERDICT...]",
              help="Verdicts that make the exit status 1 [broken,changed,placeholder].")
@click.option("--pre-publication", is_flag=True,
              help="The strict gate before publishing: broken, changed, placeholder and redirected all fail; "
                   "a reference without a quote, and a cited figure not found on its source, are warned about.")
@click.option("--strict-figures", is_flag=True,
              help="Fail (exit status 1) when a figure a citation states is not found on its source.")
@click.option("--allow-empty", is_flag=True,
              help="Under --pre-publication, let a document with no citation at all pass (it is still warned about).")
@click.option("--save-archive", is_flag=True,
              help="Ask the Wayback Machine to capture the evidence that is ok now (politely; an access key "
                   "from LINKCHECK_WAYBACK_ACCESS_KEY / LINKCHECK_WAYBACK_SECRET if set).")
@click.option("--expect-history", is_flag=True,
              help="Earlier runs should be in the state dir (the CI job restored it): when none is there, the "
                   "reports say \"no history found: baselines start again\".")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status tells.")
def check(paths: tuple[Path, ...], references: Path | None, report_dir: Path, state_dir: Path | None,
          formats: tuple[str, ...], concurrency: int | None, per_host: int | None, timeout: float | None,
          retries: int | None, allow_private: bool | None, no_archive: bool, cache_ttl: float | None,
          fail_on: frozenset[Verdict] | None, pre_publication: bool, strict_figures: bool, allow_empty: bool,
          save_archive: bool,
          expect_history: bool, quiet: bool) -> None:
    """Check the documents (default: those listed in the references file)."""
    chosen = split(formats)
    unknown = [f for f in chosen if f not in _FORMATS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(_FORMATS)}",
                                 param_hint="--format")
    config = load(references)
    settings = config.settings.replace(concurrency=concurrency, per_host=per_host, timeout=timeout,
                                       retries=retries, allow_private=allow_private)
    progress = Progress(enabled=not quiet and not in_ci())
    collector = gc.get_threshold()
    if collector[0]:
        # This program's own choice (the library leaves the collector alone): a run keeps tens of
        # thousands of objects alive until its report, which the default threshold would rescan
        # every 700 allocations. Restored after the run.
        gc.set_threshold(max(collector[0], _RUN_GC_THRESHOLD), *collector[1:])
    kept = state(config, state_dir)
    try:
        report = boundary.run(run_check(config, list(paths), settings=settings, state_dir=kept,
                                       archive=not no_archive, cache_ttl=cache_ttl, progress=progress,
                                       archived_copies=True, expect_history=expect_history))
    finally:
        gc.set_threshold(*collector)
        progress.close()
    default = PRE_PUBLICATION_FAIL_ON if pre_publication else settings.fail_on
    failing_verdicts = fail_on if fail_on is not None else frozenset(Verdict(v) for v in default)
    written = write_reports(report, report_dir, chosen, fail_on=failing_verdicts, rendered_json=last_report_path(kept))
    emit_github(report, failing_verdicts)  # annotations and a job summary, only inside GitHub Actions
    if not quiet:
        echo(text.render(report), nl=False)
        for path in written:
            echo(f"report: {path}")
    if save_archive:
        _save_evidence(report, settings, quiet)
    if pre_publication and not quiet:
        for ref in unquoted_references(config):
            echo(f"warning: {config.path}:{ref.line}: reference {ref.id} has no quote: only its "
                       "reachability is checked, not what it says", err=True)
    if (pre_publication or strict_figures) and not quiet:
        for line in figures_not_found(report):
            click.echo(f"warning: {line}" + ("; --strict-figures fails the check" if strict_figures else ""),
                       err=True)
    empty = uncited_documents(report)
    refused = pre_publication and not allow_empty
    if not quiet:
        for document in empty:
            echo(f"warning: {document}: no citation found in this document"
                       + ("; the pre-publication gate fails (--allow-empty lets it pass)" if refused else ""), err=True)
    step = None if quiet else fill_placeholders(report, references, state_dir)
    if step:
        echo(step)
    failing = report.failing(failing_verdicts)
    sys.exit(1 if failing or (refused and empty) or (strict_figures and report.figures_not_found) else 0)


def figures_not_found(report: RunReport) -> list[str]:
    """One line per figure a citation states that its source does not: where it is cited, the
    figure, the source."""
    behind, lines = stand_ins(report), []
    for result in report.results:
        cited = result.citations or behind.get(result.reference_id or "", ())
        places = ", ".join(dict.fromkeys(c.location for c in cited if c.claims)) or result.reference_id or result.url
        for figure in result.figures_not_found:
            lines.append(f"{places}: the figure {figure!r} is not found on its source {result.final_url or result.url}")
    return lines


def uncited_documents(report: RunReport) -> list[str]:
    """The documents checked that cite nothing at all: the wrong file, or one read wrongly."""
    cited = {c.document for r in report.results for c in r.citations}
    return [d for d in report.documents if d not in cited]


def fill_placeholders(report: RunReport, references: Path | None, state_dir: Path | None) -> str | None:
    """The one command that puts each placeholder's registered source behind it, to end the summary with."""
    fillable = [r for r in report.results if r.verdict is Verdict.PLACEHOLDER and r.suggested_url and r.reference_id]
    links = sum(len(r.citations) for r in fillable)
    if not links:
        return None
    documents = dict.fromkeys(c.document for r in fillable for c in r.citations)
    command = ["linkcheck", "fix", *documents]
    if references is not None:
        command += ["--references", str(references)]
    if state_dir is not None:
        command += ["--state-dir", str(state_dir)]
    return (f"{links} placeholder link(s) have a registered source; to put it in: "
            f"{shlex.join([*command, '--apply'])}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON array of citations.")
def extract(paths: tuple[Path, ...], as_json: bool) -> None:
    """Print every citation found in the documents: where, anchor text, URL."""
    _, citations = extract_documents(list(paths))
    if as_json:
        echo(json.dumps([{**c.to_json(), "text": redact(c.text), "url": redact(c.url)} for c in citations],
                              indent=2, ensure_ascii=False))
        return
    for c in citations:
        echo(f"{c.where}\t{redact(c.text)}\t{redact(c.url)}")


def _save_evidence(report: RunReport, settings: Settings, quiet: bool) -> None:
    """Save Page Now for every ok web source, so that a public copy exists before it rots."""
    from ..wayback import ArchiveEndpoints, credentials_from_env, new_session, save_page_now
    urls = [r.final_url or r.url for r in report.results
            if r.verdict is Verdict.OK and r.url.startswith(("http://", "https://"))]
    key, secret = credentials_from_env()
    endpoints = ArchiveEndpoints(availability=settings.archive_availability_url, save=settings.archive_save_url,
                                 timegate=settings.archive_timegate_url, timeout=settings.timeout,
                                 private_hosts=settings.private_hosts)
    outcomes = save_page_now(urls, session=new_session(), endpoints=endpoints, access_key=key, secret=secret)
    if not quiet:
        counts = Counter(o.status for o in outcomes.values())
        echo("save page now: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                                        or "nothing to save"))

