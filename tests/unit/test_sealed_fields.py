"""The mapper with sealing (what a store's applications use): an event's personal fields
stored sealed under their subject's key, loaded as plaintext, a destroyed key loaded as
`[erased]`, other fields and events untouched, plaintext stored before sealing read as
it is. Keys in memory; the store's are tested in tests/integration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent

from domains.accounts.aggregates import Account
from domains.accounts.movements import PaymentMovement
from domains.payments.aggregates import Payment
from eventstore.data_subjects import account_subject
from eventstore.mapper import MetadataMapper
from eventstore.personal_data.field_cipher import FieldCipher, is_sealed
from eventstore.personal_fields import FieldSealing
from eventstore.transcoder import default_transcoder
from tests.unit.test_field_cipher import InMemoryKeys

PAYER = "payer-account-holder"


def subject_of(topic: str, originator_id: UUID, state: dict[str, Any]) -> str:
    return account_subject(originator_id, str(state.get("holder", PAYER)))


@pytest.fixture
def keys() -> InMemoryKeys:
    return InMemoryKeys()


@pytest.fixture
def mapper(keys: InMemoryKeys) -> MetadataMapper:
    sealing = MetadataMapper(transcoder=default_transcoder())
    sealing.sealing = FieldSealing(lambda: FieldCipher(keys), subject_of)
    return sealing


def stored_state(stored: StoredEvent) -> dict[str, Any]:
    state: dict[str, Any] = default_transcoder().decode(stored.state)
    return state


def test_an_owner_name_is_stored_sealed_under_the_holders_key_and_loads_as_plaintext(
    mapper: MetadataMapper, keys: InMemoryKeys
) -> None:
    account = Account.open("Alice Liddell", "EUR", "alice")
    [opened] = account.collect_events()
    stored = mapper.to_stored_event(opened)
    assert b"Alice Liddell" not in stored.state
    state = stored_state(stored)
    assert is_sealed(state["owner"]) and str(keys.keys["alice"].key_id) in state["owner"]
    assert state["holder"] == "alice" and state["currency"] == "EUR"
    loaded = mapper.to_domain_event(stored)
    assert loaded.owner == "Alice Liddell"  # type: ignore[attr-defined]
    assert opened.owner == "Alice Liddell"  # type: ignore[attr-defined]  # left as it was


def test_a_payment_reference_is_sealed_in_the_payment_and_in_the_accounts_movements(
    mapper: MetadataMapper,
) -> None:
    payment = Payment.request(str(UUID(int=1)), str(UUID(int=2)), 100, "EUR", "rent May")
    account = Account.open("Bob", "EUR", "bob")
    account.deposit(500)
    account.debit(PaymentMovement.of(100, "EUR", str(payment.id), str(UUID(int=2)), "rent May"))
    events = [*payment.collect_events(), *account.collect_events()]
    for event in events:
        stored = mapper.to_stored_event(event)
        assert b"rent May" not in stored.state
        assert getattr(mapper.to_domain_event(stored), "reference", "rent May") == "rent May"


def test_an_account_snapshot_holds_the_owner_sealed(mapper: MetadataMapper) -> None:
    account = Account.open("Alice Liddell", "EUR", "alice")
    stored = mapper.to_stored_event(Snapshot.take(account))
    assert b"Alice Liddell" not in stored.state
    snapshot = mapper.to_domain_event(stored)
    assert snapshot.state["owner"] == "Alice Liddell"  # type: ignore[attr-defined]


def test_a_destroyed_key_loads_as_the_erased_marker(
    mapper: MetadataMapper, keys: InMemoryKeys
) -> None:
    [opened] = Account.open("Alice Liddell", "EUR", "alice").collect_events()
    stored = mapper.to_stored_event(opened)
    keys.destroy("alice")
    assert mapper.to_domain_event(stored).owner == "[erased]"  # type: ignore[attr-defined]


def test_plaintext_stored_before_sealing_loads_as_it_is(mapper: MetadataMapper) -> None:
    [opened] = Account.open("Olga Oldstyle", "EUR", "olga").collect_events()
    stored = MetadataMapper(transcoder=default_transcoder()).to_stored_event(opened)
    assert mapper.to_domain_event(stored).owner == "Olga Oldstyle"  # type: ignore[attr-defined]


def test_an_empty_reference_stays_empty(mapper: MetadataMapper) -> None:
    [requested] = Payment.request(str(UUID(int=1)), str(UUID(int=2)), 1, "EUR", "").collect_events()
    assert stored_state(mapper.to_stored_event(requested))["reference"] == ""
