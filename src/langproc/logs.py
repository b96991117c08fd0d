"""Structured logging: one line per event, with its fields; JSON for machines on request."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

from langproc.settings import LogFormat, Settings

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

# The id of the HTTP request being answered, added to every log line written for it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class _RedactAccessToken(logging.Filter):
    """Keeps `?access_token=` (event streams' credential) out of uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_access_token(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def redact_access_token(target: str) -> str:
    """A request target with the value of every `access_token` parameter replaced."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = [
        "access_token=[redacted]"
        if unquote_plus(part.partition("=")[0]).strip() == "access_token"
        else part
        for part in query.split("&")
    ]
    return f"{path}?{'&'.join(parts)}"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        at = self.formatTime(record, "%H:%M:%S")
        line = f"{at} {record.levelname:<7} {record.getMessage()} {fields}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.rstrip()


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if settings.log_format == LogFormat.JSON else ConsoleFormatter()
    )
    handler.formatter.converter = __import__("time").gmtime  # type: ignore[union-attr]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactAccessToken) for f in access.filters):
        access.addFilter(_RedactAccessToken())
