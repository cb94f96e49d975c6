"""What services log, read back: the JSON lines of a service process's log file, and
the records of in-process code stamped as a service's log file stamps them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scripts.service_logs import LogContextFilter

# The fields every line has (scripts/service_logs.py).
FIELDS = frozenset(
    {"time", "service", "level", "logger", "message", "correlation_id", "trace_id", "span_id"}
)


def json_lines(*paths: Path) -> list[dict[str, Any]]:
    """Every line of the files, each parsed as the one JSON object it must be."""
    lines = []
    for path in paths:
        if path.exists():
            lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


class Records(logging.Handler):
    """Keeps what is logged, stamped with the log context as a service's log file is."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(LogContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def paystream_records() -> Iterator[list[logging.LogRecord]]:
    """What Paystream's own loggers log, at INFO and above, inside the block."""
    handler, ours = Records(), logging.getLogger("paystream")
    level = ours.level
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        ours.removeHandler(handler)
        ours.setLevel(level)
