"""Commands that wrap whole subsystems (demo, simulate), registered on the main Typer app."""

from __future__ import annotations

from typing import Annotated

import typer

from canaria.cli import LangOpt, _lang, app, handle_errors
from canaria.errors import UsageError

__all__: list[str] = []


@app.command()
@handle_errors
def demo(
    scenario: Annotated[str, typer.Option("--scenario", help="good | errors | latency | memory-leak")] = "good",
    lang: LangOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="final JSON object on the last line")] = False,
    rps: Annotated[float, typer.Option("--rps", help="load generator requests/s (loopback only)")] = 120.0,
    keep_state: Annotated[bool, typer.Option("--keep-state", help="keep the demo's state dir")] = False,
    dashboard: Annotated[bool, typer.Option("--dashboard", help="serve the web dashboard on the demo's rollout; "
                                            "the approval gate waits for a click on Approve")] = False,
    listen: Annotated[str, typer.Option("--listen", help="dashboard HOST:PORT")] = "127.0.0.1:8080",
    auto_approve: Annotated[bool | None, typer.Option("--auto-approve/--no-auto-approve",
                                                      help="approve the 50% gate by itself "
                                                      "(default: on, off with --dashboard)")] = None,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="stop the demo after this long")] = 0,
) -> None:
    """Run the whole thing on the embedded default with the bundled sample service and load."""
    from canaria.demo_runner import SCENARIOS, run_demo
    from canaria.runner import print_final

    if scenario not in SCENARIOS:
        raise UsageError(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if not 1 <= rps <= 2000:
        raise UsageError(f"--rps must be between 1 and 2000, got {rps:g}")
    import secrets
    import sys

    from canaria.demo_runner import DashboardOptions

    options = None
    if dashboard:
        options = DashboardOptions(listen=listen, token=secrets.token_urlsafe(12), linger=sys.stdin.isatty())
    approve_alone = (not dashboard) if auto_approve is None else auto_approve
    limit = max_seconds or (1800.0 if dashboard else 170.0)
    outcome = run_demo(scenario, lang=_lang(lang), rps=rps, keep_state=keep_state, dashboard=options,
                       auto_approve=approve_alone, max_seconds=limit)
    print_final(outcome, as_json=as_json)
    raise typer.Exit(outcome.exit_code)
