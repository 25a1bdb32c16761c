"""The `canaria` command: one Typer app assembled from the command groups of this package."""

from __future__ import annotations

import typer

from canaria.cli import dashboard, demo, notify, reading, records, rollout

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="canaria — autonomous canary deployments (run `canaria demo` to see it work).")
for group in (rollout, reading, demo, records, notify, dashboard):
    group.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
