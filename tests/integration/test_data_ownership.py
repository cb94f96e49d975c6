"""Each service's database role reaches its own data and nothing else."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from api.accounts_query import ACCOUNT_SUMMARY_API
from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from tests.stack import Stack

pytestmark = pytest.mark.integration

EVENTS = f"{ACCOUNTS.schema}.{ACCOUNTS.events_table}"
SUMMARY = f"{AccountSummaryProjection.schema()}.accounts"
PROJECTOR_ROLE = AccountSummaryProjection.role()
QUERY_ROLE = ACCOUNT_SUMMARY_API.role

REFUSED = [
    (QUERY_ROLE, f"SELECT * FROM {EVENTS}"),
    (QUERY_ROLE, f"DELETE FROM {SUMMARY}"),
    (QUERY_ROLE, f"INSERT INTO {SUMMARY} SELECT * FROM {SUMMARY}"),
    (QUERY_ROLE, "SELECT * FROM accounts.idempotency_keys"),
    (PROJECTOR_ROLE, f"DELETE FROM {EVENTS}"),
    (PROJECTOR_ROLE, f"UPDATE {EVENTS} SET state = state"),
    (PROJECTOR_ROLE, "SELECT * FROM accounts.idempotency_keys"),
    (ACCOUNTS.role, f"SELECT * FROM {SUMMARY}"),
    (ACCOUNTS.role, "CREATE TABLE public.intruder (x int)"),
    (QUERY_ROLE, "CREATE TABLE public.intruder (x int)"),
]


@pytest.mark.parametrize(("role", "statement"), REFUSED, ids=[f"{r}: {s[:40]}" for r, s in REFUSED])
def test_a_role_is_refused_outside_its_own_data(stack: Stack, role: str, statement: str) -> None:
    with (
        psycopg.connect(stack.db.role_conninfo(role)) as conn,
        pytest.raises(errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


ALLOWED = [
    (QUERY_ROLE, f"SELECT count(*) FROM {SUMMARY}"),
    (PROJECTOR_ROLE, f"SELECT count(*) FROM {EVENTS}"),
    (ACCOUNTS.role, f"SELECT count(*) FROM {EVENTS}"),
]


@pytest.mark.parametrize(("role", "statement"), ALLOWED, ids=[r for r, _ in ALLOWED])
def test_a_role_reaches_what_it_needs(stack: Stack, role: str, statement: str) -> None:
    with psycopg.connect(stack.db.role_conninfo(role)) as conn:
        assert conn.execute(statement).fetchone() is not None
