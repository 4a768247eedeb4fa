"""SQL helpers shared by the store's query modules: the dialect's INSERT and a safe rowcount.

This module must not hold queries of its own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session) -> Any:
    """The INSERT construct of the session's dialect (for ON CONFLICT clauses)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE matched; 0 when the driver does not say."""
    return int(getattr(result, "rowcount", 0) or 0)
