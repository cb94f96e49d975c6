"""Checking hash chains and checkpoints (`paystream audit verify|checkpoint`).

Streams every event with its recorded hash, recomputes each chain from GENESIS and
names each broken link: altered, missing, reordered, or unhashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Composed, Identifier

from eventstore.contexts import Context
from eventstore.hash_chain import GENESIS, TABLE, length_prefixed, link_hash
from eventstore.reader import max_position_query

STREAM_BATCH = 5_000  # rows per round trip from the verifying server-side cursor


class Link(NamedTuple):
    """One (aggregate, version) as stored: the event's columns (None when the event is
    absent) and its recorded hash row (None when absent)."""

    aggregate_id: UUID
    version: int
    position: int | None
    topic: str | None
    state: bytes | None
    recorded_position: int | None
    recorded: bytes | None


def _table(context: Context, name: str) -> Composed:
    return SQL("{}.{}").format(Identifier(context.schema), Identifier(name))


def count_events(conn: psycopg.Connection[Any], context: Context) -> int:
    row = conn.execute(SQL("SELECT count(*) FROM {}").format(_table(context, context.events_table)))
    found = row.fetchone()
    return int(found[0]) if found else 0


def max_position(conn: psycopg.Connection[Any], context: Context) -> int:
    """`eventstore.reader.max_position` on a sync connection."""
    found = conn.execute(max_position_query(context)).fetchone()
    return int(found[0]) if found else 0


_LINKS = (
    "SELECT coalesce(e.originator_id, h.originator_id),"
    " coalesce(e.originator_version, h.originator_version),"
    " e.notification_id, coalesce(e.topic, ''), coalesce(e.state, ''::bytea),"
    " h.notification_id, h.hash"
    " FROM {} e FULL JOIN {} h"
    " ON h.originator_id = e.originator_id AND h.originator_version = e.originator_version"
)


def stream_links(conn: psycopg.Connection[Any], context: Context) -> Iterator[Link]:
    """Every event and every hash row of a context, paired, ordered by aggregate and version,
    from a server-side cursor (constant memory). Run it inside one snapshot."""
    query = SQL(_LINKS + " ORDER BY 1, 2").format(
        _table(context, context.events_table), _table(context, TABLE)
    )
    with conn.cursor(name=f"audit_verify_{context.name}", binary=True) as cursor:
        cursor.itersize = STREAM_BATCH
        cursor.execute(query)
        for row in cursor:
            yield Link._make(row)


def aggregate_links(
    conn: psycopg.Connection[Any], context: Context, aggregate_id: UUID
) -> list[Link]:
    """One aggregate's events and hash rows, paired, by version (as `stream_links`)."""
    only = SQL("(SELECT * FROM {} WHERE originator_id = %(id)s)")
    query = SQL(_LINKS + " ORDER BY 2").format(
        only.format(_table(context, context.events_table)), only.format(_table(context, TABLE))
    )
    return [Link._make(row) for row in conn.execute(query, {"id": aggregate_id}, binary=True)]


def stream_heads(
    conn: psycopg.Connection[Any], context: Context
) -> Iterator[tuple[UUID, int, bytes]]:
    """The recorded head of every chain (aggregate id, last version, its hash), by id."""
    query = SQL(
        "SELECT DISTINCT ON (originator_id) originator_id, originator_version, hash FROM {}"
        " ORDER BY originator_id, originator_version DESC"
    ).format(_table(context, TABLE))
    with conn.cursor(name=f"audit_heads_{context.name}", binary=True) as cursor:
        cursor.itersize = STREAM_BATCH
        cursor.execute(query)
        for aggregate_id, version, digest in cursor:
            yield aggregate_id, version, bytes(digest)


@dataclass(frozen=True, slots=True)
class Head:
    """The last version of one chain and its hash, as a checkpoint recorded them."""

    version: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """One broken link: which aggregate, which version(s), what kind, what differs."""

    aggregate_id: UUID
    version: int
    kind: str  # altered | missing | reordered | unhashed | checkpoint
    detail: str
    last_version: int | None = None  # a range of versions, for a gap

    @property
    def versions(self) -> str:
        return f"v{self.version}" + (f"-{self.last_version}" if self.last_version else "")


@dataclass(frozen=True, slots=True)
class _Suspect:
    link: Link
    previous: bytes  # the recorded hash it was checked against


MAX_SUSPECTS = 1_000  # broken links per aggregate examined for reordering; more are "altered"


