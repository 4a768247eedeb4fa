"""Logging: the message, then the structured keys a record carries (``key=value``), redacted.

Stages log with ``extra={"source": …, "article_url": …, "delivery_id": …}``; this module makes
those keys visible. Every handler herald sets up, and every handler Celery sets up (through the
signals connected in ``worker.celery_app``), carries ``RedactingFilter``: a record's rendered
message, its structured keys and its exception text pass through ``worker.redact.redact_text``
before any handler writes them. This module must never log a secret itself, and must not
decide what is secret (``worker.redact`` does).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from worker.redact import redact_text

STRUCTURED_KEYS = ("source", "article_url", "delivery_id", "subscriber", "pending_id")
DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("alembic", "urllib3", "trafilatura", "htmldate", "courlan")


class RedactingFilter(logging.Filter):
    """Replaces a record's message and arguments by the redacted rendering, and redacts its
    structured keys, exception and stack text. Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, redacted, not the error
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact_text(message), None
        for key in STRUCTURED_KEYS:
            value = getattr(record, key, None)
            if isinstance(value, str):
                setattr(record, key, redact_text(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class KeyValueFormatter(logging.Formatter):
    """Appends ``key=value`` for each structured key present on the record."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        pairs = [f"{key}={getattr(record, key)}" for key in STRUCTURED_KEYS if hasattr(record, key)]
        return f"{text} {' '.join(pairs)}" if pairs else text


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (it may be replaced)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def redact_handlers(logger: logging.Logger) -> None:
    """Give every handler of ``logger`` the redacting filter (once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def use_key_value_format(logger: logging.Logger) -> None:
    """Give every handler of ``logger`` the key=value formatter, keeping its format string."""
    for handler in logger.handlers:
        fmt = handler.formatter._fmt if handler.formatter else DEFAULT_FORMAT
        handler.setFormatter(KeyValueFormatter(fmt))


def setup_logging(level: int = logging.INFO) -> None:
    """Logging for the CLI: stderr, key=value extras, redacted, quiet third-party chatter.

    Called again, it only changes the level."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        handler.setFormatter(KeyValueFormatter(DEFAULT_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    redact_handlers(root)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
