"""`paystream gdpr check-kek|rotate-kek`: the key-encryption key over every person's data
key (eventstore/personal_data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import psycopg
import typer
from rich.console import Console

from eventstore.personal_data.kek import AesGcmKek, KekError, check_kek_id
from eventstore.personal_data.kek_check import verified_kek
from eventstore.personal_data.kek_providers import ENV, KekSettings, next_kek
from eventstore.personal_data.rotation import rotate_kek
from eventstore.personal_data.schema import ROLE
from scripts.cli.database import reachable_database
from scripts.cli.errors import CliError, CommandGroup
from scripts.cli.progress import progress_bar
from scripts.cli.recorded import OPERATORS, recorded
from scripts.plural import counted

gdpr_app = CommandGroup(no_args_is_help=True, help="Personal data: the keys that protect it.")


def register(app: typer.Typer) -> None:
    app.add_typer(gdpr_app, name="gdpr")


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
