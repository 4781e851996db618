"""`linkcheck report`: the last run's results, rendered again in any format, without a request."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import InputError
from ..model import RunReport, Verdict
from ..reports import FORMATS, text, write_reports
from ..store import last_report_path
from . import main
from .options import echo, load, split, state, state_options, verdicts


@main.command()
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help=f"Formats to write ({', '.join(FORMATS)}); repeat or separate with commas.")
@click.option("--fail-on", callback=verdicts, metavar="VERDICT[,VERDICT...]",
              help="Verdicts that make the exit status 1 [the references file's fail_on].")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status tells.")
@state_options
def report(report_dir: Path, formats: tuple[str, ...], fail_on: frozenset[Verdict] | None, quiet: bool,
           references: Path | None, state_dir: Path | None) -> None:
    """Render the last run kept in the state dir (report.json always, plus the formats asked for).

    Exit status as for `check`: 1 when a result has a --fail-on verdict, 2 when there is no run."""
    chosen = split(formats)
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(FORMATS)}", param_hint="--format")
    config = load(references)
    path = last_report_path(state(config, state_dir))
    try:
        last = RunReport.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InputError(str(path), "no run kept yet; run `linkcheck check` first") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"not a report this linkcheck can read ({exc})") from None
    failing_verdicts = fail_on if fail_on is not None else frozenset(Verdict(v) for v in config.settings.fail_on)
    written = write_reports(last, report_dir, chosen, fail_on=failing_verdicts)
    if not quiet:
        echo(text.render(last), nl=False)
        for written_path in written:
            echo(f"report: {written_path}")
    sys.exit(1 if last.failing(failing_verdicts) else 0)
