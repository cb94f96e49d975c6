"""Which fields of which stored events identify a person, sealed on the way to the store
and opened on the way back (docs/architecture.md, "Personal data: sealed fields"). Wire
names, not classes: they are the stored contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domains.erasure import ERASED_TEXT
from eventstore.personal_data.data_keys import SubjectErased
from eventstore.personal_data.field_cipher import FieldCipher, FieldPlace, is_sealed

ACCOUNT_OPENED = "AccountOpened.v1"
ACCOUNT_DEBITED = "AccountDebited.v1"
ACCOUNT_CREDITED = "AccountCredited.v1"
ACCOUNT_DEBIT_REFUNDED = "AccountDebitRefunded.v1"
PAYMENT_REQUESTED = "PaymentRequested.v1"
ACCOUNT = "accounts.Account"  # the aggregates, in snapshots
PAYMENT = "payments.Payment"
SNAPSHOT = "eventsourcing.domain:Snapshot"

# By context: the event whose sealed field makes its aggregate the data subject's own (an
# account they hold, a payment they made); other aggregates may hold their data too (a
# credit to someone else's account carries the payer's reference).
OWNING_EVENTS = {"accounts": ACCOUNT_OPENED, "payments": PAYMENT_REQUESTED}

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    ACCOUNT_OPENED: ("owner",),
    ACCOUNT_DEBITED: ("reference",),
    ACCOUNT_CREDITED: ("reference",),
    ACCOUNT_DEBIT_REFUNDED: ("reference",),
    PAYMENT_REQUESTED: ("reference",),
    ACCOUNT: ("owner",),
    PAYMENT: ("reference",),
}

Id = UUID | str
SubjectOf = Callable[[str, UUID, dict[str, Any]], str]
"""Whose data an event's personal fields are: (wire name, originator id, state) -> subject."""


class FieldSealing:
    """Seals an event's personal fields under its subject's data key, and opens them.
    The cipher is made on first use: a process that never seals needs no KEK."""

    def __init__(self, cipher: Callable[[], FieldCipher], subject_of: SubjectOf) -> None:
        self._make_cipher = cipher
        self._cipher: FieldCipher | None = None
        self._subject_of = subject_of

    def seal(self, topic: str, originator_id: Id, version: int, state: dict[str, Any]) -> None:
        """Replace each non-empty personal field of `state` by its sealed form (in a
        snapshot, of the aggregate's state it holds); an erased subject's by `[erased]`."""
        if topic == SNAPSHOT:
            topic, state = state["topic"], state["state"]
        fields = [f for f in PERSONAL_FIELDS.get(topic, ()) if state.get(f)]
        if not fields:
            return
        subject = self._subject_of(topic, _uuid(originator_id), state)
        for name in fields:
            place = FieldPlace(_uuid(originator_id), version, name)
            try:
                state[name] = self.cipher.seal(subject, str(state[name]), place)
            except SubjectErased:  # erased meanwhile (a payment in flight): kept as erased
                state[name] = ERASED_TEXT

    def open(self, topic: str, originator_id: Id, version: int, state: dict[str, Any]) -> None:
        """Replace each sealed personal field of `state` by its plaintext (`[erased]` when
        its key is destroyed); plaintext stored before sealing stays as it is."""
        if topic == SNAPSHOT:
            topic, state = state["topic"], state["state"]
        for name in PERSONAL_FIELDS.get(topic, ()):
            value = state.get(name)
            if is_sealed(value):
                place = FieldPlace(_uuid(originator_id), version, name)
                state[name] = str(self.cipher.open(str(value), place))

    @property
    def cipher(self) -> FieldCipher:
        if self._cipher is None:
            self._cipher = self._make_cipher()
        return self._cipher


def _uuid(originator_id: Id) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
