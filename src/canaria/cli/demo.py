"""`canaria demo` and `canaria simulate`: commands that wrap whole subsystems."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canaria.cli.common import LangOpt, cli_lang, handle_errors
from canaria.errors import UsageError

__all__ = ["register"]

commands = typer.Typer()


def register(app: typer.Typer) -> None:
    app.registered_commands.extend(commands.registered_commands)


@commands.command()
@handle_errors
def demo(
    scenario: Annotated[str, typer.Option("--scenario", help="good | errors | latency | memory-leak")] = "good",
    lang: LangOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="final JSON object on the last line")] = False,
    rps: Annotated[float, typer.Option("--rps", help="load generator requests/s (loopback only)")] = 120.0,
    keep_state: Annotated[bool, typer.Option("--keep-state", help="keep the demo's state dir")] = False,
    dashboard: Annotated[bool, typer.Option("--dashboard", help="serve the web dashboard on the demo's rollout; "
                                            "the approval gate waits for a click on Approve")] = False,
    listen: Annotated[str | None, typer.Option("--listen", help="dashboard HOST:PORT (default 127.0.0.1:8080, "
                                                "or a free loopback port when 8080 is taken)")] = None,
    auto_approve: Annotated[bool | None, typer.Option("--auto-approve/--no-auto-approve",
                                                      help="approve the 50% gate by itself "
                                                      "(default: on, off with --dashboard)")] = None,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="stop the demo after this long")] = 0,
) -> None:
    """Run the whole thing on the embedded default with the bundled sample service and load."""
    from canaria.runtime.demo import SCENARIOS, run_demo
    from canaria.runtime.runner import print_final

    if scenario not in SCENARIOS:
        raise UsageError(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if not 1 <= rps <= 2000:
        raise UsageError(f"--rps must be between 1 and 2000, got {rps:g}")
    import secrets
    import sys

    from canaria.runtime.demo import DashboardOptions

    options = None
    if dashboard:
        options = DashboardOptions(listen=listen or _default_dashboard_listen(), token=secrets.token_urlsafe(12),
                                   linger=sys.stdin.isatty())
    approve_alone = (not dashboard) if auto_approve is None else auto_approve
    limit = max_seconds or (1800.0 if dashboard else 170.0)
    outcome = run_demo(scenario, lang=cli_lang(lang), rps=rps, keep_state=keep_state, dashboard=options,
                       auto_approve=approve_alone, max_seconds=limit)
    print_final(outcome, as_json=as_json)
    raise typer.Exit(outcome.exit_code)


@commands.command()
@handle_errors
def simulate(
    scenarios: Annotated[Path, typer.Option("--scenarios", help="scenario file (YAML or JSON)")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="use this canaria.yaml's plan, "
                                                "analysis and guardrails (default: the runbook's)")] = None,
    judge: Annotated[str, typer.Option("--judge", help="comma-separated: canaria,flagger,kayenta,runbook,oracle (oracle: Wald's SPRT on the true rates, the bound)")] = (
        "canaria,flagger,kayenta,runbook"),
    runs: Annotated[int | None, typer.Option("--runs", help="runs per scenario (default: the file's)")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    lang: LangOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on the last line")] = False,
    by_scenario: Annotated[bool, typer.Option("--by-scenario", help="also print each judge's scenarios")] = False,
) -> None:
    """Replay synthetic incidents through the judges under the configured plan, in simulated time."""
    import json

    from rich.console import Console

    from canaria.config import load_config
    from canaria.simulate import JUDGE_NAMES, run_simulation
    from canaria.simulate.table import render_scenarios, render_table

    judges = [j.strip() for j in judge.split(",") if j.strip()]
    unknown = [j for j in judges if j not in JUDGE_NAMES]
    if unknown or not judges:
        raise UsageError(f"--judge: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(JUDGE_NAMES)}")
    if runs is not None and runs < 1:
        raise UsageError(f"--runs must be at least 1, got {runs}")
    if not scenarios.exists():
        raise UsageError(f"--scenarios: {scenarios} not found")
    loaded = load_config(config) if config is not None else None
    result = run_simulation(
        scenarios,
        plan=loaded.plan if loaded else None,
        analysis=loaded.analysis if loaded else None,
        guardrails=loaded.guardrails if loaded else None,
        judges=judges,
        runs=runs,
        seed=seed,
    )
    console = Console(stderr=as_json)
    console.print(render_table(result))
    if by_scenario:
        for name in judges:
            console.print(render_scenarios(result, name))
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)


def _default_dashboard_listen() -> str:
    """127.0.0.1:8080 when it is free (a URL people remember), else any free loopback port: the demo never
    fails because something else already serves 8080."""
    from canaria.errors import PortInUseError
    from canaria.platforms.processes import ensure_port_free, free_port

    try:
        ensure_port_free("127.0.0.1", 8080)
        return "127.0.0.1:8080"
    except PortInUseError:
        return f"127.0.0.1:{free_port()}"
