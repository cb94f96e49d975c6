"""What every page reading the audit trail shares: only a signed-in operator or auditor
reads it, each read is recorded in the operator log under their subject (as the CLI's
`paystream audit ...` records it), and input it cannot use is said on the page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventstore.audit_queries import UnreadableEvent
from eventstore.operator_actions import recorded_as
from eventstore.settings import DatabaseSettings
from identity.principal import Principal


class BadInput(ValueError):
    """A field of the page's form that cannot be used; the message says which and why."""


class DamagedStore(RuntimeError):
    """What was asked for is stored but cannot be decoded: a finding, shown as one."""


@contextmanager
def recorded_read(
    principal: Principal, command: str, arguments: dict[str, Any]
) -> Iterator[DatabaseSettings]:
    """The database to read, the read recorded as `paystream <command>` by `principal`."""
    db = DatabaseSettings()
    with recorded_as(principal, command, arguments):
        try:
            yield db
        except UnreadableEvent as error:
            raise DamagedStore(" ".join(str(error).split())) from error


def field_text(value: str | None) -> str | None:
    """A form field's text, None when it is left empty."""
    return value.strip() or None if value is not None else None


def parse_uuid(value: str, label: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise BadInput(f"{label} {value!r} is not an id (a UUID)") from None


def parse_time(value: str | None, label: str) -> datetime | None:
    """An ISO 8601 time (a date is its midnight), in UTC; no zone means UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise BadInput(
            f"{label} {value!r} is not a time (ISO 8601, e.g. 2026-12-02T16:30)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
