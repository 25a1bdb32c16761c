"""`canaria check --notify-test`: one test message to every channel, right now, with its outcome.

No retries and no queue: the pre-flight wants to know whether each channel works, and how it fails.
"""

from __future__ import annotations

import asyncio
import time

from canaria.config import CanariaConfig
from canaria.i18n import resolve_lang, t
from canaria.notify.base import Channel, Redactor
from canaria.notify.channels import create_channels
from canaria.notify.dispatcher import template_dir_of
from canaria.notify.render import Renderer
from canaria.notify.templates import TemplateSet
from canaria.state.store import Event

__all__ = ["send_test"]


async def send_test(config: CanariaConfig, lang: str | None = None) -> list[tuple[str, bool, str]]:
    """[(channel name, ok, detail)] for every configured channel; detail never contains a secret."""
    lang = resolve_lang(lang, config.notify.lang or config.lang)
    redact = Redactor(config.notify.secret_values())
    channels = create_channels(config.notify, redact)
    renderer = Renderer(config, lang=lang, templates=TemplateSet(template_dir_of(config)))
    event = Event(0, None, time.time(), "test", "info", "canaria", "test message", {})

    async def one(name: str, channel: Channel) -> tuple[str, bool, str]:
        notification = renderer.build(event, None, body=t("notify.test.body", lang, channel=name))
        try:
            await asyncio.wait_for(channel.send(notification), timeout=channel.timeout)
        except TimeoutError:
            return name, False, f"{channel.type}: timed out after {channel.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - reported per channel
            return name, False, str(redact.error(exc))
        return name, True, f"{channel.type}: {t('notify.sent', lang)}"

    try:
        return list(await asyncio.gather(*(one(name, ch) for name, ch in channels.items())))
    finally:
        for channel in channels.values():
            await channel.close()
