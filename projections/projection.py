"""What a read model declares: name, version, sources, tables, one handler per event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from psycopg import AsyncCursor
from psycopg.sql import SQL, Composed, Identifier

from eventstore.contexts import Context
from eventstore.envelope import EventEnvelope

Handler = Callable[[Any, AsyncCursor[Any], EventEnvelope], Awaitable[None]]
H = TypeVar("H", bound=Handler)

TRACKING_TABLE = "tracking"


def handles(event_type: str) -> Callable[[H], H]:
    """Mark a method as the handler of one published event type (e.g. MoneyDeposited.v1)."""

    def mark(handler: H) -> H:
        handler.__dict__["handles_event_type"] = event_type
        return handler

    return mark


class Projection:
    """Base of every read model; the runtime (projections.runtime) runs any of them."""

    name: ClassVar[str]
    version: ClassVar[int]
    sources: ClassVar[tuple[Context, ...]]
    tables: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            attr.__dict__["handles_event_type"]: name
            for name, attr in vars(cls).items()
            if callable(attr) and "handles_event_type" in attr.__dict__
        }

    @classmethod
    def schema(cls) -> str:
        """Each version of a read model lives in a schema of its own."""
        return f"{cls.name}_v{cls.version}"

    @classmethod
    def role(cls) -> str:
        """The database role of this read model's projector."""
        return f"paystream_{cls.name}"

    @classmethod
    def consumer_name(cls) -> str:
        """The durable JetStream consumer of this version."""
        return f"{cls.name}_v{cls.version}"

    @classmethod
    def ddl(cls) -> list[Composed]:
        """The statements that create this version's tables and its tracking table."""
        schema = Identifier(cls.schema())
        statements = [SQL(table).format(schema=schema) for table in cls.tables]
        statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{tracking} ("
                " source text PRIMARY KEY, position bigint NOT NULL,"
                " updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(schema=schema, tracking=Identifier(TRACKING_TABLE))
        )
        return statements

    async def apply(self, cursor: AsyncCursor[Any], envelope: EventEnvelope) -> bool:
        """Apply one event; False when this read model has no handler for its type."""
        handler_name = self.handlers.get(envelope.event_type)
        if handler_name is None:
            return False
        await getattr(self, handler_name)(cursor, envelope)
        return True
