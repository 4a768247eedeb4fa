"""SQL helpers shared by the store's query modules: the dialect's INSERT, a safe rowcount, and the
pieces that let a bulk write or read run as one step of the database engine.

Why one step: SQLite's driver lets go of the GIL for every step of a statement (each row an
``executemany`` writes, each row fetched) and must win it back before the next. Beside the busy
sending loop each of those hand-overs waits, and work done inside one step runs on the other
core while the loop sends. So the store's bulk paths bind a list of ids as one parameter
(``among``), write with ``INSERT … SELECT`` and read many rows as one JSON array
(``fetch_rows``). This module must not hold queries of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Select, String, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def insert_for(session: Session) -> Any:
    """The INSERT construct of the session's dialect (for ON CONFLICT clauses)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE matched; 0 when the driver does not say."""
    return int(getattr(result, "rowcount", 0) or 0)


def among(session: Session, column: Any, values: Iterable[int]) -> ColumnElement[bool]:
    """``column IN values``, the integers bound as one parameter (a JSON array on SQLite, an
    array on PostgreSQL): the statement stays the same for 5 ids or 10,000, so it is compiled
    once, where an expanding ``IN`` is rendered anew each time, one parameter per value."""
    listed = [int(v) for v in values]
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam("among", listed, postgresql.ARRAY(BigInteger), unique=True)
        return cast("ColumnElement[bool]", column == any_(array))
    listed_json = bindparam("among", json.dumps(listed), String, unique=True)
    each = func.json_each(listed_json).table_valued("value")
    return cast("ColumnElement[bool]", column.in_(select(each.c.value)))


def fetch_rows(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``statement``, whose columns must be integers, text or NULL. On SQLite they
    come as one JSON array the engine builds (one step); elsewhere as rows."""
    if session.get_bind().dialect.name != "sqlite":
        return [tuple(row) for row in session.execute(statement)]
    inner = statement.subquery()
    packed = session.scalar(select(func.json_group_array(func.json_array(*inner.c))))
    return [tuple(row) for row in json.loads(packed or "[]")]


class RandomHex(FunctionElement[str]):
    """32 random hexadecimal digits made by the database, one value per row (128 random bits
    on SQLite; a version 4 UUID's 122 on PostgreSQL)."""

    type = String()
    inherit_cache = True


@compiles(RandomHex, "sqlite")
def _random_hex_sqlite(element: RandomHex, compiler: SQLCompiler, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"


@compiles(RandomHex, "postgresql")
def _random_hex_postgresql(element: RandomHex, compiler: SQLCompiler, **kw: Any) -> str:
    return "replace(gen_random_uuid()::text, '-', '')"
