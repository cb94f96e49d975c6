"""What a read model declares: name, version, sources, the event types it ignores, tables,
and one handler per event type it handles."""

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
    ignores: ClassVar[tuple[str, ...]] = ()
    tables: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {
            attr.__dict__["handles_event_type"]: name
            for klass in reversed(cls.__mro__)
            for name, attr in vars(klass).items()
            if callable(attr) and "handles_event_type" in getattr(attr, "__dict__", {})
        }
        both = sorted(set(cls.handlers) & set(cls.ignores))
        if both:
            raise TypeError(f"{cls.__name__} both handles and ignores {both}")

    def __init__(self, schema: str | None = None) -> None:
        self._schema = schema or self.versioned_schema()

    @classmethod
    def versioned_schema(cls) -> str:
        """The schema a fresh install of this version builds into."""
        return f"{cls.name}_v{cls.version}"

    @classmethod
    def read_schema(cls) -> str:
        """The stable schema readers use: views onto whichever build is active."""
        return f"read_{cls.name}"

    def schema(self) -> str:
        """The schema this instance writes into (the active build, or one being built)."""
        return self._schema

    def use_schema(self, schema: str) -> None:
        """Write into `schema` from now on (the runtime follows the active build)."""
        self._schema = schema

    @classmethod
    def role(cls) -> str:
        """The database role of this read model's projector."""
        return f"paystream_{cls.name}"

    @classmethod
    def consumer_name(cls) -> str:
        """The durable JetStream consumer of this version."""
        return f"{cls.name}_v{cls.version}"

    def ddl(self) -> list[Composed]:
        """The statements that create this build's tables and its tracking table."""
        schema = Identifier(self.schema())
        statements = [SQL(table).format(schema=schema) for table in self.tables]
        statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{tracking} ("
                " source text PRIMARY KEY, position bigint NOT NULL,"
                " updated_at timestamptz NOT NULL DEFAULT now())"
            ).format(schema=schema, tracking=Identifier(TRACKING_TABLE))
        )
        return statements

    async def apply(self, cursor: AsyncCursor[Any], envelope: EventEnvelope) -> bool:
        """Apply one event; False when this read model has no handler for its type (an
        ignored type: the runtime still moves its tracking past it)."""
        handler_name = self.handlers.get(envelope.event_type)
        if handler_name is None:
            return False
        await getattr(self, handler_name)(cursor, envelope)
        return True
