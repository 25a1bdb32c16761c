"""Rich tables of a simulation: one row per judge, and optionally one per scenario."""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["render_scenarios", "render_table"]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = seconds / 60.0
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


_COLUMNS = ("false rollback", "miss", "median detect", "p90 detect", "mean bad req.", "median promote")


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        _pct(row.get("false_rollback_rate")),
        _pct(row.get("miss_rate")),
        _dur(row.get("median_detect_s")),
        _dur(row.get("p90_detect_s")),
        _num(row.get("mean_bad_requests")),
        _dur(row.get("median_promote_s")),
    ]


def render_table(result: dict[str, Any], *, title: str | None = None) -> Table:
    """The summary table of a `run_simulation` result: one row per judge."""
    judges = result.get("judges", [])
    runs = judges[0]["runs"] if judges else 0
    table = Table(title=title or f"canaria simulate — {runs} runs per judge")
    table.add_column("judge", style="bold")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    for judge in judges:
        table.add_row(judge["judge"], *_cells(judge))
    return table


def render_scenarios(result: dict[str, Any], judge: str) -> Table:
    """One judge's figures per scenario."""
    table = Table(title=f"{judge} by scenario")
    table.add_column("scenario", style="bold")
    table.add_column("bad", justify="center")
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    for entry in next(j for j in result["judges"] if j["judge"] == judge)["by_scenario"]:
        table.add_row(entry["name"], "yes" if entry["bad"] else "no", *_cells(entry))
    return table