class ChainChecker:
    """Checks a context's links, fed in (aggregate, version) order.

    Each link is checked against the recorded hash of the version before it, so a change
    names exactly the event that changed. Alongside, each chain is folded from GENESIS over
    the events alone; a checkpoint's head must equal that fold, which proves that nothing
    up to the head changed, even if the recorded hashes were rewritten to match."""

    def __init__(
        self,
        report: Callable[[BrokenLink], None],
        heads: dict[UUID, Head] | None = None,
        covered_up_to: int = 0,
    ) -> None:
        self.report = report
        self.heads = dict(heads or {})
        self.covered_up_to = covered_up_to  # the checkpoint's max position
        self.events = 0
        self.aggregates = 0
        self._aggregate: UUID | None = None
        self._head: Head | None = None
        self._expected = 1
        self._previous: bytes | None = GENESIS
        self._folded: bytes | None = GENESIS
        self._suspects: list[_Suspect] = []
        self._broken_links: list[BrokenLink] = []

    def check(self, link: Link) -> None:
        if link.aggregate_id != self._aggregate:
            self._end_aggregate()
            self._start(link.aggregate_id)
        if link.version > self._expected:
            self._gap(link.version - 1)
        self._expected = link.version + 1
        if link.position is None:
            detail = (
                f"the event is gone; its hash was recorded at position {link.recorded_position}"
            )
            self._broken_link(link.version, "missing", detail)
            self._previous, self._folded = link.recorded, None
        else:
            self.events += 1
            self._check_event(link)
        self._check_head(link)

    def finish(self) -> None:
        """End the last chain; report checkpoint heads whose aggregate never appeared."""
        self._end_aggregate()
        self._aggregate = None
        for aggregate_id, head in sorted(self.heads.items()):
            detail = f"in the checkpoint at version {head.version}, absent from the store"
            self.report(BrokenLink(aggregate_id, head.version, "missing", detail))
        self.heads.clear()

    def _start(self, aggregate_id: UUID) -> None:
        self.aggregates += 1
        self._aggregate = aggregate_id
        self._head = self.heads.pop(aggregate_id, None)
        self._expected = 1
        self._previous = self._folded = GENESIS

    def _check_event(self, link: Link) -> None:
        assert link.position is not None and link.topic is not None and link.state is not None
        previous, folded = self._previous, self._folded
        fields = (link.position, link.aggregate_id, link.version, link.topic, link.state)
        expected = link_hash(previous, *fields) if previous is not None else None
        if link.recorded is None:
            self._broken_link(link.version, "unhashed", "no hash was recorded for this event")
        elif previous is not None and expected != link.recorded:
            self._suspect(link, previous)
        if folded is not None and folded == previous:
            self._folded = expected
        elif folded is not None:
            self._folded = link_hash(folded, *fields)
        self._previous = link.recorded

    def _check_head(self, link: Link) -> None:
        head = self._head
        if head is not None and link.version == head.version and self._folded != head.hash:
            detail = "the chain up to this version differs from the checkpoint's head"
            self._broken_link(link.version, "checkpoint", detail)
        within = link.position is not None and link.position <= self.covered_up_to
        if within and (head is None or link.version > head.version):
            detail = (
                f"recorded at position {link.position}, before the checkpoint"
                f" (up to {self.covered_up_to}), but not in it"
            )
            self._broken_link(link.version, "checkpoint", detail)

    def _gap(self, last: int) -> None:
        first = self._expected
        self._broken_links.append(
            BrokenLink(
                self._aggregate_id(),
                first,
                "missing",
                "no event and no hash recorded",
                last if last > first else None,
            )
        )
        self._previous = self._folded = None

    def _suspect(self, link: Link, previous: bytes) -> None:
        if len(self._suspects) < MAX_SUSPECTS:
            self._suspects.append(_Suspect(link, previous))
        else:
            self._broken_link(link.version, "altered", _altered(link))

    def _end_aggregate(self) -> None:
        if self._aggregate is None:
            return
        head = self._head
        if head is not None and self._expected <= head.version:
            detail = (
                f"the checkpoint's head is version {head.version},"
                f" the store ends at version {self._expected - 1}"
            )
            self._broken_link(head.version, "missing", detail)
        for suspect in self._suspects:
            origin = next((s for s in self._suspects if _holds(suspect, s)), None)
            if origin is None:
                self._broken_link(suspect.link.version, "altered", _altered(suspect.link))
            else:
                detail = f"holds the event recorded as version {origin.link.version}"
                self._broken_link(suspect.link.version, "reordered", detail)
        for broken in sorted(self._broken_links, key=lambda b: b.version):
            self.report(broken)
        self._suspects.clear()
        self._broken_links.clear()

    def _broken_link(self, version: int, kind: str, detail: str) -> None:
        self._broken_links.append(BrokenLink(self._aggregate_id(), version, kind, detail))

    def _aggregate_id(self) -> UUID:
        assert self._aggregate is not None
        return self._aggregate


def _holds(suspect: _Suspect, other: _Suspect) -> bool:
    """Whether `suspect`'s stored event is the one recorded at `other`'s version."""
    if suspect is other or other.link.recorded_position is None:
        return False
    event, recorded = suspect.link, other.link
    assert event.state is not None
    topics = {t for t in (event.topic, recorded.topic) if t is not None}
    return any(
        link_hash(
            other.previous,
            other.link.recorded_position,
            recorded.aggregate_id,
            recorded.version,
            topic,
            event.state,
        )
        == recorded.recorded
        for topic in topics
    )


def _altered(link: Link) -> str:
    if link.position != link.recorded_position:
        return f"stored at position {link.position}, recorded at {link.recorded_position}"
    return "payload, metadata or type no longer match the recorded hash"


class CheckpointDigest:
    """One sha256 over a checkpoint's time, contexts and heads, in a canonical encoding
    (each element tagged, each field length-prefixed); feed contexts by name, heads by id."""

    def __init__(self, created_at: str) -> None:
        self._sha = hashlib.sha256(b"paystream.checkpoint.v1")
        self._sha.update(b"T" + length_prefixed(created_at.encode()))

    def context(self, name: str, max_position: int) -> None:
        self._sha.update(
            b"C" + length_prefixed(name.encode()) + length_prefixed(max_position.to_bytes(8, "big"))
        )

    def head(self, aggregate_id: UUID, version: int, digest: bytes) -> None:
        fields = (aggregate_id.bytes, version.to_bytes(8, "big"), digest)
        self._sha.update(b"H" + b"".join(map(length_prefixed, fields)))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()
