"""Recording an operating action in the operator log (eventstore/operator_log.py) as an
already verified principal: the CLI's `recorded` and the console's actions both write
their rows here, a `started` row before the work and a `succeeded` or `failed` row
after it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from eventstore import operator_log
from eventstore.operator_log import Actor, Phase
from eventstore.outages import reason
from eventstore.settings import DatabaseSettings
from identity.principal import Principal

CONNECT_TIMEOUT_SECONDS = 2
log = logging.getLogger(__name__)


def actor_of(principal: Principal) -> Actor:
    """The operator log's actor for a verified principal."""
    return Actor(principal.subject, principal.client_id, tuple(sorted(principal.roles)))


class ActionWriter:
    """Writes the rows of one action, each on a connection of its own (a long action
    may outlive a database restart)."""

    def __init__(self, action_id: uuid.UUID, actor: Actor, command: str, arguments: Any) -> None:
        self.action_id, self.actor = action_id, actor
        self.command, self.arguments = command, arguments
        self.conninfo = DatabaseSettings().role_conninfo(operator_log.ROLE)

    def write(self, phase: Phase, detail: str | None = None) -> None:
        """Append one phase of the action."""
        with psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            operator_log.record(
                conn, self.action_id, self.actor, self.command, self.arguments, phase, detail
            )

    def end(self, failure: str | None) -> bool:
        """Record the end (failed with `failure`, when given); False when it could not be
        recorded (the work is done either way)."""
        try:
            self.write("failed" if failure is not None else "succeeded", failure)
            return True
        except psycopg.Error as error:
            log.warning(
                "could not record the end of %s (%s): %s",
                self.command,
                self.action_id,
                reason(error),
            )
            return False


@contextmanager
def recorded_as(principal: Principal, command: str, arguments: dict[str, Any]) -> Iterator[Actor]:
    """Run the body as `principal`, recorded: `started` first (a database error then
    stops the body from running), `succeeded` or `failed` (with the reason) after."""
    write = ActionWriter(uuid.uuid4(), actor_of(principal), command, arguments)
    write.write("started")
    try:
        yield write.actor
    except BaseException as error:
        write.end(reason(error))
        raise
    write.end(None)
