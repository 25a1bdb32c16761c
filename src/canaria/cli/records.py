"""`canaria report`, `canaria signoff`, `canaria note`.

They need only the config and the store (no platform, no gateway), so they work after the services
are gone, e.g. the day after a deployment.
"""

# no `from __future__ import annotations`: Typer reads these annotations, which name local imports

import time
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    from canaria.cli.common import ConfigOpt, LangOpt, handle_errors, out
    from canaria.errors import UsageError
    from canaria.i18n import t
    from canaria.report.data import open_record
    from canaria.report.record import add_note, add_signoff, signoff_status
    from canaria.report.writer import FORMATS, write_report
    from canaria.runtime.app import default_actor

    RolloutOpt = Annotated[str | None, typer.Option("--rollout", help="rollout id (default: active, else latest)")]

    @app.command()
    @handle_errors
    def report(
        rollout: Annotated[str | None, typer.Argument(help="rollout id (default: active, else latest)")] = None,
        fmt: Annotated[str, typer.Option("--format", help="html | md | json")] = "html",
        stdout: Annotated[bool, typer.Option("--stdout", help="also print the file's content")] = False,
        config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
    ) -> None:
        """The deployment record with charts (self-contained HTML, Markdown with SVG files, or JSON)."""
        if fmt not in FORMATS:
            raise UsageError(f"--format must be html, md or json, got {fmt!r}")
        with open_record(config, lang, rollout) as rec:
            (path,) = write_report(rec.config, rec.store, rec.rollout.id, (fmt,), lang=rec.lang)
        lg = rec.lang
        if stdout:
            print(path.read_text(encoding="utf-8"), end="", flush=True)
        else:
            out.print(t("record.written", lg, path=str(path)), highlight=False, markup=False, soft_wrap=True)

    @app.command()
    @handle_errors
    def signoff(
        item: Annotated[list[str] | None, typer.Option(
            "--item", metavar="TEXT",
            help="checklist item: number 1-7, key, part of its label, or free text (repeatable; none = all)")] = None,
        rollout: RolloutOpt = None,
        show: Annotated[bool, typer.Option("--list", help="show the checklist, sign nothing")] = False,
        config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
    ) -> None:
        """Sign the post-deploy checklist (runbook list) with your name and the time."""
        with open_record(config, lang, rollout) as rec:
            lg = rec.lang
            if not show:
                actor = default_actor()
                add_signoff(rec.store, rec.rollout.id, item, actor=actor, at=time.time())
                out.print(t("signoff.done", lg, actor=actor, at=time.strftime("%Y-%m-%d %H:%M:%S")), highlight=False)
            for entry in signoff_status(rec.store.events(rec.rollout.id, kinds=("signoff",))):
                label = entry["text"] or t(f"signoff.item.{entry['key']}", lg)
                who = f"{entry['actor']} · {entry['at']}" if entry["signed"] else t("record.signoff.open", lg)
                out.print(f"{'☑' if entry['signed'] else '☐'} {label} — {who}", highlight=False, markup=False)

    @app.command()
    @handle_errors
    def note(
        text: Annotated[str, typer.Argument(help="an issue or lesson for the record")],
        rollout: RolloutOpt = None,
        config: ConfigOpt = Path("canaria.yaml"), lang: LangOpt = None,
    ) -> None:
        """Add an issue or a lesson to the deployment record."""
        with open_record(config, lang, rollout) as rec:
            add_note(rec.store, rec.rollout.id, text, actor=default_actor(), at=time.time())
        out.print(t("note.done", rec.lang, rollout=rec.rollout.id), highlight=False)
