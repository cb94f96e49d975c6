"""The eventsourcing library's PostgreSQL persistence, with each context's personal fields
sealed by its mapper: the one place on the write path that encrypts them, where the
event's originator id and version (its associated data) are known."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from eventsourcing.domain import TAggregateID
from eventsourcing.persistence import Mapper, OperationalError, Transcoder
from eventsourcing.postgres import PostgresFactory
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from eventstore.contexts import CONTEXTS
from eventstore.data_subjects import context_subjects
from eventstore.mapper import MetadataMapper
from eventstore.personal_data.data_keys import DataKeys
from eventstore.personal_data.field_cipher import FieldCipher
from eventstore.personal_data.kek_providers import KekSettings, configured_kek
from eventstore.personal_fields import FieldSealing, Id, SubjectOf

KEK_VARIABLES = ("KEK_PROVIDER", "KEK_ID", "KEK_DIR", "KEK")
# "off" stores personal fields in plaintext, beyond the reach of `gdpr erase`: for
# `paystream bench sealing`, which measures what sealing costs, never for real data.
SEALING_VARIABLE = "PAYSTREAM_SEAL_PERSONAL_DATA"
_log = logging.getLogger(__name__)
KEYS_POOL_TIMEOUT = 5.0  # seconds a seal or open waits for a connection to the keys


class StoreSealing(FieldSealing):
    """FieldSealing whose database errors are the store's (OperationalError), so a command
    that cannot reach the keys answers as one that cannot reach the events (503)."""

    def seal(self, topic: str, originator_id: Id, version: int, state: dict[str, Any]) -> None:
        try:
            super().seal(topic, originator_id, version, state)
        except psycopg.Error as error:
            raise OperationalError(f"personal data keys unavailable: {error}") from error

    def open(self, topic: str, originator_id: Id, version: int, state: dict[str, Any]) -> None:
        try:
            super().open(topic, originator_id, version, state)
        except psycopg.Error as error:
            raise OperationalError(f"personal data keys unavailable: {error}") from error


class SealedPostgresFactory(PostgresFactory):
    """PostgresFactory whose mapper seals personal fields under the context's role (a
    member of paystream_personal_data) and the KEK the environment configures."""

    _keys_pool: ConnectionPool[Any] | None = None

    def mapper(
        self,
        transcoder: Transcoder | None = None,
        mapper_class: type[Mapper[TAggregateID]] | None = None,
    ) -> Mapper[TAggregateID]:
        mapper = super().mapper(transcoder, mapper_class)
        if isinstance(mapper, MetadataMapper):
            if self.env.get(SEALING_VARIABLE, "on") == "off":
                _log.warning(
                    "%s=off: owner names and payment references are stored in plaintext,"
                    " out of reach of gdpr erase (for benchmarks only)",
                    SEALING_VARIABLE,
                )
            else:
                mapper.sealing = StoreSealing(self._cipher, self._subjects())
        return mapper

    def kek_settings(self) -> KekSettings:
        """KekSettings from the application's environment (the process's, or its own)."""
        given = {
            name.lower(): value
            for name in KEK_VARIABLES
            if (value := self.env.get(f"PAYSTREAM_{name}"))
        }
        return KekSettings.model_validate(given)

    def close(self) -> None:
        if self._keys_pool is not None:
            self._keys_pool.close()
        super().close()

    def _subjects(self) -> SubjectOf:
        schema = self.env.get(self.POSTGRES_SCHEMA)
        for context in CONTEXTS.values():
            if context.schema == schema:
                return context_subjects(context, self._pool)
        raise ValueError(f"no data subjects for schema {schema!r}")

    def _cipher(self) -> FieldCipher:
        return FieldCipher(DataKeys(self._pool(), configured_kek(self.kek_settings())))

    def _pool(self) -> ConnectionPool[Any]:
        if self._keys_pool is None:
            conninfo = make_conninfo(
                "",
                dbname=self.env.get(self.POSTGRES_DBNAME),
                host=self.env.get(self.POSTGRES_HOST),
                port=self.env.get(self.POSTGRES_PORT),
                user=self.env.get(self.POSTGRES_USER),
                password=self.env.get(self.POSTGRES_PASSWORD) or None,
                connect_timeout=5,
            )
            self._keys_pool = ConnectionPool(
                conninfo,
                min_size=1,
                max_size=2,
                kwargs={"autocommit": True},
                timeout=KEYS_POOL_TIMEOUT,
                open=True,
            )
        return self._keys_pool
