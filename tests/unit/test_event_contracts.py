"""Published events keep their contract: the golden schemas in tests/contracts/events.

A removed or retyped field, or a dropped or renamed wire name, fails here unless it comes
as a new versioned event type with an upcaster (see tests/contracts/event_schemas.py)."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from tests.contracts.event_schemas import (
    breaking_changes,
    event_classes,
    goldens,
    schema_of,
    superseded_problems,
)

RECORD = "record it: .venv/bin/python -m tests.contracts.event_schemas"
CURRENT = event_classes()
GOLDEN = goldens()


def test_every_event_type_has_a_golden_schema() -> None:
    missing = sorted(set(CURRENT) - set(GOLDEN))
    assert not missing, f"event types without a golden schema: {missing}; {RECORD}"


@pytest.mark.parametrize("wire_name", sorted(GOLDEN))
def test_a_golden_event_type_is_still_readable_as_it_was_stored(wire_name: str) -> None:
    golden = GOLDEN[wire_name]
    if wire_name not in CURRENT:
        assert not superseded_problems(wire_name, golden)
        return
    current = schema_of(wire_name, CURRENT[wire_name])
    problems = breaking_changes(golden, current)
    assert not problems, (
        f"{wire_name}: {'; '.join(problems)}: readers of stored and published events break;"
        f" add a new event type ({wire_name.rsplit('.', 1)[0]}.v<n>) with an upcaster instead"
    )
    assert current == golden, f"{wire_name} changed compatibly; {RECORD}"


class Deposited(Aggregate.Event):
    """A stand-in for Account.Deposited after a change of its fields."""

    TOPIC = "TestMoneyDeposited.v1"
    amount: str  # was an int


class Renamed(Aggregate.Event):
    TOPIC = "TestMoneyDeposited.v2"
    amount_cents: int


GOLDEN_DEPOSITED: dict[str, Any] = GOLDEN["MoneyDeposited.v1"]


def test_a_retyped_field_is_a_breaking_change() -> None:
    assert breaking_changes(GOLDEN_DEPOSITED, schema_of("X", Deposited)) == [
        "field 'amount' retyped {'type': 'integer'} -> {'type': 'string'}"
    ]


def test_a_removed_field_is_a_breaking_change_and_an_added_one_is_not() -> None:
    assert breaking_changes(GOLDEN_DEPOSITED, schema_of("X", Renamed)) == ["field 'amount' removed"]
    wider = schema_of("MoneyDeposited.v1", CURRENT["MoneyDeposited.v1"])
    wider["properties"]["note"] = {"type": "string"}
    assert breaking_changes(GOLDEN_DEPOSITED, wider) == []


def test_a_dropped_wire_name_must_resolve_to_a_successor_that_upcasts() -> None:
    gone = superseded_problems("NoSuchEvent.v1", GOLDEN_DEPOSITED)
    assert gone and "wire name gone" in gone[0]
    register_topic("TestRenamedDeposited.v1", Renamed)
    not_upcast = superseded_problems("TestRenamedDeposited.v1", GOLDEN_DEPOSITED)
    assert not_upcast == [
        "TestRenamedDeposited.v1: replaced by TestMoneyDeposited.v2 without a higher class_version"
    ]

    class Upcasting(Aggregate.Event):
        TOPIC = "TestMoneyDeposited.v3"
        class_version = 2
        amount: int

    register_topic("TestOldDeposited.v1", Upcasting)
    assert superseded_problems("TestOldDeposited.v1", GOLDEN_DEPOSITED) == [
        "TestOldDeposited.v1: TestMoneyDeposited.v3 has no upcast_v1_v2"
    ]

    Upcasting.upcast_v1_v2 = staticmethod(lambda state: None)  # type: ignore[attr-defined]
    assert superseded_problems("TestOldDeposited.v1", GOLDEN_DEPOSITED) == []
