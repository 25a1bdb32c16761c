"""Message templates: built-in Jinja files, overridable per part, language and event kind.

A user's `notify.template_dir` is searched first, most specific name first::

    <kind>.<part>.<lang>.j2   e.g. rollback_started.text.ko.j2
    <kind>.<part>.j2
    <part>.<lang>.j2          e.g. sms.en.j2
    <part>.j2                 parts: text (email plain, Slack fallback, apprise), html (email), sms

User templates run in Jinja's sandbox (they are configuration, not code). A template that fails to
render falls back to the built-in one, so a typo never silences an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, PackageLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

__all__ = ["PARTS", "TemplateSet"]

PARTS = ("text", "html", "sms")
log = logging.getLogger("canaria.notify")


class TemplateSet:
    def __init__(self, template_dir: str | Path | None = None) -> None:
        self._builtin = SandboxedEnvironment(
            loader=PackageLoader("canaria.notify", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined,
        )
        self._user: dict[bool, SandboxedEnvironment] = {}
        self.template_dir = Path(template_dir) if template_dir else None
        if self.template_dir is not None:
            for escape in (False, True):  # html parts escape every value, text parts never do
                self._user[escape] = SandboxedEnvironment(
                    loader=FileSystemLoader(str(self.template_dir)), autoescape=escape,
                    trim_blocks=True, lstrip_blocks=True,
                )

    def _user_template_name(self, part: str, kind: str, lang: str) -> str | None:
        if self.template_dir is None:
            return None
        for name in (f"{kind}.{part}.{lang}.j2", f"{kind}.{part}.j2", f"{part}.{lang}.j2", f"{part}.j2"):
            if (self.template_dir / name).is_file():
                return name
        return None

    def render(self, part: str, *, kind: str, lang: str, context: dict[str, Any],
               translate: Callable[..., str]) -> str:
        ctx = {**context, "t": translate}
        name = self._user_template_name(part, kind, lang)
        if name is not None and self._user:
            try:
                return self._user[part == "html"].get_template(name).render(ctx).strip() + "\n"
            except (TemplateError, OSError) as exc:
                log.warning("notification template %s failed (%s); using the built-in one", name, exc)
        return self._builtin.get_template(f"{part}.j2").render(ctx).strip() + "\n"
