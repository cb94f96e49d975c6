"""Golden schemas of the published events: the stored and published form of each event
type (its wire name, e.g. `MoneyDeposited.v1`) as a JSON Schema under
tests/contracts/events/.

The rule they guard: a change that would break a reader of the stored or published
form (a field removed or retyped, a wire name renamed or dropped) is refused; such a
change is a new event type (`<Name>.v2`, its own golden) whose class carries a higher
`class_version` and an upcaster (`upcast_v1_v2`) for the old stored form, with the old
wire name still resolving to it. Adding a field is compatible; record it with

    .venv/bin/python -m tests.contracts.event_schemas

which writes the goldens of new event types and of compatible changes, never a breaking one.
"""

from __future__ import annotations

import functools
import json
import sys
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from domains.accounts.aggregates import Account
from domains.payments.aggregates import Payment

AGGREGATES: tuple[type[Aggregate], ...] = (Account, Payment)
GOLDEN_DIR = Path(__file__).parent / "events"
# The library's own fields: not part of the stored JSON state (kept in columns) or typed.
NOT_STATE = {"originator_id", "originator_version", "originator_id_type"}
JSON_TYPES: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    # the transcoder's form of a datetime (eventstore/transcoder.py)
    datetime: {
        "type": "object",
        "properties": {
            "_type_": {"const": "datetime_iso"},
            "_data_": {"type": "string", "format": "date-time"},
        },
        "required": ["_data_", "_type_"],
        "additionalProperties": False,
    },
}
META = {"__meta__": {"type": "object"}}  # who, why and when, added by the mapper


def event_classes() -> dict[str, type[Aggregate.Event]]:
    """Every event type the aggregates record, by wire name."""
    found: dict[str, type[Aggregate.Event]] = {}
    for aggregate in AGGREGATES:
        for attribute in vars(aggregate).values():
            if isinstance(attribute, type) and issubclass(attribute, Aggregate.Event):
                wire_name = get_topic(attribute)
                if ":" not in wire_name:  # not the aggregate's own base (a module path)
                    found[wire_name] = attribute
    return found


def schema_of(wire_name: str, event_class: type[Aggregate.Event]) -> dict[str, Any]:
    """The JSON Schema of the stored state of `event_class` (the same bytes are published)."""
    hints = typing.get_type_hints(event_class)
    fields = {name: hint for name, hint in hints.items() if name not in NOT_STATE}
    unknown = {name: hint for name, hint in fields.items() if hint not in JSON_TYPES}
    if unknown:
        raise TypeError(f"{wire_name}: no JSON type for {unknown}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": wire_name,
        "x-class-version": getattr(event_class, "class_version", 1),
        "type": "object",
        "properties": {**{n: JSON_TYPES[h] for n, h in sorted(fields.items())}, **META},
        "required": sorted(fields),
        "additionalProperties": False,
    }


def schema_violations(wire_name: str, state: bytes) -> list[str]:
    """How a stored (or published) event's bytes differ from its golden schema."""
    golden = goldens().get(wire_name)
    if golden is None:
        return [f"{wire_name}: no golden schema"]
    validator = jsonschema_rs.validator_for(golden)
    return [str(error).splitlines()[0] for error in validator.iter_errors(json.loads(state))]


def golden_path(wire_name: str) -> Path:
    return GOLDEN_DIR / f"{wire_name}.schema.json"


@functools.cache
def goldens() -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text())
        for path in sorted(GOLDEN_DIR.glob("*.schema.json"))
    }


def breaking_changes(golden: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What `current` removed or retyped of `golden` (an added field breaks nothing)."""
    problems = []
    for name, spec in golden["properties"].items():
        if name not in current["properties"]:
            problems.append(f"field {name!r} removed")
        elif current["properties"][name] != spec:
            problems.append(f"field {name!r} retyped {spec} -> {current['properties'][name]}")
    problems += [
        f"field {n!r} now required"
        for n in current["required"]
        if n in set(golden["properties"]) - set(golden["required"])
    ]
    return problems


def superseded_problems(wire_name: str, golden: dict[str, Any]) -> list[str]:
    """A wire name no event class records any more must still resolve to the class that
    replaced it, and that class must upcast each older stored form to its own."""
    try:
        successor = resolve_topic(wire_name)
    except Exception:
        return [
            f"{wire_name}: wire name gone; stored and published events of it can no longer"
            " be read (keep it resolving to its successor: register_topic)"
        ]
    old, new = golden["x-class-version"], getattr(successor, "class_version", 1)
    if new <= old:
        return [f"{wire_name}: replaced by {get_topic(successor)} without a higher class_version"]
    return [
        f"{wire_name}: {get_topic(successor)} has no upcast_v{v}_v{v + 1}"
        for v in range(old, new)
        if not hasattr(successor, f"upcast_v{v}_v{v + 1}")
    ]


def record() -> int:
    """Write the goldens of new event types and of compatible changes; 1 on a breaking one."""
    GOLDEN_DIR.mkdir(exist_ok=True)
    existing, status = dict(goldens()), 0
    for wire_name, event_class in event_classes().items():
        current = schema_of(wire_name, event_class)
        golden = existing.get(wire_name)
        if golden == current:
            continue
        if golden is not None and (problems := breaking_changes(golden, current)):
            print(f"{wire_name}: breaking change, not recorded: {'; '.join(problems)}")
            status = 1
            continue
        golden_path(wire_name).write_text(json.dumps(current, indent=2) + "\n")
        print(f"recorded {golden_path(wire_name)}")
    return status


if __name__ == "__main__":
    sys.exit(record())
