"""`recorded`: an operating command runs as a verified person and leaves its trace in the
operator log (eventstore/operator_log.py): a `started` row before it does anything, and
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

from eventstore import operator_log
from eventstore.operator_log import Actor, Phase
from eventstore.outages import reason
from eventstore.reconnect import Backoff, is_connection_lost
from eventstore.settings import DatabaseSettings
from identity.roles import AUDITOR, OPERATOR
from scripts.cli.database import CONNECT_TIMEOUT_SECONDS, unreachable
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
    actor = Actor(principal.subject, principal.client_id, tuple(sorted(principal.roles)))
    action_id = uuid.uuid4()
    write = ActionWriter(action_id, actor, command, arguments)
    write.start(waits_for_database)
    try:
        yield actor
    except typer.Exit as done:
        write.end(done.exit_code)
        raise
    except CliError as error:
        write.end(error.code, str(error))
        raise
    except BaseException as error:
        write.end(1, reason(error))
        raise
    write.end(0)


class ActionWriter:
    """Writes the rows of one action, each on a connection of its own (a long command
    may outlive a database restart)."""

    def __init__(self, action_id: uuid.UUID, actor: Actor, command: str, arguments: Any) -> None:
        self.action_id, self.actor = action_id, actor
        self.command, self.arguments = command, arguments
        self.conninfo = DatabaseSettings().role_conninfo(operator_log.ROLE)

    def start(self, waits_for_database: float) -> None:
        backoff, give_up_at = Backoff(), time.monotonic() + waits_for_database
        said = False
        while True:
            try:
                self._write("started", None)
                return
            except psycopg.OperationalError as error:
                if not is_connection_lost(error):
                    raise
                if time.monotonic() >= give_up_at:
                    raise unreachable(self.conninfo, error) from None
                if not said:
                    Console().print(
                        f"database connection lost ({reason(error)}); waiting for it (up to"
                        f" {waits_for_database:.0f}s) to record `paystream {self.command}`",
                        markup=False,
                        highlight=False,
                    )
                    said = True
                time.sleep(backoff.next_delay())

    def end(self, exit_code: int | None, detail: str | None = None) -> None:
        phase: Phase = "succeeded" if not exit_code else "failed"
        if phase == "failed" and detail is None:
            detail = f"exit code {exit_code}"
        try:
            self._write(phase, detail)
        except psycopg.Error as error:
            Console(stderr=True).print(
                f"warning: could not record the end of `paystream {self.command}`"
                f" ({self.action_id}): {reason(error)}",
                markup=False,
                highlight=False,
            )

    def _write(self, phase: Phase, detail: str | None) -> None:
        with psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            operator_log.record(
                conn, self.action_id, self.actor, self.command, self.arguments, phase, detail
            )
