"""A service's log file is size-capped and rotated: an outage can never fill the disk."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.service_logs import LogSettings, configure_service_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers, root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
def test_the_log_file_rotates_at_its_size_cap_and_keeps_few_old_files(tmp_path: Path) -> None:
    log_file = tmp_path / "projector.log"
    configure_service_logging(LogSettings(file=str(log_file), max_bytes=2_000, backups=2))
    for line in range(500):
        logging.getLogger("paystream.test").warning("line %d of a long outage", line)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["projector.log", "projector.log.1", "projector.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2_000 for name in files)
    assert "line 499 of a long outage" in log_file.read_text()


@pytest.mark.usefixtures("restore_logging")
def test_libraries_that_log_every_attempt_are_quieted(tmp_path: Path) -> None:
    configure_service_logging(LogSettings(file=str(tmp_path / "saga.log")))
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("psycopg.pool").isEnabledFor(logging.WARNING)
    assert logging.getLogger("paystream.saga").isEnabledFor(logging.INFO)
