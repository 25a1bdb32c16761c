"""Email over SMTP (stdlib smtplib): STARTTLS (or implicit TLS) and login; plain text + HTML.

Escalation contacts with an address replace the configured recipients for that message, so level 2
reaches the people on the contact list rather than the usual team inbox.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from canaria.config.notify import EmailChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Notification, Redactor, SyncChannel

__all__ = ["EmailChannel", "build_message"]


def build_message(n: Notification, *, sender: str, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[canaria] {n.title}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(n.at, usegmt=True)
    message["Message-ID"] = make_msgid("canaria")
    message["X-Canaria-Severity"] = n.severity.value
    message["X-Canaria-Event"] = n.kind
    if n.severity.value == "critical":
        message["Importance"] = "high"
    message.set_content(n.text)
    message.add_alternative(n.html, subtype="html")
    return message


class EmailChannel(SyncChannel):
    type = "email"

    def __init__(self, name: str, config: EmailChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout)
        self.config = config
        self._redact = redact

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.ca_file:
            context.load_verify_locations(cafile=self.config.ca_file)
        return context

    def send_blocking(self, notification: Notification) -> None:
        cfg = self.config
        to = [c.email for c in notification.contacts if c.email] or list(cfg.to)
        if not to:
            raise NotifyError(f"email {self.name}: no recipients (set `to`, or contacts with an email)")
        message = build_message(notification, sender=cfg.sender, to=to)
        try:
            if cfg.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout,
                                                      context=self._tls_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if cfg.starttls:
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if cfg.username:
                    password = cfg.password.get_secret_value() if cfg.password else ""
                    smtp.login(cfg.username, password)
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(f"email {self.name}: login refused ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise self._redact.error(exc, f"email {self.name}: ") from None
