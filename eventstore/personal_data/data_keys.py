"""Each data subject's data key: made on first use, found again by subject or by key id,
destroyed to erase the subject; wrapped under the KEK while it exists."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from eventstore.personal_data.kek import KEY_BYTES, KeyEncryptionKey
from eventstore.personal_data.kek_check import verify_kek
from eventstore.personal_data.schema import DATA_KEYS, table

CACHE_SIZE = 10_000
CACHE_SECONDS = 60.0  # a key destroyed elsewhere leaves a process's memory within this


class UnknownSubject(LookupError):
    """No data key was ever made for this subject."""


class SubjectErased(LookupError):
    """The subject's data key is destroyed: nothing new is sealed for them."""


class UnknownDataKey(LookupError):
    """A sealed value names a data key that was never made (not an erased one)."""


@dataclass(frozen=True)
class DataKey:
    """One subject's AES-256 key and the id sealed values carry to find it again."""

    subject: str
    key_id: UUID
    key: bytes = field(repr=False)


BY_ID = sql.SQL("SELECT subject, wrapped, kek_id FROM {} WHERE key_id = %s").format(
    table(DATA_KEYS)
)
"""The key a sealed value names (one parameter: its key id), for `key_from_row`."""


def key_from_row(key_id: UUID, row: Any, kek: KeyEncryptionKey) -> DataKey | None:
    """The key a BY_ID row holds, None when it is destroyed; UnknownDataKey without one."""
    if row is None:
        raise UnknownDataKey(f"no data key {key_id} was ever made")
    subject, wrapped, kek_id = row
    if wrapped is None:
        return None
    return DataKey(str(subject), key_id, kek.unwrap(bytes(wrapped), kek_id))


@dataclass(frozen=True)
class _Row:
    subject: str
    key_id: UUID
    wrapped: bytes | None
    kek_id: str | None


class DataKeys:
    """The data keys table through one role's pool, with an in-process cache of unwrapped
    keys (least recently used evicted; `destroy` evicts at once; a key is read again
    `cache_seconds` after it was read, so one destroyed by `gdpr erase` in another process
    is neither used to seal nor to open here for longer than that)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        kek: KeyEncryptionKey,
        cache_size: int = CACHE_SIZE,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._pool = pool
        self._kek = kek
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._by_subject: OrderedDict[str, tuple[DataKey, float]] = OrderedDict()
        self._by_id: dict[UUID, DataKey] = {}
        self._lock = threading.Lock()

    def key_for(self, subject: str) -> DataKey:
        """The subject's key, made on first use (by whichever process comes first)."""
        cached = self._cached(subject)
        if cached is not None:
            return cached
        wrapped = self._kek.wrap(os.urandom(KEY_BYTES))
        with self._pool.connection() as conn, conn.transaction():
            verify_kek(conn, self._kek, lock="FOR SHARE")  # no rotation meanwhile
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (subject, key_id, wrapped, kek_id) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (subject) DO NOTHING"
                ).format(table(DATA_KEYS)),
                (subject, uuid.uuid4(), wrapped.wrapped, wrapped.kek_id),
            )
            row = _select(conn, "subject", subject)
        assert row is not None  # inserted, or there already
        key = self._unwrapped(row)
        if key is None:
            raise SubjectErased(f"the data key of {subject!r} is destroyed")
        return key

    def find(self, subject: str) -> DataKey | None:
        """The subject's key; None when it is destroyed or was never made."""
        cached = self._cached(subject)
        if cached is not None:
            return cached
        with self._pool.connection() as conn:
            row = _select(conn, "subject", subject)
        return None if row is None else self._unwrapped(row)

    def by_id(self, key_id: UUID) -> DataKey | None:
        """The key a sealed value names; None when it is destroyed."""
        with self._lock:
            cached = self._by_id.get(key_id)
        if cached is not None and self._cached(cached.subject) is not None:
            return cached
        with self._pool.connection() as conn:
            row = _select(conn, "key_id", key_id)
        if row is None:
            raise UnknownDataKey(f"no data key {key_id} was ever made")
        return self._unwrapped(row)

    def destroy(self, subject: str) -> None:
        """Remove the subject's wrapped key for good; again is a no-op."""
        with self._pool.connection() as conn:
            done = destroy_key(conn, subject)
        with self._lock:
            self._evict(subject)
        if not done:
            raise UnknownSubject(f"no data key was ever made for {subject!r}")

    def _cached(self, subject: str) -> DataKey | None:
        with self._lock:
            found = self._by_subject.get(subject)
            if found is None:
                return None
            key, read_at = found
            if time.monotonic() - read_at > self._cache_seconds:
                self._evict(subject)
                return None
            self._by_subject.move_to_end(subject)
            return key

    def _evict(self, subject: str) -> None:
        """Forget the subject's key (hold the lock)."""
        evicted = self._by_subject.pop(subject, None)
        if evicted is not None:
            self._by_id.pop(evicted[0].key_id, None)

    def _unwrapped(self, row: _Row) -> DataKey | None:
        if row.wrapped is None or row.kek_id is None:
            return None
        key = DataKey(row.subject, row.key_id, self._kek.unwrap(row.wrapped, row.kek_id))
        with self._lock:
            self._by_subject[key.subject] = (key, time.monotonic())
            self._by_id[key.key_id] = key
            while len(self._by_subject) > self._cache_size:
                _, (oldest, _) = self._by_subject.popitem(last=False)
                self._by_id.pop(oldest.key_id, None)
        return key


def subject_key(conn: psycopg.Connection[Any], subject: str) -> tuple[UUID, bool]:
    """The id of the subject's data key and whether it still exists (UnknownSubject when
    none was ever made: no personal data is held for them)."""
    row = _select(conn, "subject", subject)
    if row is None:
        raise UnknownSubject(f"no personal data is held for subject {subject!r}")
    return row.key_id, row.wrapped is not None


def destroy_key(conn: psycopg.Connection[Any], subject: str) -> bool:
    """Remove the subject's wrapped key for good (again: a no-op); False when no key was
    ever made for them."""
    done = conn.execute(
        sql.SQL(
            "UPDATE {} SET wrapped = NULL, kek_id = NULL,"
            " destroyed_at = COALESCE(destroyed_at, now()) WHERE subject = %s RETURNING key_id"
        ).format(table(DATA_KEYS)),
        (subject,),
    ).fetchone()
    return done is not None


def _select(conn: psycopg.Connection[Any], column: str, value: object) -> _Row | None:
    row = conn.execute(
        sql.SQL("SELECT subject, key_id, wrapped, kek_id FROM {} WHERE {} = %s").format(
            table(DATA_KEYS), sql.Identifier(column)
        ),
        (value,),
    ).fetchone()
    if row is None:
        return None
    wrapped = None if row[2] is None else bytes(row[2])
    return _Row(str(row[0]), row[1], wrapped, row[3])
