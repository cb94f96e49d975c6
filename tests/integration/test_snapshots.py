"""Snapshots keep loading flat: a long history loads from its latest snapshot, and the
state it gives is the state folded from every event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domains.accounts.aggregates import Account
from domains.accounts.application import AccountsService
from domains.accounts.movements import PaymentMovement
from domains.payments.application import PaymentsService
from domains.service import SNAPSHOT_INTERVAL
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS, application_env
from eventstore.transcoder import parse_json
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

HISTORY = 10_000  # events of the long-lived account: opened, then 9,999 deposits
INTERVAL = 100
BATCH = 1_000  # deposits saved in one save() call


def accounts(stack: Stack, interval: int) -> AccountsService:
    env = application_env(ACCOUNTS, stack.db, pool_size=2)
    return AccountsService(env={**env, SNAPSHOT_INTERVAL: str(interval)})


def payments(stack: Stack, interval: int) -> PaymentsService:
    env = application_env(PAYMENTS, stack.db, pool_size=2)
    return PaymentsService(env={**env, SNAPSHOT_INTERVAL: str(interval)})


def state(aggregate: Aggregate) -> dict[str, Any]:
    """Everything an aggregate holds, but its not-yet-saved events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def snapshot_versions(stack: Stack, schema: str, table: str, aggregate_id: UUID) -> list[int]:
    with stack.admin() as conn:
        rows = conn.execute(
            f"SELECT originator_version FROM {schema}.{table}"
            " WHERE originator_id = %s ORDER BY originator_version",
            (aggregate_id,),
        ).fetchall()
    return [int(row[0]) for row in rows]


