"""The check value: a known constant wrapped under the KEK in use, stored beside the data
keys, so a process configured with another KEK stops at start with one line instead of
producing garbage later."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import psycopg
from psycopg import sql

from eventstore.personal_data.kek import AesGcmKek, KekError, KeyEncryptionKey, WrongKek
from eventstore.personal_data.kek_providers import KekSettings, configured_kek
from eventstore.personal_data.schema import KEK_CHECK, table

CHECK_CONSTANT = hashlib.sha256(b"paystream personal data: KEK check v1").digest()


def seal_check(conn: psycopg.Connection[Any], kek: KeyEncryptionKey) -> None:
    """Store the check under `kek` unless one is stored; then verify it (provisioning)."""
    sealed = kek.wrap(CHECK_CONSTANT)
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (kek_id, sealed) VALUES (%s, %s) ON CONFLICT (one_row) DO NOTHING"
        ).format(table(KEK_CHECK)),
        (sealed.kek_id, sealed.wrapped),
    )
    verify_kek(conn, kek)


Lock = Literal["", "FOR SHARE", "FOR UPDATE"]


def verify_kek(conn: psycopg.Connection[Any], kek: KeyEncryptionKey, lock: Lock = "") -> None:
    """WrongKek unless `kek` unwraps the stored check; `lock` (FOR SHARE, FOR UPDATE)
    holds the check row, hence the KEK in use, until the transaction ends."""
    query = sql.SQL("SELECT kek_id, sealed FROM {} " + lock).format(table(KEK_CHECK))
    row = conn.execute(query).fetchone()
    if row is None:
        raise KekError("no KEK check is stored: run `paystream provision`")
    if kek.unwrap(bytes(row[1]), str(row[0])) != CHECK_CONSTANT:
        raise WrongKek(f"the KEK check does not match under KEK {kek.kek_id!r}")


def replace_check(conn: psycopg.Connection[Any], kek: KeyEncryptionKey) -> None:
    """Store the check under `kek` in place of the old one (a rotation, in its transaction)."""
    sealed = kek.wrap(CHECK_CONSTANT)
    conn.execute(
        sql.SQL("UPDATE {} SET kek_id = %s, sealed = %s, sealed_at = now()").format(
            table(KEK_CHECK)
        ),
        (sealed.kek_id, sealed.wrapped),
    )


def verified_kek(conninfo: str, settings: KekSettings | None = None) -> AesGcmKek:
    """The configured KEK once it unwraps the stored check (as the role of `conninfo`):
    what a process that reads personal data calls at start, so a wrong KEK stops it
    there with one line (KekError) instead of failing on the first key."""
    kek = configured_kek(settings)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        verify_kek(conn, kek)
    return kek
