"""A service logs one JSON object per line, with the ids of the work it logs for, to a
file that is size-capped and rotated: an outage can never fill the disk."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from eventstore.log_context import handling_event, handling_message, log_context
from scripts.service_logs import LogSettings, configure_service_logging, log_uncaught
from tests.support.log_records import FIELDS, json_lines

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    with warnings.catch_warnings():
        yield
    logging.captureWarnings(False)
    for handler in root.handlers:
        handler.close()
    root.handlers, root.level, sys.excepthook = handlers, level, hook


@pytest.fixture
def log_file(tmp_path: Path, restore_logging: None) -> Path:
    """The JSON log file of a service named saga."""
    path = tmp_path / "saga.log"
    configure_service_logging("saga", LogSettings(file=str(path)))
    return path


@pytest.mark.usefixtures("restore_logging")
def test_the_log_file_rotates_at_its_size_cap_and_keeps_few_old_files(tmp_path: Path) -> None:
    log_file = tmp_path / "projector.log"
    configure_service_logging(
        "projector", LogSettings(file=str(log_file), max_bytes=2_000, backups=2)
    )
    for line in range(500):
        logging.getLogger("paystream.test").warning("line %d of a long outage", line)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["projector.log", "projector.log.1", "projector.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2_000 for name in files)
    assert "line 499 of a long outage" in log_file.read_text()


def test_libraries_that_log_every_attempt_are_quieted(log_file: Path) -> None:
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("psycopg.pool").isEnabledFor(logging.WARNING)
    assert logging.getLogger("paystream.saga").isEnabledFor(logging.INFO)


def test_each_line_is_one_json_object_with_every_field(log_file: Path) -> None:
    logging.getLogger("paystream.saga").info("payment %s completed", "p-1", extra={"step": 3})
    logging.getLogger("uvicorn.error").warning("a library's line")
    ours, library = json_lines(log_file)
    assert ours.keys() >= FIELDS and library.keys() >= FIELDS
    assert ours["message"] == "payment p-1 completed"
    assert (ours["service"], ours["level"], ours["logger"]) == ("saga", "INFO", "paystream.saga")
    assert ours["step"] == 3
    assert (library["logger"], library["level"]) == ("uvicorn.error", "WARNING")
    assert datetime.fromisoformat(ours["time"]).utcoffset() == UTC.utcoffset(None)
    assert ours["correlation_id"] is ours["trace_id"] is ours["span_id"] is None


def test_a_line_carries_the_ids_of_the_work_it_is_logged_for(log_file: Path) -> None:
    with log_context("req-1", TRACEPARENT):
        logging.getLogger("paystream.requests").info("POST /accounts 201")
    with handling_event({"correlation_id": "pay-7", "traceparent": None}):
        logging.getLogger("paystream.projector").warning("handler failed")
    with handling_message({"Paystream-Correlation-Id": "pay-8", "traceparent": TRACEPARENT}):
        logging.getLogger("paystream.saga").warning("accounts API unavailable")
    logging.getLogger("paystream.saga").info("after")
    request, event, message, after = json_lines(log_file)
    assert (message["correlation_id"], message["span_id"]) == ("pay-8", "b7ad6b7169203331")
    assert request["correlation_id"] == "req-1"
    assert (request["trace_id"], request["span_id"]) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert (event["correlation_id"], event["trace_id"]) == ("pay-7", None)
    assert after["correlation_id"] is None


def test_inside_an_active_span_a_line_carries_that_spans_ids(log_file: Path) -> None:
    tracer = TracerProvider().get_tracer("test")  # a provider of its own, not the global
    with log_context("req-3", TRACEPARENT), tracer.start_as_current_span("apply") as span:
        logging.getLogger("paystream.projector").info("applied")
    (line,) = json_lines(log_file)
    ids = span.get_span_context()
    assert line["correlation_id"] == "req-3"
    assert (line["trace_id"], line["span_id"]) == (f"{ids.trace_id:032x}", f"{ids.span_id:016x}")


def test_a_traceparent_that_is_not_w3c_gives_no_trace_ids(log_file: Path) -> None:
    with log_context("req-2", "00-not-a-trace-01"):
        logging.getLogger("paystream.requests").info("GET /accounts/x 404")
    (line,) = json_lines(log_file)
    assert (line["correlation_id"], line["trace_id"], line["span_id"]) == ("req-2", None, None)


def test_an_exception_is_one_line_with_its_traceback_in_a_field(log_file: Path) -> None:
    try:
        raise ValueError("the ledger does not balance")
    except ValueError:
        logging.getLogger("paystream.projector").exception("batch failed")
    (line,) = log_file.read_text().splitlines()
    logged = json.loads(line)
    assert logged["message"] == "batch failed"
    assert logged["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: the ledger does not balance" in logged["exception"]


def test_an_uncaught_exception_is_logged_as_one_line(log_file: Path) -> None:
    assert sys.excepthook is log_uncaught
    try:
        raise RuntimeError("no database")
    except RuntimeError as error:
        sys.excepthook(RuntimeError, error, error.__traceback__)
    (logged,) = json_lines(log_file)
    assert (logged["level"], logged["message"]) == ("CRITICAL", "uncaught RuntimeError")
    assert "RuntimeError: no database" in logged["exception"]


def test_a_python_warning_is_logged_as_one_line(log_file: Path) -> None:
    warnings.simplefilter("always")
    warnings.warn("ORJSONResponse is deprecated", DeprecationWarning, stacklevel=1)
    (logged,) = json_lines(log_file)
    assert (logged["logger"], logged["level"]) == ("py.warnings", "WARNING")
    assert "DeprecationWarning: ORJSONResponse is deprecated" in logged["message"]