def recording(
    select: Callable[..., Sequence[StoredEvent]], into: list[StoredEvent]
) -> Callable[..., Sequence[StoredEvent]]:
    """The recorder's own select_events, also noting what it read from PostgreSQL."""

    def select_events(*args: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        rows = select(*args, **kwargs)
        into.extend(rows)
        return rows

    return select_events


@pytest.fixture(scope="module")
def long_account(stack: Stack) -> UUID:
    """An account with HISTORY events, written BATCH deposits per save."""
    service = accounts(stack, INTERVAL)
    account_id = service.open_account("Long History", "EUR").account_id
    remaining = HISTORY - 1
    while remaining:
        account = service.get_account(account_id)
        for _ in range(min(BATCH, remaining)):
            account.deposit(1)
        remaining -= len(account.pending_events)
        service.save(account)
    service.close()
    return account_id


def test_provisioning_creates_each_contexts_snapshots_table_owned_by_its_role(
    stack: Stack,
) -> None:
    with stack.admin() as conn:
        owners = dict(
            conn.execute(
                "SELECT schemaname, tableowner FROM pg_tables"
                " WHERE tablename = schemaname || '_snapshots'"
            ).fetchall()
        )

    assert owners == {context.schema: context.role for context in CONTEXTS.values()}


def test_a_long_history_loads_from_its_latest_snapshot(
    stack: Stack, long_account: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = accounts(stack, INTERVAL)
    assert service.snapshots is not None
    snapshots_read: list[StoredEvent] = []
    events_read: list[StoredEvent] = []
    for store, into in ((service.snapshots, snapshots_read), (service.events, events_read)):
        monkeypatch.setattr(
            store.recorder, "select_events", recording(store.recorder.select_events, into)
        )

    account = service.get_account(long_account)

    versions = snapshot_versions(stack, ACCOUNTS.schema, ACCOUNTS.snapshots_table, long_account)
    assert versions == list(range(INTERVAL, HISTORY + 1, INTERVAL))
    assert [s.originator_version for s in snapshots_read] == [HISTORY]
    assert events_read == []
    assert (account.version, account.balance) == (HISTORY, HISTORY - 1)
    service.close()


def test_a_version_between_snapshots_folds_only_the_events_after_one(
    stack: Stack, long_account: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = accounts(stack, INTERVAL)
    events_read: list[StoredEvent] = []
    recorder = service.events.recorder
    monkeypatch.setattr(recorder, "select_events", recording(recorder.select_events, events_read))

    account = service.get_account(long_account, version=HISTORY - INTERVAL // 2)

    assert [e.originator_version for e in events_read] == list(
        range(HISTORY - INTERVAL + 1, HISTORY - INTERVAL // 2 + 1)
    )
    assert account.balance == HISTORY - INTERVAL // 2 - 1
    service.close()


def test_the_snapshot_state_equals_the_state_folded_from_every_event(
    stack: Stack, long_account: UUID
) -> None:
    with_snapshots, without = accounts(stack, INTERVAL), accounts(stack, 0)
    assert without.snapshots is None  # 0 turns snapshots off: the repository folds every event

    from_snapshot = with_snapshots.get_account(long_account)
    folded = without.get_account(long_account)

    assert state(from_snapshot) == state(folded)
    assert (folded.version, folded.balance, folded.status) == (HISTORY, HISTORY - 1, "open")
    assert (folded.owner, folded.currency) == ("Long History", "EUR")
    with_snapshots.close()
    without.close()


def test_a_payment_round_trips_through_snapshots(stack: Stack) -> None:
    service, folding = payments(stack, 2), payments(stack, 0)
    source, destination = (str(UUID(int=n)) for n in (1, 2))
    payment_id = service.request_payment(source, destination, 1250, "EUR", "rent").payment_id
    service.record_debit(payment_id)
    service.record_credit_refused(payment_id, "account-frozen")
    service.record_refund(payment_id)  # saves versions 4 and 5 together

    payment = service.get_payment(payment_id)

    versions = snapshot_versions(stack, PAYMENTS.schema, PAYMENTS.snapshots_table, payment_id)
    assert versions == [2, 4]
    assert state(payment) == state(folding.get_payment(payment_id))
    assert (payment.status, payment.failure_reason, payment.version) == (
        "failed",
        "account-frozen",
        5,
    )
    service.close()
    folding.close()


def test_a_snapshot_that_cannot_be_stored_never_fails_or_repeats_the_saved_command(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    service = accounts(stack, 2)
    account_id = service.open_account("Raced Snapshot", "EUR").account_id
    snapshots = service.snapshots
    assert snapshots is not None

    def deposit_while_another_process_snapshots_version_2(account: Account) -> None:
        account.deposit(5)
        snapshots.put([Account.Snapshot.take(account)])

    with caplog.at_level(logging.WARNING, logger="domains.service"):
        deposited, _ = service.change(
            account_id, service.get_account, deposit_while_another_process_snapshots_version_2
        )

    assert (deposited.version, deposited.balance) == (2, 5)
    assert service.get_account(account_id).balance == 5
    assert f"snapshot of {account_id} at version 2 failed" in caplog.text
    service.close()


@pytest.mark.parametrize(
    ("value", "interval"), [(None, 100), ("", 100), ("0", 0), ("25", 25), (" 7 ", 7)]
)
def test_the_interval_comes_from_the_environment(
    value: str | None, interval: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SNAPSHOT_INTERVAL, raising=False)
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    service = AccountsService(env=env if value is None else {**env, SNAPSHOT_INTERVAL: value})

    assert service.snapshotting_intervals == ({Account: interval} if interval else {})
    assert (service.snapshots is not None) == (interval > 0)


def test_one_context_may_have_its_own_interval() -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo", SNAPSHOT_INTERVAL: "100"}
    service = AccountsService(env={**env, f"ACCOUNTS_{SNAPSHOT_INTERVAL}": "10"})

    assert service.snapshotting_intervals == {Account: 10}


@pytest.mark.parametrize("value", ["-1", "ten", "1.5"])
def test_a_bad_interval_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match=SNAPSHOT_INTERVAL):
        AccountsService(env={"PERSISTENCE_MODULE": "eventsourcing.popo", SNAPSHOT_INTERVAL: value})


def test_a_snapshot_stored_before_accounts_forgot_their_payments_loads_without_them(
    stack: Stack,
) -> None:
    """Snapshots of Account version 1 held every payment the account ever debited; such a
    snapshot still loads (upcast to version 2: the record dropped), gives the state folded
    from every event, and the next snapshot taken from it is of the new shape."""
    service, folding = accounts(stack, 10), accounts(stack, 0)
    account_id = service.open_account("Old Snapshot", "EUR").account_id
    service.deposit(account_id, 100)
    for n in range(3):
        service.debit(account_id, PaymentMovement.of(10, "EUR", f"p-{n}", "counterparty", ""))
    assert service.snapshots is not None
    old_state = {**state(folding.get_account(account_id)), "debited_payments": {"p-0": 10}}
    for library_field in ("_id", "_version"):
        old_state.pop(library_field)
    service.snapshots.put(
        [
            Account.Snapshot(
                originator_id=account_id,
                originator_version=5,
                timestamp=Account.Snapshot.create_timestamp(),
                topic=get_topic(Account),
                state=old_state,
            )
        ]
    )
    assert "class_version" not in stored_snapshot_state(service, account_id, 5)

    loaded = service.get_account(account_id)
    for _ in range(5):
        service.deposit(account_id, 1)

    assert state(loaded) == state(folding.get_account(account_id, version=5))
    assert not hasattr(loaded, "debited_payments")
    renewed = stored_snapshot_state(service, account_id, 10)
    assert renewed["class_version"] == 2 and "debited_payments" not in renewed
    service.close()
    folding.close()


def stored_snapshot_state(service: AccountsService, account_id: UUID, version: int) -> Any:
    """The state of the account's snapshot at `version`, as stored."""
    assert service.snapshots is not None
    [stored] = service.snapshots.recorder.select_events(
        account_id, gt=version - 1, lte=version, limit=1
    )
    return parse_json(stored.state)["state"]
