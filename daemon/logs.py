"""Logging set-up: one `configure()` at start, JSON off a TTY, secrets scrubbed.

Every log line goes to stderr, so a command's output on stdout can be piped.

structlog renders our own events; the standard library's loggers (aiohttp,
asyncpg, APScheduler) go through structlog's `ProcessorFormatter`, so every
line has one format. Request-scoped values (the request id) travel in
contextvars and are merged into every line. A processor replaces any
configured secret that slips into a value with `[redacted]`, so even a
careless log call cannot leak one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog
from aiohttp import web

_REDACTED = "[redacted]"
# Secrets learned while running (workspaces' keys, decrypted from the database).
_LEARNED: set[str] = set()


def scrub_also(secret: str) -> None:
    """Redact `secret` from every later log line too (a key read at run time)."""
    if len(secret) >= 4:
        _LEARNED.add(secret)


class SecretScrubber:
    """Processor that removes known secret strings from every event value."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = tuple(s for s in secrets if len(s) >= 4)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in (*self._secrets, *_LEARNED):
                if secret in value:
                    value = value.replace(secret, _REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        return value

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if not self._secrets and not _LEARNED:
            return event
        return {k: self._clean(v) for k, v in event.items()}


class ClientFaultsAreNotServerErrors(logging.Filter):
    """aiohttp logs "Unhandled exception" with a traceback when the body of a request
    we answered without reading it (a refused webhook secret) turns out not to decode
    as its Content-Encoding says while it drains it. That is the client's fault: one
    warning line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, web.RequestPayloadError):
            record.msg, record.args = "http.client_body_invalid: %s", (str(exc).strip(),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (tests replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    """A logger on the current `sys.stderr` (resolved per logger: tests replace it)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(*, fmt: str, level: str, secrets: Iterable[str] = ()) -> None:
    """Configure structlog and route the standard library's loggers through it."""
    numeric = logging.getLevelName(level.upper())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    scrub = SecretScrubber(secrets)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, scrub, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.addFilter(ClientFaultsAreNotServerErrors())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, scrub, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries are chatty at info; their warnings and errors are what ops need.
    root.setLevel(max(numeric, logging.WARNING))
