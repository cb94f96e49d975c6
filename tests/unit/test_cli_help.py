"""The CLI as a new user meets it: --version, honest and complete help (issue 9, item 5)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperArgument, TyperGroup
from typer.testing import CliRunner

from scripts.cli.root import app


def commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command and group under `group`."""
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if isinstance(command, TyperGroup):
            yield from commands(command, path)


ROOT = typer.main.get_command(app)
assert isinstance(ROOT, TyperGroup)
COMMANDS = [" ".join(path) for path in commands(ROOT)]


def command(path: str) -> Any:
    found: Any = ROOT
    for name in path.split():
        assert isinstance(found, TyperGroup)
        found = found.commands[name]
    return found


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.startswith("paystream ") and result.stdout.count("\n") == 1


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_argument_and_option_says_what_it_is(path: str) -> None:
    found = command(path)

    assert found.help, path
    for param in found.params:
        if isinstance(param, TyperArgument):
            assert getattr(param, "help", None), f"{path}: argument {param.name} has no help"
        else:
            assert getattr(param, "help", None), f"{path}: option {param.name} has no help"


@pytest.mark.parametrize("path", ["", *COMMANDS])
def test_help_shows_a_flag_as_a_flag(path: str) -> None:
    result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout


def test_the_command_list_fits_80_columns_uncut() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "80"})

    commands = result.stdout.split("Commands:")[1]
    assert "..." not in commands, commands


def test_json_is_a_flag_that_takes_no_value() -> None:
    shown = CliRunner().invoke(app, ["projections", "status", "--help"])
    refused = CliRunner().invoke(app, ["projections", "status", "--json=true"])

    assert "  --json  " in shown.stdout
    assert refused.exit_code == 2 and "does not take a value" in refused.stderr


def test_bench_help_speaks_to_users() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "80"})

    assert "Measure throughput on this machine." in result.stdout
    assert "belong here" not in result.stdout and "tests" not in result.stdout
