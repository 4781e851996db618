"""`linkcheck email`: the digest of the recent runs, kept as an .eml file and sent to the team."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click

from ..config import Config
from ..model import HISTORY_MISSING, Result, identity
from ..notify.digest import Digest, build_digest, with_then_and_now
from ..notify.email import USER_ENV, SendError, build_message, email_options, send, write_eml
from ..store import last_report_path
from ..times import format_time, parse_time, utc_now
from . import main
from .boundary import InputProblem
from .options import duration, echo, load, open_history, split, state_options

__all__ = ["SendFailed", "email_command"]

_EPILOG = """Exit status: 0 sent (or, with --dry-run, written); 1 sending failed: the server refused the
message or could not be reached, its answer is printed and the .eml is kept; 2 a usage, input or
configuration error (nothing sent). SMTP credentials come only from LINKCHECK_SMTP_USER and
LINKCHECK_SMTP_PASSWORD; the server settings from settings.email in references.yaml (host, port,
security: starttls|ssl|none, from, to, subject_prefix, timeout), which the flags override."""


class SendFailed(InputProblem):
    """Sending failed after the .eml was written: exit status 1, kept apart from usage errors (2).
    Its message quotes the server's answer, shown as printable text."""

    exit_code = 1


def _title(config: Config) -> str:
    """What the digest is about: the references file's folder, else the first document."""
    if config.path is not None:
        return config.path.resolve().parent.name
    if config.documents:
        return config.documents[0].name
    return Path.cwd().name


def _from_last_report(digest: Digest, state_dir: Path) -> Digest:
    """What only the latest run's report holds: whether it found the history it expected (`check
    --expect-history`; when it did not and it ran in the period, the digest says so plainly), and
    what each changed source said when cited beside what it says now."""
    try:
        report = json.loads(last_report_path(state_dir).read_text(encoding="utf-8"))
        run, results = report["run"], report["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return digest
    finished = run.get("finished") if isinstance(run, dict) else None
    if (run.get("history") == HISTORY_MISSING and isinstance(finished, str)
            and digest.since <= finished <= digest.now):
        digest = replace(digest, history_missing=finished)
    if finished != digest.latest_run or not isinstance(results, list):
        return digest  # the report is not of the run the digest reads
    shown = {}
    for data in results:
        if isinstance(data, dict) and data.get("then_and_now"):
            try:
                result = Result.from_json(data)
            except (KeyError, TypeError, ValueError):
                continue
            shown[identity(result.url, result.reference_id or "")] = result.then_now
    return with_then_and_now(digest, shown) if shown else digest


@main.command("email", epilog=_EPILOG)
@click.option("--to", "to", multiple=True, metavar="ADDR",
              help="A recipient; repeat or separate with commas [settings.email.to].")
@click.option("--since", callback=duration, default="7d", show_default=True, metavar="DURATION",
              help="The period covered, back from now (e.g. 24h, 7d, 2w).")
@click.option("--dry-run", is_flag=True, help="Write the .eml file, send nothing.")
@click.option("--from", "sender", metavar="ADDR",
              help=f"The sender [settings.email.from, else {USER_ENV} if an address, else linkcheck@localhost].")
@click.option("--smtp-host", metavar="HOST", help="The SMTP server [settings.email.host, else localhost].")
@click.option("--smtp-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="[settings.email.port, else 587 for starttls, 465 for ssl, 25 for none]")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Where email-YYYY-MM-DD.eml is written.")
@state_options
def email_command(to: tuple[str, ...], since: float, dry_run: bool, sender: str | None, smtp_host: str | None,
                  smtp_port: int | None, report_dir: Path, references: Path | None, state_dir: Path | None) -> None:
    """Email the digest of recent runs: newly broken, still broken, fixed, and the totals."""
    config = load(references)
    options = email_options(config.settings.email, str(config.path or "references.yaml"))
    recipients = split(to) or list(options.to)
    if not recipients:
        raise click.UsageError("no recipients: give --to ADDR or settings.email.to in references.yaml")
    smtp = options.smtp(smtp_host, smtp_port)
    login = smtp.username if smtp.username and "@" in smtp.username else None
    now = utc_now()
    start = format_time(parse_time(now) - timedelta(seconds=since))
    folder, history = open_history(references, state_dir)
    with history:
        # The run the period started from tells what was failing before it: fixed needs that.
        rows = history.latest_results(before=start) + history.results_between(start, now)
        offline_run = history.latest_offline()
    digest = _from_last_report(build_digest(rows, start, now, title=_title(config), offline_run=offline_run),
                                   folder)
    message = build_message(digest, sender or options.sender or login or "linkcheck@localhost", recipients,
                            options.subject_prefix)
    path = write_eml(message, report_dir / f"email-{now[:10]}.eml")
    echo(f"{message['Subject']}\nwritten: {path}")
    if dry_run:
        echo("dry run: nothing sent")
        return
    try:
        send(message, smtp)
    except SendError as exc:
        raise SendFailed(f"{exc} (the message is kept in {path})") from None
    echo(f"sent to {', '.join(recipients)} via {smtp.host}:{smtp.port}")
