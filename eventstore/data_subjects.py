"""Whose personal data an event holds: the account holder (the verified subject that
opened the account). A payment's reference is the payer's, the holder of its source
account. An account opened by the system itself has no holder: its data belongs to
`account:<id>`, a subject of its own."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from eventstore.contexts import ACCOUNTS, PAYMENTS, Context
from eventstore.metadata import current_metadata
from eventstore.personal_fields import (
    ACCOUNT,
    ACCOUNT_CREDITED,
    ACCOUNT_OPENED,
    PAYMENT_REQUESTED,
    SubjectOf,
)
from eventstore.transcoder import default_transcoder

HOLDERS_CACHED = 10_000
SYSTEM_ACTOR = "system"  # CommandMetadata's actor when no verified caller asked


def account_subject(account_id: UUID | str, holder: str) -> str:
    """The subject of an account's personal data: its holder, else the account itself."""
    return holder or f"account:{account_id}"


class AccountHolders:
    """Each account's holder, from its first event (a holder never changes; cached)."""

    def __init__(self, pool: Callable[[], ConnectionPool[Any]]) -> None:
        self._pool = pool  # made on first use
        self._cache: OrderedDict[UUID, str] = OrderedDict()
        self._lock = threading.Lock()
        self._transcoder = default_transcoder()
        self._select = sql.SQL(
            "SELECT state FROM {}.{} WHERE originator_id = %s AND originator_version = 1"
        ).format(sql.Identifier(ACCOUNTS.schema), sql.Identifier(ACCOUNTS.events_table))

    def holder_of(self, account_id: UUID) -> str:
        with self._lock:
            if account_id in self._cache:
                self._cache.move_to_end(account_id)
                return self._cache[account_id]
        with self._pool().connection() as conn:
            row = conn.execute(self._select, (account_id,)).fetchone()
        holder = "" if row is None else str(self._transcoder.decode(row[0]).get("holder", ""))
        with self._lock:
            self._cache[account_id] = holder
            while len(self._cache) > HOLDERS_CACHED:
                self._cache.popitem(last=False)
        return holder


def accounts_subjects(holders: AccountHolders) -> SubjectOf:
    """An account event's subject: the holder opening it; for a payment's movement, the
    payer (this account's holder for a debit or refund, the counterparty's for a credit)."""

    def subject_of(topic: str, originator_id: UUID, state: dict[str, Any]) -> str:
        if topic in (ACCOUNT_OPENED, ACCOUNT):
            return account_subject(originator_id, str(state.get("holder", "")))
        payer = UUID(str(state["counterparty"])) if topic == ACCOUNT_CREDITED else originator_id
        return account_subject(payer, holders.holder_of(payer))

    return subject_of


def payments_subject(topic: str, originator_id: UUID, state: dict[str, Any]) -> str:
    """A payment's subject: the payer, the verified subject who requested it (the API
    checked that they hold the source account); a payment the system requested belongs
    to its source account, and so does a snapshot of a payment (taken by whoever loads
    it, so no payer is known then: see docs/architecture.md)."""
    actor = current_metadata().actor if topic == PAYMENT_REQUESTED else SYSTEM_ACTOR
    return actor if actor and actor != SYSTEM_ACTOR else account_subject(state["source"], "")


def context_subjects(context: Context, pool: Callable[[], ConnectionPool[Any]]) -> SubjectOf:
    """The rules a context's personal fields are sealed by (its mapper's, and the plaintext
    migration's); `pool` reaches its events, made on first use."""
    if context == PAYMENTS:
        return payments_subject
    if context == ACCOUNTS:
        return accounts_subjects(AccountHolders(pool))
    raise ValueError(f"no data subjects for context {context.name!r}")
