"""`paystream audit actions`: the operator log, who ran which operating command and how
it ended (eventstore/operator_log.py)."""

from __future__ import annotations

import json
from typing import Annotated

import psycopg
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from eventstore import operator_log
from eventstore.operator_log import ActionRow
from scripts.cli.database import reachable_database
from scripts.cli.recorded import READERS, recorded


def actions(
    subject: Annotated[str | None, typer.Option(help="Only the actions of this subject.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="The newest N rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who ran which operating command, with what, when, and how it ended. Oldest first."""
    with recorded("audit actions", {"subject": subject, "limit": limit}, READERS):
        role = operator_log.ROLE
        with psycopg.connect(reachable_database(role).role_conninfo(role)) as conn:
            rows = operator_log.recent(conn, limit, subject)
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in rows], indent=2))
    else:
        Console().print(actions_table(rows))


def actions_table(rows: list[ActionRow]) -> Table:
    table = Table(title="Operator log", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("time", "subject", "command", "arguments", "phase", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        shown = {key: value for key, value in row.arguments.items() if value is not None}
        table.add_row(
            row.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            row.subject,
            row.command,
            " ".join(f"{key}={value}" for key, value in shown.items()),
            row.phase,
            row.detail or "",
            style="red" if row.phase == "failed" else None,
        )
    return table
