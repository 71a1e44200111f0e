"""Structured logs: a request id on every request, and JSON lines when LOG_FORMAT=json."""

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

# What the current request is, for every log line written while it is handled.
_request = contextvars.ContextVar("firstline_request", default=None)
# A proxy's X-Request-ID is kept when it looks like one; anything else is replaced.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
# LogRecord attributes that are not extra fields given by the caller.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RequestIdMiddleware:
    """Takes the proxy's X-Request-ID (or makes one), echoes it in the response, and makes
    it and the path available to every log line of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")  # request.headers copies them all
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request.set((request_id, request.path))
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `path` to records written while a request is handled, and to
    Django's own records about a request (which it writes once the middleware is done)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request_id"):
            return True
        current = _request.get()
        request = getattr(record, "request", None)
        if current is not None:
            record.request_id, record.path = current
        elif hasattr(request, "request_id"):
            record.request_id, record.path = request.request_id, request.path
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id
    and path when known, the exception's traceback, and the `extra` fields that are plain
    values (not Django's request object, say)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and _jsonable(value):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def _jsonable(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
