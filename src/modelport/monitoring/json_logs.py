"""Structured logs: one JSON object per line, ready for ELK or Loki (``--log-format json``).

Every record carries time, level, logger and message; request lines from the access logger
(``modelport.access``, one per inference call) add request id, model, version, protocol,
status and latency. The access logger is silent unless INFO is enabled for it, which
``--log-format json`` does, so a server without it pays nothing per request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["ACCESS", "REQUEST_FIELDS", "JsonFormatter", "configure_logging"]

ACCESS = logging.getLogger("modelport.access")
REQUEST_FIELDS = ("request_id", "endpoint", "model", "version", "protocol", "status",
                  "latency_ms")


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON; exceptions as one string field."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in REQUEST_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(fmt: str, *, debug: bool = False) -> None:
    """``text``: the human format at WARNING; ``json``: JSON lines, modelport's at INFO."""
    if fmt not in ("text", "json"):
        from modelport.errors import InvalidInput

        raise InvalidInput(f"--log-format must be text or json, got {fmt!r}")
    level = logging.DEBUG if debug else logging.WARNING
    if fmt == "text":
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("modelport").setLevel(logging.DEBUG if debug else logging.INFO)
