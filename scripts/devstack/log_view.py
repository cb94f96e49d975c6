"""A service's JSON log line made readable for `paystream up`'s terminal, as compose does:
`accounts-api | 03:12:01 INFO POST /accounts 201 correlation_id=c-42 status=201`, the
prefix in the service's own colour (rich leaves colour out when the output is not a
terminal, or NO_COLOR is set), a traceback on the lines after, each prefixed too."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text

PALETTE = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow")
LEVEL_STYLES = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}
# Shown in their own places, or too long to be worth a terminal's width.
NOT_SHOWN_AS_FIELDS = frozenset(
    {"time", "service", "level", "logger", "message", "exception", "stack", "trace_id", "span_id"}
)


def colour_of(index: int) -> str:
    """The colour of the `index`th service's prefix."""
    return PALETTE[index % len(PALETTE)]


def readable(name: str, width: int, colour: str, line: str) -> Text:
    """One log line (a JSON object, or any other text as is) after its service's prefix;
    a message or traceback of several lines gives several, each prefixed."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    body = described(record) if isinstance(record, dict) else Text(line)
    prefix = Text.assemble((f"{name:<{width}} | ", colour))
    return Text("\n").join(prefix + part for part in body.split("\n", allow_blank=True))


def described(record: dict[str, Any]) -> Text:
    """`03:12:01 INFO message key=value ...` (the time in UTC, as logged), then the
    traceback if there is one."""
    level = str(record.get("level", ""))
    fields = " ".join(
        f"{key}={value}"
        for key, value in record.items()
        if key not in NOT_SHOWN_AS_FIELDS and value is not None
    )
    traceback = str(record.get("exception") or record.get("stack") or "").rstrip("\n")
    return Text.assemble(
        f"{clock(record.get('time'))} ",
        (level, LEVEL_STYLES.get(level, "")),
        f" {record.get('message', '')}",
        f" {fields}" if fields else "",
        f"\n{traceback}" if traceback else "",
    )


def clock(time: object) -> str:
    """HH:MM:SS of an ISO 8601 time, or the value as it is."""
    try:
        return datetime.fromisoformat(str(time)).strftime("%H:%M:%S")
    except ValueError:
        return str(time)
