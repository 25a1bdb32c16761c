"""`canaria ack`: a person has seen the alerts; escalation of the rollout's critical events stops.

It only writes an `acknowledged` event, so it
works from any machine that shares the state dir, while `canaria run` keeps driving the rollout.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name local imports

import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    from canaria.cli.common import ConfigOpt, LangOpt, handle_errors, out
    from canaria.i18n import t
    from canaria.notify.escalation import acknowledge
    from canaria.report.data import open_record
    from canaria.runtime.app import default_actor

    @app.command()
    @handle_errors
    def ack(
        rollout: Annotated[str | None, typer.Argument(help="rollout id (default: active, else latest)")] = None,
        note: Annotated[str, typer.Option("--note", help="what you are doing about it (goes into the record)")] = "",
        config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
    ) -> None:
        """Acknowledge the alerts of a rollout (stops their escalation)."""
        with open_record(config, lang, rollout) as rec:
            event = acknowledge(rec.store, rollout_id=rec.rollout.id, actor=default_actor(), at=time.time(),
                                note=note)
        out.print(t("ack.done", rec.lang, rollout=rec.rollout.id, event=event.data["up_to_event_id"]),
                  highlight=False)
