"""`recorded`: an operating command runs as a verified person and leaves its trace in the
operator log (eventstore/operator_log.py, written by eventstore/operator_actions.py, as
the console writes it): a `started` row before it does anything, and
a `succeeded` or `failed` row when it ends.

Commands check their input first, then enter `recorded`: input refused as bad stores
nothing; anything that reaches the data is recorded, refused or not.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer
from rich.console import Console

from eventstore.operator_actions import ActionWriter, actor_of
from eventstore.operator_log import Actor, Phase
from eventstore.outages import reason
from eventstore.reconnect import Backoff, is_connection_lost
from identity.roles import AUDITOR, OPERATOR
from scripts.cli.database import unreachable
from scripts.cli.errors import CliError
from scripts.cli.operator_identity import operator

OPERATORS = (OPERATOR,)
READERS = (OPERATOR, AUDITOR)  # checks and reads of the audit trail


@contextmanager
def recorded(
    command: str,
    arguments: dict[str, Any],
    roles: tuple[str, ...],
    *,
    waits_for_database: float = 0.0,
) -> Iterator[Actor]:
    """Run the body as PAYSTREAM_TOKEN's subject (who must hold one of `roles`), recorded.

    The start is recorded before the body runs; an unreachable database is waited for up
    to `waits_for_database` seconds (saying so), then it is the usual one-line error. A
    failure to record the end is a warning: the work is done."""
    principal = operator(command, roles)
    write = ActionWriter(uuid.uuid4(), actor_of(principal), command, arguments)
    _start(write, waits_for_database)
    try:
        yield write.actor
    except typer.Exit as done:
        _end(write, done.exit_code)
        raise
    except CliError as error:
        _end(write, error.code, str(error))
        raise
    except BaseException as error:
        _end(write, 1, reason(error))
        raise
    _end(write, 0)


def _start(write: ActionWriter, waits_for_database: float) -> None:
    backoff, give_up_at = Backoff(), time.monotonic() + waits_for_database
    said = False
    while True:
        try:
            write.write("started")
            return
        except psycopg.OperationalError as error:
            if not is_connection_lost(error):
                raise
            if time.monotonic() >= give_up_at:
                raise unreachable(write.conninfo, error) from None
            if not said:
                Console().print(
                    f"database connection lost ({reason(error)}); waiting for it (up to"
                    f" {waits_for_database:.0f}s) to record `paystream {write.command}`",
                    markup=False,
                    highlight=False,
                )
                said = True
            time.sleep(backoff.next_delay())


def _end(write: ActionWriter, exit_code: int | None, detail: str | None = None) -> None:
    phase: Phase = "succeeded" if not exit_code else "failed"
    if phase == "failed" and detail is None:
        detail = f"exit code {exit_code}"
    try:
        write.write(phase, detail)
    except psycopg.Error as error:
        Console(stderr=True).print(
            f"warning: could not record the end of `paystream {write.command}`"
            f" ({write.action_id}): {reason(error)}",
            markup=False,
            highlight=False,
        )
