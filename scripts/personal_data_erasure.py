"""Erasing one data subject (`paystream gdpr erase`), in an order a crash can resume:

1. find every stored event whose fields the subject's data key sealed (their sealed form
   names the key: `pd1.<key id>.`);
2. while the key exists, scrub what was derived from that plaintext outside the events:
   the request fingerprints of the idempotency records of those events (a SHA-256 of a
   body holding a name can be reversed by trying names) and the text of the dead letters
   that quote it;
3. destroy the key: from here on the sealed fields open as `[erased]`;
4. record the erasure on every aggregate whose personal data it was (the subject's
   accounts and the payments they made), so every service's cached copy, every projector
   and the audit trail learn of it, in order, from the events themselves.

Running it again finishes what a crash left undone and records nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from uuid import UUID

import psycopg
from psycopg import sql

from domains.erasure import ERASED_TEXT
from eventstore.audit_queries import read_only_opener
from eventstore.contexts import ACCOUNTS, PAYMENTS, Context
from eventstore.idempotency import ERASED_FINGERPRINT
from eventstore.idempotency import TABLE as IDEMPOTENCY_TABLE
from eventstore.metadata import CommandMetadata, command_metadata
from eventstore.personal_data.data_keys import destroy_key, subject_key
from eventstore.personal_data.field_cipher import sealed_marker
from eventstore.personal_fields import OWNING_EVENTS, PERSONAL_FIELDS
from eventstore.settings import DatabaseSettings
from eventstore.transcoder import default_transcoder
from projections.dead_letters import letters_table
from projections.registry import PROJECTIONS
from scripts.composition.applications import open_command_service

ERASURE_TOPICS = {
    ACCOUNTS.name: "AccountPersonalDataErased.v1",
    PAYMENTS.name: "PaymentPersonalDataErased.v1",
}
CONTEXTS = (ACCOUNTS, PAYMENTS)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SealedEvent:
    """A stored event holding at least one field sealed under the subject's key."""

    context: Context
    originator_id: UUID
    version: int
    topic: str
    state: bytes


@dataclass
class ErasureReport:
    """What one run did; `newly_destroyed` False when the key was destroyed before."""

    subject: str
    key_id: UUID
    newly_destroyed: bool
    recorded: dict[str, int] = field(default_factory=dict)  # context -> erasure events
    fingerprints_scrubbed: int = 0
    letters_scrubbed: int = 0


def erase_subject(
    db: DatabaseSettings,
    subject: str,
    reason: str,
    erased_by: str,
    correlation_id: str,
    progress: Progress = lambda done, of: None,
) -> ErasureReport:
    """Erase `subject` (UnknownSubject if no data key was ever made for them: see
    eventstore/personal_data/data_keys.py)."""
    with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
        key_id, alive = subject_key(conn, subject)
        sealed = [event for context in CONTEXTS for event in _sealed_under(conn, context, key_id)]
        report = ErasureReport(subject, key_id, newly_destroyed=alive)
        if alive:
            with conn.transaction():
                plaintexts = _plaintexts(conn, sealed)
                report.fingerprints_scrubbed = _scrub_fingerprints(conn, sealed)
                report.letters_scrubbed = _scrub_letters(conn, plaintexts)
                destroy_key(conn, subject)
        todo: dict[str, list[UUID]] = {}
        for context in CONTEXTS:
            owning = OWNING_EVENTS[context.name]
            done_before = _recorded_already(conn, context, key_id)
            todo[context.name] = [
                aggregate
                for aggregate in dict.fromkeys(
                    e.originator_id for e in sealed if e.context == context and e.topic == owning
                )
                if aggregate not in done_before
            ]
    total, done = sum(len(ids) for ids in todo.values()), 0
    progress(0, total)
    metadata = CommandMetadata(actor=erased_by, correlation_id=correlation_id)
    for context in CONTEXTS:
        report.recorded[context.name] = 0
        with _service(context, db) as service, command_metadata(metadata):
            for aggregate_id in todo[context.name]:
                service.erase_personal_data(aggregate_id, str(key_id), reason, erased_by)
                report.recorded[context.name] += 1
                done += 1
                progress(done, total)
    return report


