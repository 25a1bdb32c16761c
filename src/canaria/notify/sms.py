"""SMS through the Twilio SDK: the short text, for emergencies.

`api_url` replaces `client.api.base_url`, so the same code can talk to a relay or a local test
receiver. Twilio's logger never prints the Authorization header, and canaria's errors carry no token.
"""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from canaria.config.notify import SmsChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Notification, Redactor, SyncChannel

__all__ = ["SmsChannel"]

_quiet = logging.getLogger("canaria.notify.twilio")
_quiet.setLevel(logging.WARNING)
_quiet.propagate = False  # the dispatcher records and logs the failure itself, without the URL
_quiet.addHandler(logging.NullHandler())


class SmsChannel(SyncChannel):
    type = "sms"

    def __init__(self, name: str, config: SmsChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout)
        self.config = config
        self._redact = redact

    def _client(self) -> Client:
        http = TwilioHttpClient(timeout=self.timeout, logger=_quiet)
        client = Client(self.config.account_sid, self.config.auth_token.get_secret_value(), http_client=http)
        client.api.base_url = self.config.api_url.rstrip("/")
        return client

    def send_blocking(self, notification: Notification) -> None:
        numbers = [c.phone for c in notification.contacts if c.phone] or list(self.config.to)
        if not numbers:
            raise NotifyError(f"sms {self.name}: no recipients (set `to`, or contacts with a phone)")
        body = notification.short[: self.config.max_chars]
        client = self._client()
        failed: list[str] = []
        for number in numbers:
            try:
                client.messages.create(to=number, from_=self.config.sender, body=body)
            except TwilioRestException as exc:
                failed.append(f"{number}: HTTP {exc.status} {exc.msg}")
            except (TwilioException, OSError) as exc:
                failed.append(f"{number}: {exc}")
            except Exception as exc:  # noqa: BLE001 - requests' connection errors and timeouts
                failed.append(f"{number}: {type(exc).__name__}: {exc}")
        if failed:
            raise NotifyError(self._redact(f"sms {self.name}: " + "; ".join(failed))[:500])
