"""A generic webhook: the notification as JSON, signed with HMAC-SHA256 so receivers can trust it.

`X-Canaria-Signature: sha256=<hex>` is computed over the exact body bytes sent (like GitHub's
`X-Hub-Signature-256`); receivers should compare it with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from canaria.config.notify import WebhookChannelConfig
from canaria.errors import NotifyError
from canaria.notify.base import Channel, Notification, Redactor

__all__ = ["SIGNATURE_HEADER", "WebhookChannel", "sign"]

SIGNATURE_HEADER = "X-Canaria-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    type = "webhook"

    def __init__(self, name: str, config: WebhookChannelConfig, *, timeout: float, redact: Redactor) -> None:
        super().__init__(name, timeout=timeout)
        self._url = config.url.get_secret_value()
        self._secret = config.secret.get_secret_value() if config.secret else None
        self._headers = dict(config.headers)
        self._redact = redact

    async def send(self, notification: Notification) -> None:
        body = json.dumps(notification.to_json(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "canaria",
                   "X-Canaria-Event": notification.kind, "X-Canaria-Delivery": str(notification.event_id),
                   **self._headers}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise self._redact.error(exc, f"webhook {self.name}: {type(exc).__name__} ") from None
        if response.status_code >= 300:
            raise NotifyError(self._redact(f"webhook {self.name}: HTTP {response.status_code}"))
