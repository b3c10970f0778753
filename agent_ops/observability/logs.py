"""Logging set-up: readable text or one JSON object per line, carrying run and thread ids."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_CONTEXT_KEYS = ("run_id", "thread_id", "assistant_id", "worker_id")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line with its context ids."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A plain line, with context ids appended when a record carries them."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(
            f"{key}={getattr(record, key)}" for key in _CONTEXT_KEYS if hasattr(record, key)
        )
        return f"{line} [{ids}]" if ids else line


def configure_logging(level: str, fmt: str) -> None:
    """Send agent-ops logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
