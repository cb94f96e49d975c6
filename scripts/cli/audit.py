"""`paystream audit ...`: the audit trail, verifiable (audit_verify) and inspectable
(audit_inspect, audit_browse). This module registers their commands; they never import
it."""

from __future__ import annotations

import typer

from scripts.cli import audit_actions, audit_browse, audit_inspect, audit_verify
from scripts.cli.errors import CommandGroup

audit_app = CommandGroup(
    no_args_is_help=True,
    help=(
        "Verify and inspect the audit trail."
        " Commands: verify, checkpoint, chain, history, state, trace, events, export,"
        " actions."
    ),
)
audit_app.command("verify")(audit_verify.verify)
audit_app.command("checkpoint")(audit_verify.checkpoint)
audit_app.command("chain")(audit_browse.chain)
audit_app.command("history")(audit_inspect.history)
audit_app.command("state")(audit_inspect.state)
audit_app.command("trace")(audit_inspect.trace)
audit_app.command("events")(audit_browse.events)
audit_app.command("export")(audit_inspect.export)
audit_app.command("actions")(audit_actions.actions)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
