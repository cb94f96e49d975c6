"""How a service logs: one JSON object per line, to a size-capped, rotated file when one
is named, else to stderr.

`paystream up` and the test stacks name the file (PAYSTREAM_LOG_FILE); a service run
by hand or in a container logs to stderr, where the platform collects it. Every line,
ours or a library's (uvicorn, psycopg, nats-py), has the same fields: time (UTC, ISO
8601), service, level, logger, message, correlation_id, trace_id and span_id (of the
request or event being handled, eventstore/log_context.py; null outside one), fields
passed as `extra`, and a traceback as the one string field `exception`.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import warnings
from types import TracebackType

from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.orjson import OrjsonFormatter

from eventstore.log_context import current_log_context

CONTEXT_FIELDS = ("correlation_id", "trace_id", "span_id")
FIELDS = ("levelname", "name", "message", *CONTEXT_FIELDS)
RENAMED = {"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"}
# Libraries that log every request, or every failed reconnect or retry attempt; our
# own outage logging (eventstore/outages.py) reports failures once, then summarises.
CHATTY_LOGGERS = ("psycopg.pool", "nats.aio.client", "httpx", "stamina")


class LogSettings(BaseSettings):
    """PAYSTREAM_LOG_FILE, PAYSTREAM_LOG_MAX_BYTES, PAYSTREAM_LOG_BACKUPS."""

    model_config = SettingsConfigDict(env_prefix="paystream_log_", extra="ignore")

    file: str = ""
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3


class LogContextFilter(logging.Filter):
    """Stamps each record, as it is logged, with the ids of the work it is logged for."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_log_context()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, getattr(context, name))
        return True


def json_formatter(service: str) -> logging.Formatter:
    """One JSON object per line, with the fields above (time and service first)."""
    return OrjsonFormatter(
        FIELDS,
        rename_fields=RENAMED,
        defaults={"time": None, "service": service},  # the time is filled in at the end
        timestamp="time",
    )


def configure_service_logging(service: str, settings: LogSettings | None = None) -> None:
    """Log INFO and above as JSON lines, to the rotated file if one is named; Python's
    warnings and an uncaught exception too, each as one line."""
    settings = settings or LogSettings()
    handler: logging.Handler
    if settings.file:
        handler = logging.handlers.RotatingFileHandler(
            settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups
        )
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(json_formatter(service))
    handler.addFilter(LogContextFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.captureWarnings(True)
    # FastAPI deprecated ORJSONResponse, which every app still answers with; the warning
    # came once per app at each start. Dropping the response class is issue 13's work.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")
    sys.excepthook = log_uncaught


def log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """The last words of a service that crashed, as a log line like the others."""
    logging.getLogger("paystream").critical("uncaught %s", kind.__name__, exc_info=error)
