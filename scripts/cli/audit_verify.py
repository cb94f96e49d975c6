"""`paystream audit verify|checkpoint`: tamper evidence (hash chains).

verify exits 0 when every chain holds, 1 when anything was altered, removed or reordered,
and 2 when it could not verify (bad input, unreadable checkpoint, database error).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any
from uuid import UUID

import orjson
import psycopg
import typer
from rich.console import Console

from eventstore import chain_check
from eventstore.chain_check import BrokenLink, CheckpointDigest, Head
from eventstore.chain_verification import verify_chains
from eventstore.contexts import CONTEXTS, Context
from eventstore.settings import DatabaseSettings
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, one_line
from scripts.cli.names import contexts_named
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import READERS, recorded
from scripts.plural import counted

FORMAT = "paystream-audit-checkpoint/1"


@dataclass(frozen=True)
class ContextCheckpoint:
    """One context's part of a checkpoint: its max position and the head of each chain."""

    max_position: int
    heads: dict[UUID, Head]


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    digest: str
    contexts: dict[str, ContextCheckpoint]


@dataclass
class Tally:
    """What a verify run checked and found."""

    events: int = 0
    aggregates: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


ContextOption = Annotated[
    str | None, typer.Option("--context", help="Only this context (default: all).")
]


def verify(
    context: ContextOption = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="Also prove nothing recorded before this checkpoint has changed.",
        ),
    ] = None,
) -> None:
    """Recompute every hash chain and report each broken link. Exits 1 if any."""
    out = Console(soft_wrap=True, markup=False, highlight=False)
    contexts = contexts_named(context)
    saved = load_checkpoint(Path(checkpoint)) if checkpoint else None
    if saved is not None:
        unknown = sorted(set(saved.contexts) - set(CONTEXTS))
        if unknown:
            raise CliError(f"checkpoint {checkpoint} names unknown context {unknown[0]!r}")
    with recorded("audit verify", {"context": context, "checkpoint": checkpoint}, READERS):
        db = reachable_database()
        if saved is not None:
            out.print(f"checkpoint {checkpoint}: taken {saved.created_at}, digest {saved.digest}")
        tally = Tally()
        for each in contexts:
            part = saved.contexts.get(each.name) if saved else None
            if saved is not None and part is None:
                out.print(f"{each.name}: not in the checkpoint; its chains are checked without it")
            verify_context(each, db, part, tally, out)
        report(out, tally)
        raise typer.Exit(1 if tally.kinds else 0)


