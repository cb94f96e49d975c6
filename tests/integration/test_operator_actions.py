"""`recorded_as`: what the console runs for a person it has verified leaves the operator
log rows the CLI's `recorded` leaves: started, then succeeded or failed with the reason."""

from __future__ import annotations

import psycopg
import pytest

from eventstore import operator_log
from eventstore.operator_actions import recorded_as
from eventstore.operator_log import ActionRow
from identity.principal import Principal
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

ADA = Principal(subject="ada-console", roles=frozenset({"auditor"}), client_id="console")


def rows_of(stack: Stack, subject: str) -> list[ActionRow]:
    with psycopg.connect(stack.db.role_conninfo(operator_log.ROLE)) as conn:
        return operator_log.recent(conn, 100, subject)


def test_a_read_is_recorded_under_the_verified_subject(stack: Stack) -> None:
    with recorded_as(stack.db, ADA, "audit trace", {"correlation_id": "c-1"}) as actor:
        assert actor.subject == "ada-console"

    started, ended = rows_of(stack, "ada-console")[-2:]
    assert started.action_id == ended.action_id
    assert [started.phase, ended.phase] == ["started", "succeeded"]
    assert (ended.command, ended.arguments) == ("audit trace", {"correlation_id": "c-1"})
    assert (ended.roles, ended.client_id) == (["auditor"], "console")


def test_a_read_that_fails_is_recorded_as_failed_with_its_reason(stack: Stack) -> None:
    bob = Principal(subject="bob-console", roles=frozenset({"operator"}))
    with pytest.raises(LookupError), recorded_as(stack.db, bob, "audit events", {}):
        raise LookupError("no such thing")

    started, ended = rows_of(stack, "bob-console")[-2:]
    assert [started.phase, ended.phase] == ["started", "failed"]
    assert ended.detail == "LookupError: no such thing"
