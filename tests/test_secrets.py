"""Credentials in URLs: the request sends them, no output of any command shows them."""
from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import gzip
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result

from linkcheck.cli import main
from linkcheck.redact import has_secret, redact, shareable
from linkcheck.urls import without_userinfo

SECRETS = ("S3cretUser", "S3cretPass", "S3cretTok", "S3cretSig", "S3cretCred", "S3cretKey", "S3cretBare")
AUTH = ("S3cretUser", "S3cretPass")


class Site:
    """A server whose pages want the credentials the URLs carry, logging what arrived."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.queries: list[str] = []
        self.archive_asked: list[str] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/private/{page}", self.private)
        self.app.router.add_route("*", "/signed", self.signed)
        self.app.router.add_route("*", "/s3", self.s3)
        self.app.router.add_route("*", "/s3-new", self.page)
        self.app.router.add_route("*", "/plain-gone", self.gone)
        self.app.router.add_route("*", "/wayback/available", self.wayback)
        self.app.router.add_route("*", "/save", self.save)

    async def private(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        self.authorizations.append(header)
        user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        if (user, password) != AUTH:
            return web.Response(status=401)
        if request.match_info["page"] == "gone":
            return web.Response(status=404, text="not here")
        return await self.page(request)

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text="<html><body><p>The findings.</p></body></html>", content_type="text/html")

    async def signed(self, request: web.Request) -> web.Response:
        self.queries.append(request.query_string)
        return web.Response(status=404, text="expired")

    async def s3(self, request: web.Request) -> web.Response:
        self.queries.append(request.query_string)
        raise web.HTTPMovedPermanently(f"/s3-new?{request.query_string}")

    async def gone(self, request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def wayback(self, request: web.Request) -> web.Response:
        self.archive_asked.append(request.query.get("url", ""))
        return web.json_response({"archived_snapshots": {}})

    async def save(self, request: web.Request) -> web.Response:
        self.archive_asked.append((await request.post()).get("url", ""))  # type: ignore[arg-type]
        return web.json_response({"job_id": "1"})


@pytest.fixture
async def site() -> AsyncIterator[tuple[Site, str]]:
    served = Site()
    server = TestServer(served.app, host="127.0.0.1")
    await server.start_server()
    try:
        yield served, f"127.0.0.1:{server.port}"
    finally:
        await server.close()


class Inbox:
    """aiosmtpd handler keeping every message it is sent, as the bytes that crossed the wire."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on loopback."""
    kept = Inbox()
    with socket.socket() as probe:  # a free port: the controller checks it is up by connecting
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(kept, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield kept, port
    finally:
        controller.stop()


async def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env, catch_exceptions=False)


