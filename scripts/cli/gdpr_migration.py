"""`paystream gdpr seal-plaintext`: seal the personal fields of events and snapshots
stored before sealing existed, re-hash the chains that changed, and write a checkpoint
that records their old and new heads (eventstore/personal_data/plaintext_migration.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import TaskID

from eventstore.contexts import Context
from eventstore.operator_log import Actor
from eventstore.personal_data.kek import KekError
from eventstore.personal_data.kek_check import verified_kek
from eventstore.personal_data.plaintext_migration import (
    CannotSeal,
    SealedContext,
    seal_stores,
)
from eventstore.personal_data.plaintext_migration import Progress as ScanProgress
from eventstore.personal_data.schema import ROLE
from eventstore.settings import DatabaseSettings
from scripts.cli.audit_verify import atomic_text, write_checkpoint
from scripts.cli.database import reachable_database
from scripts.cli.errors import FOUND_PROBLEMS, CliError
from scripts.cli.gdpr import gdpr_app
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import OPERATORS, recorded
from scripts.plural import counted

COMMAND = "gdpr seal-plaintext"


def register(app: typer.Typer) -> None:
    """Add the command to `paystream gdpr` (which scripts.cli.gdpr registers on `app`)."""
    gdpr_app.command("seal-plaintext")(seal_plaintext)


def seal_plaintext(
    checkpoint: Annotated[
        str,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="A new file for the checkpoint recording each rewritten chain's old and new head.",
        ),
    ],
) -> None:
    """Seal personal fields stored in plaintext before sealing, in events and snapshots,
    and re-hash their chains (recorded)."""
    target = new_file(Path(checkpoint))
    db = reachable_database(ROLE)
    try:
        kek = verified_kek(db.role_conninfo(ROLE))
    except KekError as error:
        raise CliError(str(error)) from None
    out = Console(soft_wrap=True, markup=False, highlight=False)
    with recorded(COMMAND, {"checkpoint": checkpoint}, OPERATORS) as actor:
        try:
            sealed = seal_with_progress(out, lambda progress: seal_stores(db, kek, progress))
        except CannotSeal as error:
            raise CliError(f"nothing sealed: {error}", FOUND_PROBLEMS) from None
        if not any(part.events or part.snapshots for part in sealed):
            out.print("nothing to seal: no personal field is stored in plaintext")
            return
        digest = write_sealed_checkpoint(target, db, supersedes(sealed, actor))
    out.print(summary(sealed, target, digest))


def write_sealed_checkpoint(target: Path, db: DatabaseSettings, section: dict[str, Any]) -> str:
    """The checkpoint, with `section` as its `supersedes`; its digest. The store is sealed
    by now: if the file cannot be written, the section goes to stdout so it is not lost."""
    try:
        with atomic_text(target) as file:
            digest, _ = write_checkpoint(file, db, section)
    except (OSError, CliError) as error:
        sys.stdout.write(orjson.dumps({"supersedes": section}).decode() + "\n")
        raise CliError(
            f"sealed, but the checkpoint could not be written to {target} ({error});"
            " its supersedes section is on stdout: keep it, and run `paystream audit checkpoint`"
        ) from None
    return digest


def new_file(target: Path) -> Path:
    """`target`, refused unless it is a new file in a writable directory."""
    if target.exists():
        raise CliError(f"{target} exists: name a new file for the checkpoint")
    directory = target.parent
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        raise CliError(f"cannot write {target}: {directory} is not a writable directory")
    return target


def seal_with_progress(
    out: Console, run: Callable[[ScanProgress], list[SealedContext]]
) -> list[SealedContext]:
    """Run the migration with one bar per context (events read of the context's events)."""
    with progress_bar(out, "events") as progress:
        tasks: dict[str, TaskID] = {}

        def advance(context: Context, done: int, total: int) -> None:
            if context.name not in tasks:
                tasks[context.name] = progress.add_task(f"seal {context.name}", total=total)
            progress.update(tasks[context.name], completed=done, total=total)

        return run(advance)


def supersedes(sealed: list[SealedContext], actor: Actor) -> dict[str, Any]:
    """What the checkpoint says the migration changed: who, when, each chain's heads."""
    return {
        "command": COMMAND,
        "by": {"subject": actor.subject, "client_id": actor.client_id},
        "sealed_at": datetime.now(UTC).isoformat(),
        "contexts": {
            part.context.name: {
                str(chain.aggregate_id): {
                    "from_version": chain.from_version,
                    "old": {"version": chain.old_head.version, "hash": chain.old_head.hash.hex()},
                    "new": {"version": chain.new_head.version, "hash": chain.new_head.hash.hex()},
                }
                for chain in part.chains
            }
            for part in sealed
        },
    }


def summary(sealed: list[SealedContext], target: Path, digest: str) -> str:
    events = sum(part.events for part in sealed)
    snapshots = sum(part.snapshots for part in sealed)
    chains = sum(len(part.chains) for part in sealed)
    return (
        f"sealed {counted(events, 'event')} and {counted(snapshots, 'snapshot')},"
        f" re-hashed {counted(chains, 'chain')}; checkpoint written to {target}, digest {digest}"
    )
