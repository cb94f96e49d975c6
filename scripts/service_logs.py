"""Where a service's log goes: a size-capped, rotated file when one is named, else stderr.

`paystream up` and the test stacks name the file (PAYSTREAM_LOG_FILE); a service run
by hand or in a container logs to stderr, where the platform collects it.
"""

from __future__ import annotations

import logging
import logging.handlers

from pydantic_settings import BaseSettings, SettingsConfigDict

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
# Libraries that log every request, or every failed reconnect or retry attempt; our
# own outage logging (eventstore/outages.py) reports failures once, then summarises.
CHATTY_LOGGERS = ("psycopg.pool", "nats.aio.client", "httpx", "stamina")


class LogSettings(BaseSettings):
    """PAYSTREAM_LOG_FILE, PAYSTREAM_LOG_MAX_BYTES, PAYSTREAM_LOG_BACKUPS."""

    model_config = SettingsConfigDict(env_prefix="paystream_log_", extra="ignore")

    file: str = ""
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3


def configure_service_logging(settings: LogSettings | None = None) -> None:
    """Log INFO and above, to the rotated file if one is named."""
    settings = settings or LogSettings()
    handler: logging.Handler
    if settings.file:
        handler = logging.handlers.RotatingFileHandler(
            settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups
        )
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
