"""`paystream up` follows each service's log files by name: every line written after it
began is shown once, in order, across the service's restarts and its file's rotations."""

from __future__ import annotations

import io
import logging
import logging.handlers
from pathlib import Path

from rich.console import Console

from scripts.devstack.log_follower import FileTail, LogFollower


def file_logger(path: Path, max_bytes: int = 0) -> logging.handlers.RotatingFileHandler:
    """A service's log handler, as scripts/service_logs.py makes it (formatting aside)."""
    return logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=3)


def log(handler: logging.Handler, message: str) -> None:
    handler.handle(logging.makeLogRecord({"msg": message, "levelno": logging.INFO}))


def test_only_lines_written_after_it_began_are_followed(tmp_path: Path) -> None:
    path = tmp_path / "saga.log"
    path.write_text("from an earlier run\n")
    tail = FileTail.from_end(path)
    with path.open("a") as file:
        file.write("now\nhalf a li")
        file.flush()
        assert tail.new_lines() == ["now"]
        file.write("ne\n")
    assert tail.new_lines() == ["half a line"]
    assert tail.new_lines() == []


def test_a_file_made_after_it_began_is_followed_from_its_start(tmp_path: Path) -> None:
    tail = FileTail.from_end(tmp_path / "relay-accounts.out")
    assert tail.new_lines() == []
    (tmp_path / "relay-accounts.out").write_text("ModuleNotFoundError: nats\n")
    assert tail.new_lines() == ["ModuleNotFoundError: nats"]


def test_no_line_is_lost_or_doubled_across_restarts_and_rotations(tmp_path: Path) -> None:
    path = tmp_path / "accounts-api.log"
    tail = FileTail.from_end(path)
    seen: list[str] = []
    for run in range(3):  # the service, restarted twice, appends to the same file
        handler = file_logger(path, max_bytes=200)
        for number in range(40):
            log(handler, f"run {run} line {number:02d}")
            if number % 7 == 0:
                seen += tail.new_lines()
        handler.close()
    seen += tail.new_lines()
    assert (tmp_path / "accounts-api.log.1").exists()  # it did rotate
    assert seen == [f"run {run} line {number:02d}" for run in range(3) for number in range(40)]


def test_a_truncated_file_is_read_again_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "saga.log"
    tail = FileTail.from_end(path)
    path.write_text("a long first line\n")
    assert tail.new_lines() == ["a long first line"]
    path.write_text("short\n")
    assert tail.new_lines() == ["short"]


def test_the_follower_prints_each_services_lines_after_its_prefix(tmp_path: Path) -> None:
    output = io.StringIO()
    files = {name: [tmp_path / f"{name}.log"] for name in ("saga", "accounts-api")}
    follower = LogFollower(Console(file=output), files)
    (tmp_path / "saga.log").write_text(
        '{"time":"2026-12-02T03:12:01+00:00","level":"INFO","message":"payment completed"}\n'
    )
    (tmp_path / "accounts-api.log").write_text("not json\n")
    follower.stop()  # prints what is left without ever having started
    assert output.getvalue().splitlines() == [
        "saga         | 03:12:01 INFO payment completed",
        "accounts-api | not json",
    ]
