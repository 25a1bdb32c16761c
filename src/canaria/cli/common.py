"""What every command shares: options, the error handler, the app context, output helpers.

Only modules in `canaria.cli` import this (the layering test keeps it so).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from canaria.config import CanariaConfig, load_config
from canaria.config.lang_hint import declared_lang
from canaria.config.platform import with_canary_image
from canaria.errors import CanariaError, ConfigError, UsageError
from canaria.i18n import LANGS, resolve_lang
from canaria.i18n.error_line import error_line
from canaria.runtime.app import App, default_actor, open_app

__all__ = ["ConfigOpt", "ImageOpt", "JsonOpt", "LangOpt", "cli_lang", "err", "error_lang", "error_line", "handle_errors", "out", "print_json", "with_app"]

def _console(*, stderr: bool) -> Console:
    """Off a terminal (CI logs, pipes) nothing is wrapped at 80 columns or cut with an ellipsis. The console
    keeps following sys.stdout/sys.stderr (no file bound), so redirected streams still get the output."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=1000, soft_wrap=True)


err = _console(stderr=True)
out = _console(stderr=False)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="canaria.yaml to use")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="ko | en (default: config `lang`, then LANG)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
ImageOpt = Annotated[str | None, typer.Option("--image", help="the canary image (platforms kubernetes and cloudrun)")]
F = TypeVar("F", bound=Callable[..., Any])
_COMMAND_LANG: ContextVar[str | None] = ContextVar("canaria_command_lang", default=None)


def handle_errors(fn: F) -> F:
    """One clear line and the contract's exit code for every canaria error; nothing half-applied."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _COMMAND_LANG.set(None)  # each command resolves its own language
        try:
            return fn(*args, **kwargs)
        except CanariaError as exc:
            lang = error_lang(kwargs.get("lang"), exc, kwargs.get("config"))
            err.print(error_line(exc, lang), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        finally:
            _COMMAND_LANG.reset(token)

    return wrapper  # type: ignore[return-value]


def cli_lang(flag: str | None, config: CanariaConfig | None = None) -> str:
    if flag is not None and flag not in ("en", "ko"):
        raise UsageError(f"--lang must be en or ko, got {flag!r}")
    lang = resolve_lang(flag, config.lang if config else None)
    _COMMAND_LANG.set(lang)
    return lang


def error_lang(flag: object, exc: CanariaError, config_path: object = None) -> str:
    """The language of the command that failed: its --lang, else the config's `lang`, else LANG.

    A config that did not load still says which language it wants: a ConfigError is told in the `lang` its
    raw YAML declares (when it parses that far), as it would have been had the file loaded."""
    if isinstance(flag, str) and flag in LANGS:
        return flag
    if isinstance(exc, ConfigError) and isinstance(config_path, Path):
        declared = declared_lang(config_path)
        if declared is not None:
            return declared
    return _COMMAND_LANG.get() or resolve_lang(None, None)


def with_app(config_path: Path, lang_flag: str | None, body: Callable[[App, str], Any], *,
             actor: str | None = None, image: str | None = None) -> Any:
    config = load_config(config_path)
    lang = cli_lang(lang_flag, config)
    if image is not None:
        try:
            config = config.model_copy(update={"platform": with_canary_image(config.platform, image)})
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    async def main() -> Any:
        application = open_app(config, lang=lang, actor=actor or default_actor(), notify=True)
        try:
            return await body(application, lang)
        finally:
            await application.close()

    return asyncio.run(main())


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str), flush=True)