def _mail(raw: bytes) -> bytes:
    """A message as its reader sees it: raw, plus every part decoded (base64, quoted-printable)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    return raw + "\n".join(parts).encode("utf-8")


def _files(root: Path) -> dict[Path, bytes]:
    """Every file under root as the bytes a reader could see: WARCs and gzip members inflated,
    e-mail decoded."""
    found: dict[Path, bytes] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found[path] = (gzip.decompress(data) if data[:2] == b"\x1f\x8b"
                           else _mail(data) if path.suffix == ".eml" else data)
    return found


async def test_the_password_reaches_the_server_and_no_output(site: tuple[Site, str], tmp_path: Path,
                                                              inbox: tuple[Inbox, int],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    served, host = site
    mailbox, smtp_port = inbox
    monkeypatch.chdir(tmp_path)
    secret = "S3cretUser:S3cretPass"
    Path("doc.md").write_text(
        f"See [the data](http://{secret}@{host}/private/data) and [a gone one](http://{secret}@{host}/private/gone).\n"
        f"Autolinked: <http://S3cretUser:S3cretBare@{host}/private/bare>.\n"
        f"Signed: [signed](http://{host}/signed?token=S3cretTok&page=2).\n"
        f"S3: [bucket](http://{host}/s3?X-Amz-Credential=S3cretCred&X-Amz-Signature=S3cretSig0123).\n"
        f"Plain: [gone](http://{host}/plain-gone).\n"
        "Registered: [the registry](#).\n", encoding="utf-8")
    Path("references.yaml").write_text(
        "version: 1\ndocuments: [doc.md]\nsettings:\n"
        f"  archive_availability_url: http://{host}/wayback/available\n"
        f"  archive_save_url: http://{host}/save\n"
        f"  email: {{to: [team@example.org], host: 127.0.0.1, port: {smtp_port}, security: none}}\n"
        "references:\n  - id: registry\n    cited_as: the registry\n"
        f"    url: http://{secret}@{host}/private/registry?api_key=S3cretKey\n", encoding="utf-8")
    summary = tmp_path / "step-summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    checked = await cli("check", "--allow-private", "--format", "html,junit,sarif,markdown,text",
                        "--state-dir", "state", "--save-archive", env=env)
    assert checked.exit_code == 1, checked.output
    emailed = await cli("email", "--dry-run", "--state-dir", "state", "--report-dir", "mail")
    sent = await cli("email", "--state-dir", "state", "--report-dir", "mail-sent")
    extracted = await cli("extract", "doc.md")
    history = await cli("history", f"http://{host}/signed?token=S3cretTok&page=2", "--state-dir", "state")
    listing = await cli("archive", "list", "--state-dir", "state")
    assert emailed.exit_code == 0 and extracted.exit_code == 0 and history.exit_code == 0, emailed.output
    assert sent.exit_code == 0 and len(mailbox.messages) == 1, sent.output

    # The requests used the real credentials.
    assert "Basic " + base64.b64encode(b"S3cretUser:S3cretPass").decode() in served.authorizations
    assert "Basic " + base64.b64encode(b"S3cretUser:S3cretBare").decode() in served.authorizations
    assert "token=S3cretTok&page=2" in served.queries
    assert any("X-Amz-Signature=S3cretSig0123" in q for q in served.queries)

    # Nothing anyone can read holds them: console, reports, summary, history, archive, e-mail.
    produced = _files(tmp_path / "reports") | _files(tmp_path / "state") | _files(tmp_path / "mail") | _files(tmp_path / "mail-sent")
    produced[summary] = summary.read_bytes()
    assert {p.name for p in produced} >= {"report.json", "report.html", "junit.xml", "report.sarif", "report.md",
                                         "report.txt", "history.sqlite", "last-report.json", "step-summary.md"}
    assert any(p.name.endswith(".warc.gz") for p in produced) and any(p.suffix == ".eml" for p in produced)
    outputs = {"check": checked.output, "email": emailed.output + sent.output, "extract": extracted.output,
               "e-mail as sent": _mail(mailbox.messages[0]).decode("utf-8", "replace"),
               "history": history.output, "archive list": listing.output, "archive lookups": repr(served.archive_asked)}
    leaks = [f"{where}: {s}" for where, text in outputs.items() for s in SECRETS if s in text]
    leaks += [f"{path}: {s}" for path, data in produced.items() for s in SECRETS if s.encode() in data]
    assert leaks == []
    # ... while they still say where the credentials were, and which page is which.
    assert f"http://REDACTED@{host}/private/gone" in checked.output
    assert "/signed?token=REDACTED&page=2" in (tmp_path / "reports/report.md").read_text()
    assert "::error" in checked.output and "REDACTED" in summary.read_text() + checked.output
    # The archive was asked about the plain broken link only (never one with a credential).
    assert served.archive_asked == [f"http://{host}/plain-gone"]


async def test_private_hosts_are_never_named_to_the_archive(site: tuple[Site, str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    served, host = site
    monkeypatch.chdir(tmp_path)
    Path("doc.md").write_text(f"[gone](http://{host}/plain-gone)\n", encoding="utf-8")
    Path("references.yaml").write_text(
        "version: 1\ndocuments: [doc.md]\nsettings:\n"
        f"  archive_availability_url: http://{host}/wayback/available\n"
        "  private_hosts: ['^127\\.0\\.0\\.1$']\n", encoding="utf-8")
    assert (await cli("check", "--allow-private", "--quiet", "--state-dir", "state")).exit_code == 1
    assert served.archive_asked == []


@pytest.mark.parametrize("raw, shown", [
    ("https://u:p@site.org/a", "https://REDACTED@site.org/a"),
    ("https://u:p@ss@site.org/a", "https://REDACTED@site.org/a"),
    ("https://git@site.org/a", "https://REDACTED@site.org/a"),
    ("https://site.org/a?Token=x&b=1", "https://site.org/a?Token=REDACTED&b=1"),
    ("https://site.org/a?x=1&access_token=x#f", "https://site.org/a?x=1&access_token=REDACTED#f"),
    ("https://site.org/a?X-Amz-Security-Token=x&X-Amz-Date=2", "https://site.org/a?X-Amz-Security-Token=REDACTED"
                                                                "&X-Amz-Date=REDACTED"),
    ("https://site.org/a?x-goog-signature=x", "https://site.org/a?x-goog-signature=REDACTED"),
    ("https://site.org/a?sig=x&sv=2020", "https://site.org/a?sig=REDACTED&sv=2020"),
    ("https://site.org/cb#access_token=x&state=1", "https://site.org/cb#access_token=REDACTED&state=1"),
    ("https://site.org/a?monkey=1&keyword=2&page=3", "https://site.org/a?monkey=1&keyword=2&page=3"),
    ("see <https://u:p@site.org/a?apikey=k>, then", "see <https://REDACTED@site.org/a?apikey=REDACTED>, then"),
    ("mailto:editor@site.org", "mailto:editor@site.org"),
    ("https://site.org/shop;jsessionid=0A1B2C3D", "https://site.org/shop;jsessionid=REDACTED"),
    ("https://site.org/a.php?PHPSESSID=abc&p=2", "https://site.org/a.php?PHPSESSID=REDACTED&p=2"),
    ("https://site.org/a;token=x", "https://site.org/a;token=REDACTED"),
])
def test_redact(raw: str, shown: str) -> None:
    assert redact(raw) == shown
    assert redact(shown) == shown  # idempotent
    assert has_secret(raw) is (raw != shown)


def test_exclude_and_archive_see_urls_without_credentials() -> None:
    import re
    assert without_userinfo("https://u:p@intranet.org/x") == "https://intranet.org/x"
    assert not shareable("https://u:p@site.org/x") and not shareable("https://site.org/x?token=REDACTED")
    assert shareable("https://site.org/x") and not shareable("https://wiki.corp/x", [re.compile(r"\.corp$")])


def test_redaction_is_linear_on_hostile_text() -> None:
    import time
    started = time.perf_counter()
    redact("a." * 200_000 + "://" + "x" * 200_000 + "?" + "b" * 200_000 + "=" + "@" * 10)
    assert time.perf_counter() - started < 2, os.cpu_count()
