"""Notifications: the periodic digest of the history, and sending it by email."""
from __future__ import annotations

from .digest import Digest, Item, build_digest, render_html, render_text
from .email import EmailOptions, SendError, SmtpSettings, build_message, email_options, send, write_eml

__all__ = ["Digest", "EmailOptions", "Item", "SendError", "SmtpSettings", "build_digest", "build_message",
           "email_options", "render_html", "render_text", "send", "write_eml"]
