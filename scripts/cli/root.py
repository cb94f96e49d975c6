"""The `paystream` command line: every command group registers itself on the root app
here, in one direction (a group never imports this module)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from scripts.cli import (
    audit,
    bench,
    compose,
    gateway,
    gdpr,
    gdpr_migration,
    projections,
    provision,
    rebuild,
    replay,
    serve,
    token,
    top,
    up,
)
from scripts.cli.errors import CommandGroup

app = CommandGroup(
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Paystream: run the system, operate its read models, audit its events.",
)
for group in (
    up,
    top,
    serve,
    token,
    gateway,
    compose,
    provision,
    rebuild,
    projections,
    replay,
    audit,
    gdpr,
    gdpr_migration,
    bench,
):
    group.register(app)


def paystream_version() -> str:
    try:
        return version("paystream")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"paystream {paystream_version()}")
        raise typer.Exit()


@app.callback()
def options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Paystream: run the system, operate its read models, audit its events."""


def main() -> None:
    """The console entry point (`paystream`)."""
    app(prog_name="paystream")