def _sealed_under(
    conn: psycopg.Connection[Any], context: Context, key_id: UUID
) -> Iterator[SealedEvent]:
    """Every event of `context` with a field sealed under `key_id`, in log order (a scan
    of the events: erasure is rare, and no index could find a key inside the state)."""
    rows = conn.execute(
        sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{}"
            " WHERE topic = ANY(%s) AND position(%s::bytea IN state) > 0"
            " ORDER BY notification_id"
        ).format(sql.Identifier(context.schema), sql.Identifier(context.events_table)),
        (list(PERSONAL_FIELDS), sealed_marker(key_id)),
    )
    for originator_id, version, topic, state in rows:
        yield SealedEvent(context, originator_id, int(version), str(topic), bytes(state))


def _recorded_already(conn: psycopg.Connection[Any], context: Context, key_id: UUID) -> set[UUID]:
    rows = conn.execute(
        sql.SQL(
            "SELECT originator_id FROM {}.{} WHERE topic = %s AND position(%s::bytea IN state) > 0"
        ).format(sql.Identifier(context.schema), sql.Identifier(context.events_table)),
        (ERASURE_TOPICS[context.name], str(key_id).encode()),
    )
    return {row[0] for row in rows}


def _plaintexts(conn: psycopg.Connection[Any], sealed: list[SealedEvent]) -> set[str]:
    """The subject's data in plaintext, opened with their key before it goes."""
    opener, transcoder, found = read_only_opener(conn), default_transcoder(), set()
    for event in sealed:
        state = dict(transcoder.decode(event.state))
        opener.open(event.topic, event.originator_id, event.version, state)
        found |= {str(state[name]) for name in PERSONAL_FIELDS[event.topic] if state.get(name)}
    return found - {ERASED_TEXT}


def _scrub_fingerprints(conn: psycopg.Connection[Any], sealed: list[SealedEvent]) -> int:
    """The fingerprints of the commands that stored those events, made unmatchable to any
    body (a retry of such a command is answered from its record, unchecked)."""
    scrubbed = 0
    for context in CONTEXTS:
        places = [(e.originator_id, e.version) for e in sealed if e.context == context]
        if not places:
            continue
        scrubbed += conn.execute(
            sql.SQL(
                "UPDATE {}.{} SET request_fingerprint = %s WHERE request_fingerprint <> %s"
                " AND (aggregate_id, aggregate_version) IN"
                " (SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
            ).format(sql.Identifier(context.schema), sql.Identifier(IDEMPOTENCY_TABLE)),
            (
                ERASED_FINGERPRINT,
                ERASED_FINGERPRINT,
                [aggregate for aggregate, _ in places],
                [version for _, version in places],
            ),
        ).rowcount
    return scrubbed


def _scrub_letters(conn: psycopg.Connection[Any], plaintexts: set[str]) -> int:
    """Each dead letter quoting the subject's data, in its error or in the body of an
    event stored before sealing, with it replaced by the marker."""
    scrubbed: set[tuple[object, ...]] = set()
    for projection in PROJECTIONS.values():
        exists = conn.execute(
            "SELECT to_regclass(%s)", (letters_table(projection).as_string(conn),)
        ).fetchone()
        if exists is None or exists[0] is None:
            continue
        for text in sorted(plaintexts, key=len, reverse=True):
            # the error, and the body of an event stored before sealing (JSON, UTF-8)
            rows = conn.execute(
                sql.SQL(
                    "UPDATE {} SET error = replace(error, %(text)s, %(marker)s),"
                    " body = CASE WHEN position(convert_to(%(text)s, 'UTF8') IN body) > 0"
                    " THEN convert_to(replace(convert_from(body, 'UTF8'), %(text)s,"
                    " %(marker)s), 'UTF8') ELSE body END"
                    " WHERE strpos(error, %(text)s) > 0"
                    " OR position(convert_to(%(text)s, 'UTF8') IN body) > 0"
                    " RETURNING source, position, failed_at"
                ).format(letters_table(projection)),
                {"text": text, "marker": ERASED_TEXT},
            ).fetchall()
            scrubbed |= {(projection.name, *row) for row in rows}
    return len(scrubbed)


class _Erasing(Protocol):
    def erase_personal_data(
        self, aggregate_id: UUID, key_id: str, reason: object, erased_by: str
    ) -> object: ...


@contextmanager
def _service(context: Context, db: DatabaseSettings) -> Iterator[_Erasing]:
    service = open_command_service(context, db, cached=False)
    try:
        yield cast(_Erasing, service)
    finally:
        service.close()
