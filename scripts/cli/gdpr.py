"""`paystream gdpr erase|export|check-kek|rotate-kek`: erasing a person's data by
destroying their data key (scripts/personal_data_erasure.py), exporting what is held
about them, and the key-encryption key over every person's data key
(eventstore/personal_data)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from domains.erasure import InvalidErasure, check_erasure_reason
from eventstore.audit_queries import subject_events
from eventstore.contexts import ACCOUNTS, CONTEXTS, PAYMENTS
from eventstore.personal_data.data_keys import UnknownSubject, subject_key
from eventstore.personal_data.kek import AesGcmKek, KekError, check_kek_id
from eventstore.personal_data.kek_check import verified_kek
from eventstore.personal_data.kek_providers import ENV, KekSettings, next_kek
from eventstore.personal_data.rotation import rotate_kek
from eventstore.personal_data.schema import ROLE
from scripts.cli.audit_inspect import json_bytes, unreadable_events
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, CommandGroup
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import OPERATORS, READERS, recorded
from scripts.personal_data_erasure import ErasureReport, erase_subject
from scripts.plural import counted

gdpr_app = CommandGroup(
    no_args_is_help=True,
    help="Personal data: erase or export a person's; the keys.",
)


def register(app: typer.Typer) -> None:
    app.add_typer(gdpr_app, name="gdpr")


@gdpr_app.command("erase")
def erase(
    subject: Annotated[
        str, typer.Argument(help="The data subject: the verified subject who holds accounts.")
    ],
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why (a request's reference): recorded, never the data."),
    ],
) -> None:
    """Erase a person's data for good: destroy their data key, then record the erasure (who,
    when, why) on each of their accounts and payments (recorded; again finishes, adds none)."""
    if not subject.strip():
        raise CliError("the subject must be non-empty")
    try:
        check_erasure_reason(reason)
    except InvalidErasure as error:
        raise CliError(f"--reason: {error}") from None
    db = reachable_database()
    conninfo = db.role_conninfo(ROLE)
    with recorded("gdpr erase", {"subject": subject, "reason": reason}, OPERATORS) as actor:
        try:
            verified_kek(conninfo)  # a wrong KEK stops here, before anything is destroyed
            console = Console()
            with progress_bar(console, "aggregates") as progress:
                task = progress.add_task("recording the erasure", total=None)
                report = erase_subject(
                    db,
                    subject,
                    reason,
                    actor.subject,
                    f"gdpr-erase-{uuid.uuid4()}",
                    lambda done, of: progress.update(task, completed=done, total=of),
                )
        except (KekError, UnknownSubject) as error:
            raise CliError(str(error)) from None
    console.print(_summary(report), markup=False, soft_wrap=True)


def _summary(report: ErasureReport) -> str:
    accounts, payments = report.recorded[ACCOUNTS.name], report.recorded[PAYMENTS.name]
    marked = f"{counted(accounts, 'account')} and {counted(payments, 'payment')}"
    if not report.newly_destroyed:
        return (
            f"subject {report.subject!r} was erased before (data key {report.key_id} is"
            f" destroyed); erasure recorded now on {marked} that lacked it"
        )
    return (
        f"erased subject {report.subject!r}: data key {report.key_id} destroyed; erasure"
        f" recorded on {marked}; scrubbed"
        f" {counted(report.fingerprints_scrubbed, 'request fingerprint')}"
        f" and {counted(report.letters_scrubbed, 'dead letter')}; read models"
        " show [erased] once their projectors apply the erasure"
    )


@gdpr_app.command("export")
def export(
    subject: Annotated[
        str, typer.Argument(help="The data subject: the verified subject who holds accounts.")
    ],
) -> None:
    """Everything held about a person, decrypted, as JSON Lines on stdout (`audit export`'s
    format), for a subject access request (recorded; `[erased]` once they are erased)."""
    if not subject.strip():
        raise CliError("the subject must be non-empty")
    db = reachable_database()
    with unreadable_events(), recorded("gdpr export", {"subject": subject}, READERS):
        try:
            with psycopg.connect(db.role_conninfo(ROLE)) as conn:
                key_id, _ = subject_key(conn, subject)
        except UnknownSubject as error:
            raise CliError(str(error)) from None
        events = [e for context in CONTEXTS.values() for e in subject_events(db, context, key_id)]
        sys.stdout.buffer.write(b"".join(json_bytes(e.to_json()) + b"\n" for e in events))
        sys.stdout.buffer.flush()


@gdpr_app.command("check-kek")
def check_kek() -> None:
    """Check that the configured key-encryption key unwraps the stored data keys."""
    conninfo = reachable_database(ROLE).role_conninfo(ROLE)
    try:
        kek = verified_kek(conninfo)
    except KekError as error:
        raise CliError(str(error)) from None
    Console().print(f"KEK {kek.kek_id!r} unwraps the stored data keys", markup=False)


@gdpr_app.command("rotate-kek")
def rotate_kek_command(
    new_kek_id: Annotated[
        str, typer.Option("--new-kek-id", help="The id of the KEK to wrap every data key under.")
    ],
) -> None:
    """Re-wrap every data key under a new key-encryption key, in one transaction (recorded)."""
    conninfo = reachable_database(ROLE).role_conninfo(ROLE)
    try:
        check_kek_id(new_kek_id)
        settings = KekSettings()
        old = verified_kek(conninfo, settings)
        if new_kek_id == old.kek_id:
            raise CliError(f"KEK {new_kek_id!r} is the one in use: name a new one")
        # A variable's key is checked now; a new key file is made once the operator is.
        given = next_kek(new_kek_id, settings) if settings.provider() == ENV else None
    except KekError as error:
        raise CliError(str(error)) from None
    with recorded("gdpr rotate-kek", {"new_kek_id": new_kek_id}, OPERATORS):
        count = _rotate(conninfo, old, lambda: given or next_kek(new_kek_id, settings))
    Console().print(
        f"re-wrapped {counted(count, 'data key')} under KEK {new_kek_id!r}; configure it for"
        f" every service (PAYSTREAM_KEK_ID={new_kek_id}, and PAYSTREAM_KEK for the env"
        " provider) and restart them",
        markup=False,
    )


def _rotate(conninfo: str, old: AesGcmKek, new_kek: Callable[[], AesGcmKek]) -> int:
    console = Console()
    with progress_bar(console, "keys") as progress, psycopg.connect(conninfo) as conn:
        task = progress.add_task("re-wrapping data keys", total=None)
        try:
            new = new_kek()
            return rotate_kek(
                conn, old, new, lambda done, of: progress.update(task, completed=done, total=of)
            )
        except KekError as error:
            raise CliError(str(error)) from None
