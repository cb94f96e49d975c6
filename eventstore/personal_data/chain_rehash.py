"""Re-hashing a context's chains after some of their events were rewritten in place (the
plaintext migration): each recorded hash from an aggregate's first rewritten event on is
computed again over the new stored bytes, chained as the write path chains it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventstore.chain_check import Head, Link
from eventstore.hash_chain import GENESIS, link_hash


class ChainDoesNotHold(Exception):
    """A recorded hash to be replaced does not match the event it covers: re-hashing
    it would hide the change."""


@dataclass(frozen=True)
class RehashedChain:
    """One chain rewritten: from which version, its head before and after."""

    aggregate_id: UUID
    from_version: int
    old_head: Head
    new_head: Head


HashWriter = Callable[[UUID, int, bytes], None]


class ChainRehash:
    """Follows a context's links in (aggregate, version) order, each with its new stored
    bytes when it was rewritten, and sends the new hash of every recorded link from the
    aggregate's first rewritten event on to `write`. As in ChainWriter, a link whose
    previous version has no recorded hash chains from GENESIS. Each replaced hash is first
    checked against the bytes it covered."""

    def __init__(self, write: HashWriter) -> None:
        self.rehashed: list[RehashedChain] = []
        self._write = write
        self._aggregate: UUID | None = None
        self._from: int | None = None  # the first version rewritten
        self._old_previous = self._new_previous = GENESIS
        self._old_head: Head | None = None
        self._new_head: Head | None = None

    def follow(self, link: Link, rewritten: bytes | None) -> None:
        if link.position is None:
            raise ChainDoesNotHold(f"{link.aggregate_id} v{link.version}: the event is gone")
        if link.aggregate_id != self._aggregate:
            self.finish()
            self._start(link.aggregate_id)
        if rewritten is not None and self._from is None:
            self._from = link.version
        if link.recorded is None:
            self._old_previous = self._new_previous = GENESIS
            return
        if self._from is not None:
            self._rehash(link, rewritten)
        else:
            self._old_previous = self._new_previous = link.recorded
        self._old_head = Head(link.version, link.recorded)

    def finish(self) -> None:
        """End the chain being followed (call once after the last link too)."""
        aggregate, old, new = self._aggregate, self._old_head, self._new_head
        if aggregate and self._from and old is not None and new is not None:
            self.rehashed.append(RehashedChain(aggregate, self._from, old, new))
        self._aggregate = None

    def _start(self, aggregate_id: UUID) -> None:
        self._aggregate = aggregate_id
        self._from = None
        self._old_previous = self._new_previous = GENESIS
        self._old_head = self._new_head = None

    def _rehash(self, link: Link, rewritten: bytes | None) -> None:
        assert link.position is not None and link.topic is not None and link.state is not None
        assert link.recorded is not None
        fields = (link.position, link.aggregate_id, link.version, link.topic)
        if link_hash(self._old_previous, *fields, link.state) != link.recorded:
            raise ChainDoesNotHold(
                f"{link.aggregate_id} v{link.version}: the recorded hash does not match the"
                " stored event"
            )
        digest = link_hash(self._new_previous, *fields, rewritten or link.state)
        self._write(link.aggregate_id, link.version, digest)
        self._old_previous, self._new_previous = link.recorded, digest
        self._new_head = Head(link.version, digest)
