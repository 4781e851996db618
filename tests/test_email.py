"""The periodic email: the digest from a real history, the message, and a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from click.testing import Result as CliResult

import linkcheck.cli.email  # noqa: F401  - registers the `email` command on main
from linkcheck.cli import main
from linkcheck.errors import ConfigError
from linkcheck.history import History
from linkcheck.model import Citation, Reason, Result, Verdict
from linkcheck.notify import Digest, build_digest, build_message, email_options, render_html, render_text, write_eml

NEW = "https://data.example.org/housing-need-2023.pdf"
CHANGED = "https://gov.example.uk/statistics/rough-sleeping"
STILL = "https://old.example.net/report"
FIXED = "https://ons.example.gov/survey"
FINE = "https://www.example.com/fine"
USER, PASSWORD = "digest@charity.org.uk", "correct horse battery staple"
TO = "team@charity.org.uk"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cite(url: str, line: int, text: str, document: str = "submission.md") -> Citation:
    return Citation(document, line, text, url)


def res(url: str, verdict: Verdict, reason: Reason = Reason.OK, detail: str = "200 OK", ref: str | None = None,
        citations: tuple[Citation, ...] = ()) -> Result:
    return Result(url, verdict, reason, detail, reference_id=ref, citations=citations or (cite(url, 3, "a"),))


def record(h: History, run_id: str, finished: str, *results: Result) -> None:
    h.start_run(run_id, finished)
    h.record_results(run_id, results)
    summary = {str(v): sum(r.verdict is v for r in results) for v in Verdict}
    h.finish_run(run_id, finished, summary)


def gone(url: str, **kw: Any) -> Result:
    return res(url, Verdict.BROKEN, Reason.HTTP_STATUS, "404 Not Found", **kw)


NEW_CITATIONS = (cite(NEW, 17, "Housing need 2023"), cite(NEW, 4, "ibid.", "appendix.md"))


def build_history(path: Path, anchor: str = "Housing need 2023") -> None:
    """Long ago STILL broke; in the period FIXED came back, NEW broke and CHANGED lost its quote."""
    citations = (cite(NEW, 17, anchor), NEW_CITATIONS[1])
    with History(path) as h:
        record(h, "r0", ago(60), gone(STILL), res(FIXED, Verdict.OK), res(NEW, Verdict.OK), res(FINE, Verdict.OK),
               res(CHANGED, Verdict.OK, ref="ons-table"))
        record(h, "r1", ago(5), gone(STILL), gone(FIXED), res(NEW, Verdict.OK), res(FINE, Verdict.OK),
               res(CHANGED, Verdict.OK, ref="ons-table"))
        record(h, "r2", ago(1), gone(STILL), res(FIXED, Verdict.OK), gone(NEW, citations=citations),
               res(FINE, Verdict.OK),
               res(CHANGED, Verdict.CHANGED, Reason.QUOTE_MISSING, "quote not found", ref="ons-table"))


def digest_of(path: Path, days: float = 7) -> Digest:
    with History(path) as h:
        since = ago(days)
        rows = h.latest_results(before=since) + h.results_between(since, ago(0))
    return build_digest(rows, since, ago(0), title="housing-bid")


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None and body.get_content_type() == f"text/{subtype}"
    return str(body.get_content())


# --------------------------------------------------------------------------- the digest (pure)

def test_digest_sorts_new_still_and_fixed(tmp_path: Path) -> None:
    build_history(tmp_path / "h.sqlite")
    d = digest_of(tmp_path / "h.sqlite")
    assert [(i.url, i.verdict) for i in d.new] == [(NEW, "broken"), (CHANGED, "changed")]
    assert [c.location for c in d.new[0].citations] == ["submission.md:17", "appendix.md:4"]
    assert d.new[0].first_failed == ago(1)
    [still] = d.still
    assert (still.url, still.first_failed, still.days) == (STILL, ago(60), 60)
    [fixed] = d.fixed
    assert (fixed.url, fixed.verdict, fixed.was) == (FIXED, "ok", "broken")
    assert d.subject == "1 newly broken, 1 changed, 1 still broken, 1 fixed — housing-bid"
    assert (d.latest_run, d.runs_in_period) == (ago(1), 2)
    assert d.totals["broken"] == 2 and d.totals["changed"] == 1 and d.totals["ok"] == 2
    assert d.previous_totals is not None and d.previous_totals["broken"] == 2
    assert (d.trend("changed"), d.trend("ok"), d.trend("broken")) == ("+1", "-1", "")


def test_a_url_failing_only_when_the_period_began_counts_as_fixed(tmp_path: Path) -> None:
    """The run before the period is its starting state: r1 (5 days ago) failed, r2 is ok."""
    build_history(tmp_path / "h.sqlite")
    d = digest_of(tmp_path / "h.sqlite", days=3)
    assert [i.url for i in d.fixed] == [FIXED]
    assert d.runs_in_period == 1
    assert [i.url for i in d.still] == [STILL]


def test_no_run_in_the_period_still_reports_what_is_broken(tmp_path: Path) -> None:
    build_history(tmp_path / "h.sqlite")
    with History(tmp_path / "h.sqlite") as h:
        rows = h.latest_results(before=ago(0.5)) + h.results_between(ago(0.5), ago(0))
    d = build_digest(rows, ago(0.5), ago(0), title="t")
    assert d.runs_in_period == 0 and not d.new
    assert {i.url for i in d.still} == {NEW, CHANGED, STILL}
    assert "no check finished in this period" in render_text(d)


def test_an_empty_history_makes_an_empty_digest() -> None:
    d = build_digest([], ago(7), ago(0), title="t")
    assert d.latest_run is None and d.subject == "0 newly broken, 0 changed, 0 still broken, 0 fixed — t"
    assert "no check has finished yet" in render_text(d)
    assert "None." in render_html(d)


def test_html_escapes_everything_from_documents_and_servers(tmp_path: Path) -> None:
    build_history(tmp_path / "h.sqlite", anchor='<script>alert("x")</script>')
    message = build_message(digest_of(tmp_path / "h.sqlite"), "linkcheck@charity.org.uk", [TO], "[linkcheck]")
    html = part(message, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert f'<a href="{NEW}">' in html


# --------------------------------------------------------------------------- settings.email

@pytest.mark.parametrize("raw, message", [
    ({"password": "hunter2"}, "settings.email.password: put SMTP credentials in LINKCHECK_SMTP_USER"),
    ({"smtp_user": "me"}, "settings.email.smtp_user: put SMTP credentials in"),
    ({"hots": "mail"}, "settings.email.hots: unknown key"),
    ({"port": "25"}, "settings.email.port: expected a port number"),
    ({"security": "tls"}, "settings.email.security: expected one of starttls, ssl, none"),
    ({"to": [1]}, "settings.email.to: expected an address or a list"),
])
def test_bad_email_settings_name_the_file(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        email_options(raw, "bid/references.yaml")
    assert str(info.value).startswith(f"bid/references.yaml: {message}")


def test_email_settings_and_flags() -> None:
    options = email_options({"host": "mail.example.org", "security": "ssl", "to": TO}, "r.yaml")
    assert options.to == (TO,) and options.subject_prefix == "[linkcheck]"
    smtp = options.smtp(environ={"LINKCHECK_SMTP_USER": "u", "LINKCHECK_SMTP_PASSWORD": PASSWORD})
    assert (smtp.host, smtp.port, smtp.security, smtp.username, smtp.password) == ("mail.example.org", 465, "ssl",
                                                                                  "u", PASSWORD)
    assert PASSWORD not in repr(smtp)  # settings end up in logs and tracebacks
    assert options.smtp("127.0.0.1", 2525, environ={}).port == 2525
    assert options.smtp(environ={}).username is None


# --------------------------------------------------------------------------- a real SMTP server

class Inbox:
    """aiosmtpd handler: keeps what it is sent; `refuse` answers every RCPT with it."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.sessions = 0
        self.refuse: str | None = None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname  # a handler taking EHLO over must do this itself
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class Smtp:
    def __init__(self, inbox: Inbox, port: int, logins: list[str]) -> None:
        self.inbox, self.port, self.logins = inbox, port, logins


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def smtp(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Smtp]:
    """STARTTLS required, AUTH only over TLS, one account; the client trusts our CA only."""
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("LINKCHECK_SMTP_USER", USER)
    monkeypatch.setenv("LINKCHECK_SMTP_PASSWORD", PASSWORD)
    logins: list[str] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
        if good:
            logins.append(auth_data.login.decode())
        return AuthResult(success=good)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_tls,
                            require_starttls=True, auth_require_tls=True, authenticator=authenticator)
    controller.start()
    try:
        yield Smtp(inbox, controller.port, logins)
    finally:
        controller.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A references file with email settings, and a history beside it."""
    folder = tmp_path / "housing-bid"
    folder.mkdir()
    (folder / "references.yaml").write_text(
        "version: 1\ndocuments: [submission.md]\nsettings:\n  email:\n    from: linkcheck@charity.org.uk\n",
        encoding="utf-8")
    build_history(folder / ".linkcheck" / "history.sqlite")
    return folder


def run_email(project: Path, *args: str) -> CliResult:
    return CliRunner().invoke(main, ["email", "--references", str(project / "references.yaml"),
                                     "--report-dir", str(project / "reports"), *args])


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_is_sent_over_starttls_with_login(project: Path, smtp: Smtp) -> None:
    result = run_email(project, "--to", TO, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port))
    assert result.exit_code == 0, result.output
    assert smtp.logins == [USER]
    [(rcpts, raw)] = smtp.inbox.messages
    assert rcpts == [TO]
    message = parse(raw)
    assert message["Subject"] == "[linkcheck] 1 newly broken, 1 changed, 1 still broken, 1 fixed — housing-bid"
    assert (message["From"], message["To"]) == ("linkcheck@charity.org.uk", TO)
    assert message["Date"] and message["Message-ID"].endswith("@charity.org.uk>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = part(message, "plain"), part(message, "html")
    for shown in (text, html):
        assert NEW in shown and "submission.md:17" in shown and "appendix.md:4" in shown
        assert STILL in shown and "60 days" in shown and FIXED in shown
    assert text.index(NEW) < text.index("Still broken") < text.index(STILL) < text.index("Fixed") < text.index(FIXED)
    [eml] = (project / "reports").glob("email-*.eml")
    assert parse(eml.read_bytes())["Message-ID"] == message["Message-ID"]  # the file is what was sent
    assert f"sent to {TO} via 127.0.0.1:{smtp.port}" in result.output


def test_dry_run_writes_the_eml_and_sends_nothing(project: Path, smtp: Smtp) -> None:
    result = run_email(project, "--dry-run", "--to", TO, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port))
    assert result.exit_code == 0, result.output
    assert smtp.inbox.sessions == 0 and not smtp.inbox.messages
    [eml] = (project / "reports").glob("email-*.eml")
    assert parse(eml.read_bytes())["To"] == TO
    assert "dry run: nothing sent" in result.output


def test_a_refused_recipient_fails_with_the_servers_answer_and_keeps_the_eml(project: Path, smtp: Smtp) -> None:
    smtp.inbox.refuse = "550 no such user"
    result = run_email(project, "--to", TO, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port))
    assert result.exit_code == 1
    assert f"{TO}: 550 no such user" in result.output
    assert not smtp.inbox.messages
    assert len(list((project / "reports").glob("email-*.eml"))) == 1


def test_an_untrusted_server_certificate_is_a_send_failure(project: Path, smtp: Smtp,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "other.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    result = run_email(project, "--to", TO, "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port))
    assert result.exit_code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.output
    assert smtp.logins == [] and not smtp.inbox.messages


def test_credentials_in_references_yaml_are_refused(project: Path) -> None:
    refs = project / "references.yaml"
    refs.write_text(refs.read_text(encoding="utf-8") + "    password: hunter2\n", encoding="utf-8")
    result = run_email(project, "--to", TO, "--dry-run")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {refs}: settings.email.password: put SMTP credentials in LINKCHECK_SMTP_USER / "
        "LINKCHECK_SMTP_PASSWORD, not in references.yaml"]
    assert not (project / "reports").exists()


def test_no_recipients_is_a_usage_error(project: Path) -> None:
    result = run_email(project, "--dry-run")
    assert result.exit_code == 2
    assert "no recipients" in result.output


def test_write_eml_replaces_atomically(tmp_path: Path) -> None:
    d = build_digest([], ago(7), ago(0), title="t")
    first = build_message(d, "a@b.org", [TO], "[x]")
    path = write_eml(first, tmp_path / "out" / "email.eml")
    write_eml(build_message(d, "a@b.org", ["other@b.org"], "[x]"), path)
    assert parse(path.read_bytes())["To"] == "other@b.org"
    assert [p.name for p in path.parent.iterdir()] == ["email.eml"]  # no temp file left behind
    assert b"\r\n" in path.read_bytes()


def test_the_digest_reads_the_verdict_groups_from_the_model_without_sqlite() -> None:
    """The digest is pure: it takes rows and the model's groups, and never loads the database driver."""
    code = "import sys, linkcheck.notify.digest; print('sqlite3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
