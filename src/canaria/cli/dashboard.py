"""`canaria dashboard`: the web dashboard and control API in the foreground."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from canaria.config import CanariaConfig

__all__ = ["dashboard_notes", "register"]


def dashboard_notes(config: CanariaConfig, url: str, *, loopback: bool, lang: str) -> list[str]:
    """What the person starting the dashboard must know: the URL, and whether anyone can act or read."""
    from canaria.i18n import t

    dash = config.dashboard
    lines = [t("web.cli.url", lang, url=url)]
    if dash.tokens:
        lines.append(t("web.cli.tokens", lang, names=", ".join(sorted(dash.tokens))))
    else:
        lines.append(t("web.cli.read_only", lang))
    if not loopback:
        lines.append(t("web.cli.exposed", lang) if not dash.read_token_required else t("web.cli.exposed_tokens", lang))
    return lines


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        config: Annotated[Path, typer.Option("--config", "-c", help="canaria.yaml to use")] = Path("canaria.yaml"),
        listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT (default: dashboard.listen, "
                                                   "127.0.0.1:8080)")] = None,
        lang: Annotated[str | None, typer.Option("--lang", help="ko | en")] = None,
    ) -> None:
        """Web dashboard and control API (default 127.0.0.1:8080)."""
        from rich.console import Console

        from canaria.config import load_config, parse_address
        from canaria.errors import CanariaError, UsageError
        from canaria.i18n import resolve_lang
        from canaria.runtime.app import app_operator_factory
        from canaria.web.server import DashboardServer, is_loopback

        err = Console(stderr=True)
        resolved: str | None = None  # the command's language once the config loads
        try:
            if lang is not None and lang not in ("en", "ko"):
                raise UsageError(f"--lang must be en or ko, got {lang!r}")
            loaded = load_config(config)
            lg = resolved = resolve_lang(lang, loaded.lang)
            if listen is not None:
                try:
                    parse_address(listen)
                except ValueError as exc:
                    raise UsageError(f"--listen: {exc}") from None

            async def main() -> None:
                server = DashboardServer(loaded, listen=listen, lang=lg,
                                         operator_factory=app_operator_factory(loaded, lang=lg))
                url = await server.start()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, server.request_stop)
                try:
                    for line in dashboard_notes(loaded, url, loopback=is_loopback(server.host), lang=lg):
                        err.print(line, markup=False, highlight=False)
                    await server.wait()
                finally:
                    await server.stop()

            asyncio.run(main())
        except CanariaError as exc:
            from canaria.cli.common import error_lang, error_line

            err.print(error_line(exc, resolved or error_lang(lang, exc, config)), markup=False, highlight=False,
                      soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
