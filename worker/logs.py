"""Log formatting: the message, then the structured keys a record carries (``key=value``).

Stages log with ``extra={"source": …, "article_url": …, "delivery_id": …}``; this module makes
those keys visible. It must never log secrets (no stage passes one).
"""

from __future__ import annotations

import logging

STRUCTURED_KEYS = ("source", "article_url", "delivery_id", "subscriber", "pending_id")
DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class KeyValueFormatter(logging.Formatter):
    """Appends ``key=value`` for each structured key present on the record."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        pairs = [f"{key}={getattr(record, key)}" for key in STRUCTURED_KEYS if hasattr(record, key)]
        return f"{text} {' '.join(pairs)}" if pairs else text


def use_key_value_format(logger: logging.Logger) -> None:
    """Give every handler of ``logger`` the key=value formatter, keeping its format string."""
    for handler in logger.handlers:
        fmt = handler.formatter._fmt if handler.formatter else DEFAULT_FORMAT
        handler.setFormatter(KeyValueFormatter(fmt))


def setup_logging(level: int = logging.INFO) -> None:
    """Logging for the CLI: stderr, key=value extras, quiet third-party chatter."""
    logging.basicConfig(level=level, format=DEFAULT_FORMAT)
    use_key_value_format(logging.getLogger())
    for noisy in ("alembic", "urllib3", "trafilatura", "htmldate", "courlan"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
