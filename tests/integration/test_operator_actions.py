"""recorded_as: an action run as an already verified principal (the console's) leaves
the same rows in the operator log as the CLI's commands: who, what, with what, and how
it ended."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from eventstore import operator_log
from eventstore.operator_actions import recorded_as
from identity.principal import Principal
from identity.roles import AUDITOR, OPERATOR
from tests.support.stack import Stack

pytestmark = pytest.mark.integration
OLGA = Principal("olga", frozenset({OPERATOR, AUDITOR}))


@pytest.fixture(autouse=True)
def database(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)


def log_rows(stack: Stack) -> list[dict[str, Any]]:
    with psycopg.connect(stack.db.role_conninfo(operator_log.ROLE)) as conn:
        return [row.as_json() for row in operator_log.recent(conn, 10_000)]


def test_an_action_that_ends_is_recorded_as_its_principal(stack: Stack) -> None:
    before = len(log_rows(stack))

    with recorded_as(OLGA, "projections skip", {"projection": "payments", "position": 3}) as who:
        assert len(log_rows(stack)) == before + 1  # started, before the work
        assert who.subject == "olga"

    started, ended = log_rows(stack)[before:]
    assert [started["phase"], ended["phase"]] == ["started", "succeeded"]
    assert started["action_id"] == ended["action_id"]
    for row in (started, ended):
        assert (row["subject"], row["client_id"], row["roles"]) == (
            "olga",
            None,
            [AUDITOR, OPERATOR],
        )
        assert row["command"] == "projections skip"
        assert row["arguments"] == {"projection": "payments", "position": 3}


def test_an_action_that_fails_is_recorded_with_its_reason_and_the_error_goes_on(
    stack: Stack,
) -> None:
    before = len(log_rows(stack))

    with pytest.raises(LookupError), recorded_as(OLGA, "rebuild", {"projection": "payments"}):
        raise LookupError("no such build")

    started, ended = log_rows(stack)[before:]
    assert (started["phase"], ended["phase"]) == ("started", "failed")
    assert ended["detail"] == "LookupError: no such build"


def test_nothing_runs_when_the_start_cannot_be_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    ran = []

    with pytest.raises(psycopg.OperationalError), recorded_as(OLGA, "rebuild", {}):
        ran.append(True)

    assert ran == []
