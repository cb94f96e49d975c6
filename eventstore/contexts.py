"""The bounded contexts whose events are stored: schema, role, table, stream."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.settings import DatabaseSettings


@dataclass(frozen=True)
class Context:
    """Where one context's events live and where they are published."""

    name: str

    @property
    def schema(self) -> str:
        return self.name

    @property
    def role(self) -> str:
        return f"paystream_{self.name}"

    @property
    def relay_role(self) -> str:
        """The relay's: it reads the events and nothing else (no personal-data keys)."""
        return f"paystream_{self.name}_relay"

    @property
    def events_table(self) -> str:
        return f"{self.name}_events"

    @property
    def snapshots_table(self) -> str:
        return f"{self.name}_snapshots"

    @property
    def stream(self) -> str:
        return self.name.upper()

    @property
    def subject_prefix(self) -> str:
        return f"paystream.{self.name}"

    def subject(self, event_type: str) -> str:
        """The NATS subject of one event type, e.g. paystream.accounts.MoneyDeposited.v1."""
        return f"{self.subject_prefix}.{event_type}"

    def msg_id(self, position: int) -> str:
        """The JetStream de-duplication id of the event at `position`."""
        return f"{self.name}:{position}"


# Aggregates each command service keeps in memory (least recently used evicted).
AGGREGATE_CACHE_SIZE = 10_000

ACCOUNTS = Context("accounts")
PAYMENTS = Context("payments")
CONTEXTS = {context.name: context for context in (ACCOUNTS, PAYMENTS)}


def application_env(
    context: Context, settings: DatabaseSettings, *, create_table: bool = False, pool_size: int = 5
) -> dict[str, str]:
    """The eventsourcing environment of a context's application, as its own role."""
    params = settings.role_params(context.role)
    return {
        "PERSISTENCE_MODULE": "eventstore.sealed_postgres:SealedPostgresFactory",
        "APPLICATION_RECORDER_TOPIC": "eventstore.recorder:PaystreamRecorder",
        "MAPPER_TOPIC": "eventstore.mapper:MetadataMapper",
        "TRANSCODER_TOPIC": "eventstore.transcoder:default_transcoder",
        "POSTGRES_DBNAME": params.get("dbname", "paystream"),
        "POSTGRES_HOST": params.get("host", "127.0.0.1"),
        "POSTGRES_PORT": params.get("port", "5432"),
        "POSTGRES_USER": params.get("user", context.role),
        "POSTGRES_PASSWORD": params.get("password", ""),
        "POSTGRES_SCHEMA": context.schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        # How long a command waits for a pooled connection; the library tries a query
        # 10 times, so while the database is away a command answers 503 after ~12 s.
        "POSTGRES_CONNECT_TIMEOUT": "1",
        "POSTGRES_LOCK_TIMEOUT": "5",
        # Check a pooled connection before use, so one lost in a database restart is
        # replaced instead of failing the next command.
        "POSTGRES_PRE_PING": "y",
        # Commands load each aggregate from an in-process cache, fast-forwarded by one query
        # for the events stored since (by any process); a copy is handed to each command.
        "AGGREGATE_CACHE_MAXSIZE": str(AGGREGATE_CACHE_SIZE),
        "CREATE_TABLE": "y" if create_table else "n",
        # Creating tables creates the snapshots table too, whatever the snapshot interval;
        # otherwise the service's PAYSTREAM_SNAPSHOT_INTERVAL decides (domains/service.py).
        "IS_SNAPSHOTTING_ENABLED": "y" if create_table else "n",
    }
