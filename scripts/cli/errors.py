"""The one way a command fails: one line on stderr and an exit code, never a traceback.

Exit codes, the same in every command: 2 when the command could not do what was asked
(bad input, a missing setting, a database it cannot reach or that stops answering);
1 when it ran and found something wrong (a broken chain, an aggregate that does not
load, an event that does not decode, a service that is down).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from typer.models import CommandFunctionType as CommandFunction

from eventstore.personal_data.kek import KekError
from eventstore.settings import MissingSetting

CANNOT_RUN = 2
FOUND_PROBLEMS = 1

P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """An expected failure: its message on one line of stderr, exit `code`."""

    def __init__(self, message: str, code: int = CANNOT_RUN) -> None:
        super().__init__(message)
        self.code = code


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


def fail(message: str, code: int) -> NoReturn:
    """Print `error: <message>` on one line of stderr and exit with `code`."""
    stderr = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    stderr.print(f"error: {one_line(message)}")
    raise typer.Exit(code)


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """`command`, its expected failures reported by `fail`."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as error:
            fail(str(error), error.code)
        except (MissingSetting, KekError) as error:
            fail(str(error), CANNOT_RUN)
        except (psycopg.Error, PersistenceError) as error:
            fail(f"database error: {error}", CANNOT_RUN)

    return run


class CommandGroup(typer.Typer):
    """A typer app whose every command reports its failures the one way (`reported`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[CommandFunction], CommandFunction]:
        register = super().command(*args, **kwargs)

        def decorator(command: CommandFunction) -> CommandFunction:
            register(reported(command))
            return command

        return decorator
