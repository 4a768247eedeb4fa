"""Engine and session set-up for SQLite (WAL, the embedded default) and PostgreSQL.

It must not define tables (``tables``) or queries (``sources``, ``articles``, ``ledger``,
``counters``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``postgres://`` and use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine; a SQLite file's folder is created, WAL and foreign keys switched on."""
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "future": True,
        "json_serializer": _dump_json,
        "json_deserializer": orjson.loads,
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        kwargs["pool_size"] = 16
        kwargs["max_overflow"] = 16
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.update(pool_pre_ping=True, pool_size=8, max_overflow=16)
    return create_engine(url, **kwargs)


def _dump_json(value: Any) -> str:
    """JSON columns with orjson: the ledger's payloads are the hot path of a fan-out."""
    return orjson.dumps(value).decode("utf-8")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)
