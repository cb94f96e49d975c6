"""A KEK rotation: every data key re-wrapped under a new KEK, and the check with them, in
one transaction; processes still configured with the old KEK then stop at start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from eventstore.personal_data.kek import KekError, KeyEncryptionKey
from eventstore.personal_data.kek_check import replace_check, verify_kek
from eventstore.personal_data.schema import DATA_KEYS, table

BATCH = 500  # keys re-wrapped per round trip


def rotate_kek(
    conn: psycopg.Connection[Any],
    old: KeyEncryptionKey,
    new: KeyEncryptionKey,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Re-wrap every live data key from `old` to `new`; how many. `progress(done, total)`
    after each batch. Nothing changes unless all of it does."""
    if new.kek_id == old.kek_id:
        raise KekError(f"the new KEK id {new.kek_id!r} is the one in use: choose another")
    with conn.transaction():
        verify_kek(conn, old, lock="FOR UPDATE")  # new keys wait for the new KEK
        rows = conn.execute(
            sql.SQL(
                "SELECT subject, wrapped, kek_id FROM {} WHERE wrapped IS NOT NULL"
                " ORDER BY subject FOR UPDATE"
            ).format(table(DATA_KEYS))
        ).fetchall()
        update = sql.SQL("UPDATE {} SET wrapped = %s, kek_id = %s WHERE subject = %s").format(
            table(DATA_KEYS)
        )
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            rewrapped = [
                (new.wrap(old.unwrap(bytes(wrapped), kek_id)), subject)
                for subject, wrapped, kek_id in batch
            ]
            with conn.cursor() as cursor:
                cursor.executemany(update, [(w.wrapped, w.kek_id, s) for w, s in rewrapped])
            progress(start + len(batch), len(rows))
        replace_check(conn, new)
    return len(rows)
