"""The digest as an email: settings.email checked, the MIME message built, kept as .eml, sent over SMTP."""
from __future__ import annotations

import email.policy
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LinkcheckError
from ..files import write_atomic
from ..times import parse_time
from .digest import Digest, render_html, render_text

__all__ = ["DEFAULT_PORTS", "PASSWORD_ENV", "SECURITY", "USER_ENV", "EmailOptions", "SendError", "SmtpSettings",
           "build_message", "email_options", "send", "write_eml"]

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
USER_ENV, PASSWORD_ENV = "LINKCHECK_SMTP_USER", "LINKCHECK_SMTP_PASSWORD"
# references.yaml is committed and shared; a secret in it leaks, so keys like these are refused.
_SECRET_HINTS = ("user", "pass", "login", "secret", "token", "credential")
_KNOWN = ("host", "port", "security", "from", "to", "subject_prefix", "timeout")
# Folding at 78 splits the subject inside its encoded words and leaves a doubled space before
# the dash once unfolded; RFC 5322 allows 998, and at that length a subject is never folded.
_POLICY = email.policy.default.clone(max_line_length=998)


class SendError(LinkcheckError):
    """The message was not delivered: `answer` is what the server (or the connection) said."""

    def __init__(self, server: str, answer: str, code: int | None = None) -> None:
        self.server = server
        self.code = code
        self.answer = " ".join(answer.split())
        super().__init__(f"{server}: sending failed: " + (f"{code} " if code is not None else "") + self.answer)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to hand the message over; username None means no login."""

    host: str
    port: int
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class EmailOptions:
    """settings.email of the references file, checked. It never holds credentials."""

    host: str = "localhost"
    port: int | None = None
    security: str = "starttls"
    sender: str | None = None
    to: tuple[str, ...] = ()
    subject_prefix: str = "[linkcheck]"
    timeout: float = 30.0

    def smtp(self, host: str | None = None, port: int | None = None,
             environ: Mapping[str, str] = os.environ) -> SmtpSettings:
        """The settings to send with: flags override the file; credentials come from the environment."""
        return SmtpSettings(host or self.host, port or self.port or DEFAULT_PORTS[self.security], self.security,
                            environ.get(USER_ENV) or None, environ.get(PASSWORD_ENV) or None, self.timeout)


def _fail(where: str, key: str, message: str) -> ConfigError:
    return ConfigError(where, f"settings.email.{key}: {message}")


def email_options(raw: Mapping[str, Any] | None, where: str) -> EmailOptions:
    """Check settings.email (a free-form mapping in config.py); `where` names the file in errors."""
    raw = raw or {}
    for key in raw:
        if any(hint in str(key).lower() for hint in _SECRET_HINTS):
            raise _fail(where, str(key), f"put SMTP credentials in {USER_ENV} / {PASSWORD_ENV}, "
                                         "not in references.yaml")
        if key not in _KNOWN:
            raise _fail(where, str(key), f"unknown key (known: {', '.join(_KNOWN)})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue  # null means 'not given', as elsewhere in the file
        if key in ("host", "from", "subject_prefix") and not isinstance(value, str):
            raise _fail(where, key, f"expected a string, got {value!r}")
        if key == "port" and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536):
            raise _fail(where, key, f"expected a port number 1-65535, got {value!r}")
        if key == "security" and value not in SECURITY:
            raise _fail(where, key, f"expected one of {', '.join(SECURITY)}, got {value!r}")
        if key == "timeout" and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
            raise _fail(where, key, f"expected a number of seconds > 0, got {value!r}")
        if key == "to":
            value = (value,) if isinstance(value, str) else value
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise _fail(where, key, "expected an address or a list of addresses")
            value = tuple(value)
        values["sender" if key == "from" else key] = value
    return EmailOptions(**values)


def _address(value: str, what: str) -> str:
    """Refuse what is not one plain address: it would go into a header."""
    _, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    if "\r" in value or "\n" in value or not local or not domain or any(ch.isspace() for ch in addr):
        raise LinkcheckError(f"{value!r}: {what} is not an email address")
    return value.strip()


def build_message(digest: Digest, sender: str, recipients: Sequence[str], subject_prefix: str) -> EmailMessage:
    """multipart/alternative: the text part first, then the HTML part, which clients prefer."""
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = " ".join(f"{subject_prefix} {digest.subject}".split())
    message["From"] = _address(sender, "the sender")
    message["To"] = ", ".join(_address(r, "a recipient") for r in recipients)
    message["Date"] = format_datetime(parse_time(digest.now))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "linkcheck.invalid"
    message["Message-ID"] = make_msgid("linkcheck", domain=domain)  # a domain given: no slow FQDN lookup
    message.set_content(render_text(digest))
    message.add_alternative(render_html(digest), subtype="html")
    return message


def write_eml(message: EmailMessage, path: Path) -> Path:
    """Write the message as it goes on the wire (CRLF), atomically: a reader never sees half of it."""
    return write_atomic(Path(path), message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(answer)}" for addr, (code, answer) in refused.items())


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Hand the message to the SMTP server; any refusal, even of one recipient, is a SendError.

    TLS verifies the server against the system CAs (SSL_CERT_FILE honoured); login happens
    only when a username is set, and only ever after STARTTLS or over SSL when those are asked."""
    server = f"{settings.host}:{settings.port}"
    try:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.username:
                client.login(settings.username, settings.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(server, _refusals(exc.recipients)) from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(server, _text(exc.smtp_error), exc.smtp_code) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(server, str(exc) or type(exc).__name__) from None
    if refused:
        raise SendError(server, _refusals(refused))
