"""Named integer counters (the feeds generation) and a debounce slot shared by all workers.

Each function takes a Session; the caller owns the transaction. This module must not read or write
any table other than counters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.store._sql import insert_for, rowcount
from worker.store.tables import CounterRow

FEEDS_GENERATION = "feeds.generation"
FEEDS_BUILT = "feeds.built"
FEEDS_SCHEDULED = "feeds.scheduled"


def get_counter(session: Session, name: str) -> int:
    return int(session.scalar(select(CounterRow.value).where(CounterRow.name == name)) or 0)


def bump_counter(session: Session, name: str) -> None:
    result = session.execute(
        update(CounterRow).where(CounterRow.name == name).values(value=CounterRow.value + 1)
    )
    if rowcount(result) == 0:
        set_counter(session, name, 1)


def set_counter(session: Session, name: str, value: int) -> None:
    statement = insert_for(session)(CounterRow).values(name=name, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"value": value}))


def claim_counter_slot(session: Session, name: str, now: datetime, spacing: float) -> bool:
    """True for at most one caller per ``spacing`` seconds (a debounce shared by all workers)."""
    stamp = int(now.timestamp() * 1000)
    seed = insert_for(session)(CounterRow).values(name=name, value=0)
    session.execute(seed.on_conflict_do_nothing())
    result = session.execute(
        update(CounterRow)
        .where(CounterRow.name == name, CounterRow.value <= stamp - int(spacing * 1000))
        .values(value=stamp)
    )
    return rowcount(result) == 1
