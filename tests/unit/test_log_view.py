"""`paystream up` shows each service's JSON log lines readable, after the service's
prefix in its own colour; without colour when the output is not a terminal or
NO_COLOR is set."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from scripts.devstack.log_view import colour_of, readable

LINE = json.dumps(
    {
        "time": "2026-12-02T03:12:01.532117+00:00",
        "service": "accounts-api",
        "level": "INFO",
        "logger": "paystream.requests",
        "message": "POST /accounts 201",
        "correlation_id": "c-42",
        "trace_id": None,
        "span_id": None,
        "status": 201,
    }
)
FAILED = json.dumps(
    {
        "time": "2026-12-02T03:12:02+00:00",
        "level": "ERROR",
        "message": "batch failed",
        "exception": "Traceback (most recent call last):\nValueError: no",
    }
)
ANSI_CYAN, ANSI_RESET = "\x1b[36m", "\x1b[0m"


def shown(line: str, console: Console) -> str:
    console.print(readable("saga", 12, colour_of(0), line), soft_wrap=True, highlight=False)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, color_system="standard")


def test_a_json_line_reads_as_prefix_time_level_message_and_fields() -> None:
    text = readable("accounts-api", 14, "cyan", LINE)
    assert text.plain == (
        "accounts-api   | 03:12:01 INFO POST /accounts 201 correlation_id=c-42 status=201"
    )


def test_a_traceback_follows_on_lines_of_its_own_each_prefixed() -> None:
    text = readable("projector", 9, "green", FAILED)
    assert text.plain.splitlines() == [
        "projector | 03:12:02 ERROR batch failed",
        "projector | Traceback (most recent call last):",
        "projector | ValueError: no",
    ]


def test_a_message_of_several_lines_gives_several_each_prefixed() -> None:
    record = json.loads(LINE) | {"message": "deprecated\n  return call()", "status": None}
    text = readable("saga", 4, "cyan", json.dumps(record))
    assert text.plain.splitlines() == [
        "saga | 03:12:01 INFO deprecated",
        "saga |   return call() correlation_id=c-42",
    ]


def test_a_line_that_is_not_json_is_shown_as_it_is() -> None:
    assert readable("saga", 4, "cyan", "Traceback (most").plain == "saga | Traceback (most"


def test_each_service_has_its_colour_and_the_prefix_is_coloured_on_a_terminal() -> None:
    assert colour_of(0) != colour_of(1)
    output = shown(LINE, terminal())
    assert output.startswith(f"{ANSI_CYAN}saga         | {ANSI_RESET}03:12:01 INFO POST")


def test_no_colour_when_the_output_is_not_a_terminal() -> None:
    output = shown(LINE, Console(file=io.StringIO()))
    assert "\x1b[" not in output
    assert output.startswith("saga         | 03:12:01 INFO POST /accounts 201")


def test_no_colour_with_no_color_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    output = shown(LINE, Console(file=io.StringIO(), force_terminal=True))
    assert "\x1b[3" not in output
    assert output.startswith("saga         | 03:12:01 INFO")
