"""Sealing what was stored before sealing existed (`paystream gdpr seal-plaintext`): every
event and snapshot whose personal fields hold plaintext is sealed as the write path seals
it (same subjects, same places), and each hash chain it is in is re-hashed from its first
rewritten event on. One transaction per context, holding its events table's lock (so no
command extends a chain meanwhile); all of them commit at the end, or none. A store whose
chains do not verify is refused: re-hashing would hide what changed."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from eventstore import chain_check
from eventstore.chain_check import BrokenLink, ChainChecker
from eventstore.contexts import CONTEXTS, Context
from eventstore.data_subjects import SYSTEM_ACTOR, context_subjects
from eventstore.metadata import META_KEY, CommandMetadata, command_metadata
from eventstore.personal_data.chain_rehash import ChainDoesNotHold, ChainRehash, RehashedChain
from eventstore.personal_data.data_keys import DataKeys
from eventstore.personal_data.field_cipher import FieldCipher, is_sealed
from eventstore.personal_data.kek import KeyEncryptionKey
from eventstore.personal_data.row_updates import Updates
from eventstore.personal_fields import PERSONAL_FIELDS, SNAPSHOT, FieldSealing
from eventstore.settings import DatabaseSettings
from eventstore.transcoder import default_transcoder

BATCH = 1_000  # events between two progress reports; snapshots per fetch
LOCK_TIMEOUT_SECONDS = 10  # waiting for the events table behind the commands' writes

Progress = Callable[[Context, int, int], None]
"""(context, events read, events in the context): how far the scan of a context is."""


class CannotSeal(Exception):
    """Why a run sealed nothing: a broken chain (re-hashing it would hide the change)."""


@dataclass
class SealedContext:
    """What one context's migration rewrote."""

    context: Context
    events: int = 0
    snapshots: int = 0
    chains: list[RehashedChain] = field(default_factory=list)


def seal_stores(
    db: DatabaseSettings, kek: KeyEncryptionKey, progress: Progress
) -> list[SealedContext]:
    """Seal every context's plaintext personal fields, each as its own role in its own
    transaction, and commit them together once every context is done."""
    with ExitStack() as stack:
        connections, sealed = [], []
        for context in CONTEXTS.values():
            conninfo = db.role_conninfo(context.role)
            conn = stack.enter_context(psycopg.connect(conninfo))
            keys = stack.enter_context(
                ConnectionPool(conninfo, min_size=1, max_size=2, kwargs={"autocommit": True})
            )
            sealing = context_sealing(context, keys, kek)
            try:
                sealed.append(seal_context(conn, context, sealing, progress))
            except CannotSeal as error:
                raise CannotSeal(f"{context.name} {error}") from None
            connections.append(conn)
        for conn in connections:
            conn.commit()
    return sealed


def context_sealing(
    context: Context, keys: ConnectionPool[Any], kek: KeyEncryptionKey
) -> FieldSealing:
    """The sealing a context's mapper gets from SealedPostgresFactory: its subjects' rules,
    its data keys through its role's pool."""
    subjects = context_subjects(context, lambda: keys)
    return FieldSealing(lambda: FieldCipher(DataKeys(keys, kek)), subjects)


def seal_context(
    conn: psycopg.Connection[Any], context: Context, sealing: FieldSealing, progress: Progress
) -> SealedContext:
    """Seal one context's plaintext in `conn`'s transaction (the caller commits it)."""
    lock_events(conn, context)
    total = chain_check.count_events(conn, context)
    updates = Updates(conn, context)
    rehash = ChainRehash(updates.hash)
    checker = ChainChecker(refuse_broken)
    sealed = SealedContext(context)
    for read, link in enumerate(chain_check.stream_links(conn, context), 1):
        checker.check(link)
        rewritten = None
        if link.position is not None and link.topic is not None and link.state is not None:
            rewritten = sealed_state(
                sealing, link.topic, link.aggregate_id, link.version, link.state
            )
        if rewritten is not None:
            updates.event(link.aggregate_id, link.version, rewritten)
            sealed.events += 1
        try:
            rehash.follow(link, rewritten)
        except ChainDoesNotHold as error:
            raise CannotSeal(f"{error}; run `paystream audit verify`") from None
        if read % BATCH == 0:
            progress(context, read, total)
    checker.finish()
    rehash.finish()
    progress(context, total, total)
    sealed.snapshots = seal_snapshots(conn, context, sealing, updates)
    updates.flush()
    sealed.chains = rehash.rehashed
    return sealed


def lock_events(conn: psycopg.Connection[Any], context: Context) -> None:
    """The lock every append takes (PaystreamRecorder): no chain grows until commit."""
    conn.execute(SQL("SET LOCAL lock_timeout = '{}s'").format(LOCK_TIMEOUT_SECONDS))
    conn.execute(
        SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
            Identifier(context.schema), Identifier(context.events_table)
        )
    )


def refuse_broken(link: BrokenLink) -> None:
    """A ChainChecker report that stops at the first broken link (events stored before
    hashes existed, `unhashed`, are no damage)."""
    if link.kind != "unhashed":
        where = f"{link.aggregate_id} {link.versions} {link.kind}"
        raise CannotSeal(f"{where}: {link.detail}; run `paystream audit verify`")


_TRANSCODER = default_transcoder()


def sealed_state(
    sealing: FieldSealing, topic: str, aggregate_id: UUID, version: int, stored: bytes
) -> bytes | None:
    """`stored` with its plaintext personal fields sealed, or None when it holds none. The
    subject is found as when it was written: under the metadata it was stored with (a
    payment's payer is the actor who requested it)."""
    if topic != SNAPSHOT and topic not in PERSONAL_FIELDS:
        return None
    state = _TRANSCODER.decode(stored)
    if not plaintext_fields(topic, state):
        return None
    actor = str((state.get(META_KEY) or {}).get("actor") or SYSTEM_ACTOR)
    with command_metadata(CommandMetadata(actor=actor)):
        sealing.seal(topic, aggregate_id, version, state)  # an erased subject's: [erased]
    encoded: bytes = _TRANSCODER.encode(state)
    return encoded


def plaintext_fields(topic: str, state: dict[str, Any]) -> list[str]:
    """The personal fields of a decoded event or snapshot that hold plaintext."""
    if topic == SNAPSHOT:
        topic, state = state["topic"], state["state"]
    filled = [name for name in PERSONAL_FIELDS.get(topic, ()) if state.get(name)]
    plain = [name for name in filled if not is_sealed(state[name])]
    if plain and plain != filled:  # sealing seals every filled field: it would seal twice
        raise ValueError(f"{topic}: {plain} in plaintext beside sealed fields")
    return plain


def seal_snapshots(
    conn: psycopg.Connection[Any], context: Context, sealing: FieldSealing, updates: Updates
) -> int:
    """Seal the context's snapshots that hold plaintext; how many."""
    query = SQL("SELECT originator_id, originator_version, topic, state FROM {}.{}").format(
        Identifier(context.schema), Identifier(context.snapshots_table)
    )
    count = 0
    with conn.cursor(name=f"seal_snapshots_{context.name}", binary=True) as cursor:
        cursor.itersize = BATCH
        cursor.execute(query)
        for aggregate_id, version, topic, state in cursor:
            rewritten = sealed_state(sealing, topic, aggregate_id, version, bytes(state))
            if rewritten is not None:
                updates.snapshot(aggregate_id, version, rewritten)
                count += 1
    return count
