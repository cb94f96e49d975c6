"""What a command answers: the aggregate as it stands after it, and its log position."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class CommandResult:
    """A subclass names the aggregate's fields it answers with; `of` reads them."""

    ID_FIELD: ClassVar[str]  # the field holding the aggregate's id, e.g. "account_id"

    position: int | None  # the log position of the command's last event

    @classmethod
    def of(cls, aggregate: Aggregate, position: int | None) -> Self:
        """The result after a command: each field read from the aggregate by its name,
        the id field from its id, `position` from the log."""
        given: dict[str, Any] = {cls.ID_FIELD: aggregate.id, "position": position}
        values = {
            item.name: given[item.name] if item.name in given else getattr(aggregate, item.name)
            for item in fields(cls)
        }
        return cls(**values)
