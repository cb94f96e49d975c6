"""`recorded_as`: an action run for an already verified person (the console's signed-in
operator or auditor) leaves the same operator log rows as the CLI's `recorded`: `started`
before it reads or changes anything, then `succeeded` or `failed`."""

from __future__ import annotations

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

CONNECT_TIMEOUT_SECONDS = 5


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.subject, principal.client_id, tuple(sorted(principal.roles)))


@contextmanager
def recorded_as(
    db: DatabaseSettings, principal: Principal, command: str, arguments: dict[str, Any]
) -> Iterator[Actor]:
    """Run the body as `principal`, recorded; no start recorded, no body run."""
    actor, action_id = actor_of(principal), uuid.uuid4()
    conninfo = db.role_conninfo(operator_log.ROLE)

    def write(phase: Phase, detail: str | None) -> None:
        with psycopg.connect(
            conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            operator_log.record(conn, action_id, actor, command, arguments, phase, detail)

    write("started", None)
    try:
        yield actor
    except BaseException as error:
        write("failed", reason(error))
        raise
    write("succeeded", None)
