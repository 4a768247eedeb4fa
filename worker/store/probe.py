"""Questions ``herald doctor`` asks the database without changing it: can herald write here,
what time the database thinks it is, and which file a SQLite URL names.

Writes are tried inside a transaction that is always rolled back. This module must not create,
migrate or modify anything.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from worker.store.db import normalise_url

# The tables every stage writes; a role that cannot write them cannot run herald.
WRITTEN_TABLES = ("articles", "deliveries", "pending_items", "outbox")


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (None for other databases and ``:memory:``)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


def why_not_writable(engine: Engine) -> str:
    """ "" when herald can write its tables here, else why not (nothing is written)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            try:
                raw.execute("BEGIN IMMEDIATE")  # takes the write lock a writer needs
                raw.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                return str(exc)
        return ""
    with engine.connect() as conn:  # writes that touch no row, then rolled back
        try:
            for table in WRITTEN_TABLES:
                conn.execute(text(f"INSERT INTO {table} SELECT * FROM {table} WHERE false"))
                conn.execute(text(f"DELETE FROM {table} WHERE false"))
        except DBAPIError as exc:
            return str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        finally:
            conn.rollback()
    return ""


def database_clock(engine: Engine) -> datetime | None:
    """The database server's clock (None for SQLite, which reads this host's)."""
    if engine.dialect.name == "sqlite":
        return None
    with engine.connect() as conn:
        value = conn.scalar(text("SELECT clock_timestamp()"))
    return value if isinstance(value, datetime) else None
