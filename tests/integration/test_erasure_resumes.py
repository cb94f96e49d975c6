"""An erasure stopped half way (the operator's terminal closed, the process killed) after
the key went is finished by running it again: each aggregate gets its erasure event
once, and a run with nothing left records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domains.accounts.access import Caller
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from eventstore.metadata import CommandMetadata, command_metadata
from identity.roles import CUSTOMER
from scripts.personal_data_erasure import erase_subject
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


class Interrupted(Exception):
    pass


def stop_after(count: int) -> Any:
    def progress(done: int, of: int) -> None:
        if done >= count:
            raise Interrupted(f"stopped after {done} of {of}")

    return progress


@pytest.fixture(scope="module")
def gil(stack: Stack) -> Iterator[list[str]]:
    """Gil's two accounts and one payment between them, sealed under Gil's key."""
    accounts = AccountsService(env=application_env(ACCOUNTS, stack.db, pool_size=1))
    payments = PaymentsService(env=application_env(PAYMENTS, stack.db, pool_size=1))
    try:
        caller = Caller("gil", frozenset({CUSTOMER}))
        one, two = (
            str(accounts.open_account(f"Gil Twofold {n}", "EUR", caller).account_id) for n in (1, 2)
        )
        with command_metadata(CommandMetadata(actor="gil")):
            paid = payments.request_payment(one, two, 5, "EUR", "between my own")
        yield [one, two, str(paid.payment_id)]
    finally:
        accounts.close()
        payments.close()


def erasure_events(stack: Stack) -> list[str]:
    with stack.admin() as conn:
        rows = conn.execute(
            "SELECT originator_id::text FROM accounts.accounts_events"
            " WHERE topic = 'AccountPersonalDataErased.v1' UNION ALL"
            " SELECT originator_id::text FROM payments.payments_events"
            " WHERE topic = 'PaymentPersonalDataErased.v1'"
        ).fetchall()
    return sorted(row[0] for row in rows)


def test_an_erasure_stopped_after_the_key_went_is_finished_by_running_it_again(
    stack: Stack, gil: list[str]
) -> None:
    erase = (stack.db, "gil", "request 7", "olga", "gdpr-erase-test")

    with pytest.raises(Interrupted):
        erase_subject(*erase, progress=stop_after(1))

    assert len(erasure_events(stack)) == 1
    finished = erase_subject(*erase)
    assert not finished.newly_destroyed
    assert sum(finished.recorded.values()) == 2
    assert erasure_events(stack) == sorted(gil)

    again = erase_subject(*erase)
    assert sum(again.recorded.values()) == 0
    assert erasure_events(stack) == sorted(gil)