def checkpoint(
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Write the head of every chain and one digest over them. JSON: keep it elsewhere.

    Nothing is written until the whole document is: to stdout in one piece, to a file
    by renaming it into place."""
    with recorded("audit checkpoint", {"output": output}, READERS):
        db = reachable_database()
        if output is None:
            document = io.StringIO()
            write_checkpoint(document, db)
            sys.stdout.write(document.getvalue())
            sys.stdout.flush()
            return
        with atomic_text(Path(output)) as file:
            digest, heads = write_checkpoint(file, db)
    Console(soft_wrap=True, markup=False, highlight=False).print(
        f"checkpoint written to {output}: {counted(heads, 'chain head')}, digest {digest}"
    )


def verify_context(
    context: Context,
    db: DatabaseSettings,
    saved: ContextCheckpoint | None,
    tally: Tally,
    out: Console,
) -> None:
    """Check one context's chains, as its own role, in one snapshot, with a progress bar."""

    def print_broken_link(link: BrokenLink) -> None:
        tally.kinds[link.kind] += 1
        out.print(f"{context.name} {link.aggregate_id} {link.versions} {link.kind}: {link.detail}")

    heads = saved.heads if saved else {}
    started = time.perf_counter()
    try:
        with (
            snapshot(db, context) as conn,
            progress_bar(out, "events", transient=True) as progress,
        ):
            task = progress.add_task(f"verify {context.name}", total=None)
            checker = verify_chains(
                conn,
                context,
                print_broken_link,
                lambda done, total: progress.update(task, completed=done, total=total),
                heads,
                saved.max_position if saved else 0,
            )
    except psycopg.Error as error:
        raise CliError(f"verify of {context.name} stopped: {one_line(str(error))}") from None
    elapsed = time.perf_counter() - started
    tally.events += checker.events
    tally.aggregates += checker.aggregates
    tally.elapsed += elapsed
    in_heads = f", {counted(len(heads), 'checkpoint head')}" if saved else ""
    out.print(
        f"{context.name}: {counted(checker.events, 'event')}"
        f" in {counted(checker.aggregates, 'chain')}{in_heads},"
        f" {elapsed:.2f}s, {checker.events / max(elapsed, 1e-9):,.0f} events/s"
    )


@contextmanager
def snapshot(db: DatabaseSettings, context: Context) -> Iterator[psycopg.Connection[Any]]:
    """A read-only, repeatable-read connection as the context's role: events and hashes
    seen at one instant (they are committed together)."""
    with psycopg.connect(db.role_conninfo(context.role)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        yield conn


def report(out: Console, tally: Tally) -> None:
    """The verdict on one line: counts by kind, events and rate."""
    rate = tally.events / max(tally.elapsed, 1e-9)
    chains = counted(tally.aggregates, "chain")
    checked = f"{counted(tally.events, 'event')} in {chains}, {rate:,.0f} events/s"
    if not tally.kinds:
        out.print(f"OK: every chain verified ({checked})")
        return
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(tally.kinds.items()))
    out.print(f"FAILED: {counted(sum(tally.kinds.values()), 'problem')} ({kinds}); {checked}")


def write_checkpoint(
    file: IO[str], db: DatabaseSettings, supersedes: dict[str, Any] | None = None
) -> tuple[str, int]:
    """Stream a checkpoint of every context to `file`: its digest and how many heads. A
    command that rewrote chains says which in `supersedes` (outside the digest, which
    covers the heads as ever)."""
    created_at = datetime.now(UTC).isoformat()
    digest = CheckpointDigest(created_at)
    file.write(f'{{"format": "{FORMAT}",\n "created_at": "{created_at}",\n "contexts": {{')
    count = 0
    for n, context in enumerate(sorted(CONTEXTS.values(), key=lambda c: c.name)):
        with snapshot(db, context) as conn:
            position = chain_check.max_position(conn, context)
            digest.context(context.name, position)
            separator = "," if n else ""
            file.write(
                f'{separator}\n  "{context.name}": {{"max_position": {position}, "heads": {{'
            )
            for i, (aggregate_id, version, head) in enumerate(
                chain_check.stream_heads(conn, context)
            ):
                digest.head(aggregate_id, version, head)
                file.write(
                    f'{"," if i else ""}\n   "{aggregate_id}":'
                    f' {{"version": {version}, "hash": "{head.hex()}"}}'
                )
                count += 1
            file.write("}}")
    file.write("},")
    if supersedes is not None:
        file.write(f'\n "supersedes": {orjson.dumps(supersedes).decode()},')
    file.write(f'\n "digest": "{digest.hexdigest()}"}}\n')
    return digest.hexdigest(), count


@contextmanager
def atomic_text(target: Path) -> Iterator[IO[str]]:
    """A file that appears at `target` only once completely written."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise CliError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            yield file
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


class InvalidCheckpoint(ValueError):
    """A checkpoint that is not JSON, lacks a part, or whose digest does not match."""


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and check a checkpoint file: its shape, and its digest against its contents."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read checkpoint {path}: {error.strerror or error}") from None
    try:
        return checked_checkpoint(f"checkpoint {path}", content)
    except InvalidCheckpoint as error:
        raise CliError(str(error)) from None


def checked_checkpoint(name: str, content: bytes) -> Checkpoint:
    """A checkpoint's bytes (a file, an upload) checked: its shape, and its digest against
    its contents; InvalidCheckpoint naming `name` and what is wrong otherwise."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise InvalidCheckpoint(f"{name} is not valid JSON: {error}") from None
    try:
        checkpoint = parse_checkpoint(data)
    except KeyError as error:
        raise InvalidCheckpoint(f"{name} is invalid: {error} is missing") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise InvalidCheckpoint(f"{name} is invalid: {error}") from None
    if checkpoint.digest != checkpoint_digest(checkpoint):
        raise InvalidCheckpoint(f"{name} is invalid: its digest does not match its contents")
    return checkpoint


def parse_checkpoint(data: Any) -> Checkpoint:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    created_at, digest, contexts = data["created_at"], data["digest"], data["contexts"]
    if not isinstance(created_at, str) or not isinstance(digest, str):
        raise ValueError("created_at and digest must be strings")
    return Checkpoint(created_at, digest, {str(k): parse_context(v) for k, v in contexts.items()})


def parse_context(data: Any) -> ContextCheckpoint:
    position = data["max_position"]
    if not isinstance(position, int) or position < 0:
        raise ValueError(f"bad max_position {position!r}")
    heads = {}
    for aggregate_id, head in data["heads"].items():
        version, digest = head["version"], bytes.fromhex(head["hash"])
        if not isinstance(version, int) or version < 1 or len(digest) != 32:
            raise ValueError(f"bad head of {aggregate_id}")
        heads[UUID(aggregate_id)] = Head(version, digest)
    return ContextCheckpoint(position, heads)


def checkpoint_digest(checkpoint: Checkpoint) -> str:
    """The digest of a checkpoint's contents, in canonical order (contexts by name, heads
    by id): reordering a file's entries does not change it; changing any value does."""
    digest = CheckpointDigest(checkpoint.created_at)
    for name, part in sorted(checkpoint.contexts.items()):
        digest.context(name, part.max_position)
        for aggregate_id, head in sorted(part.heads.items()):
            digest.head(aggregate_id, head.version, head.hash)
    return digest.hexdigest()
