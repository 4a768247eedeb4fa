"""The database's clock: lease and due times are read from it, so workers whose clocks disagree
still agree on who holds a row and what is due.

This module must not hold queries other than reading the clock.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session


def db_now(session: Session) -> datetime:
    """The database's current time (UTC, aware). SQLite runs inside this process, so its clock
    is this host's; PostgreSQL is asked (``clock_timestamp()``, not the transaction's start)."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(text("SELECT clock_timestamp()"))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def new_lease_token() -> str:
    """A claim's name: rows claimed together carry it, and only its holder renews or records."""
    return secrets.token_hex(16)
