"""Subscriber queries the stages share: who follows a source, who gets operators' alerts.

Each function takes a Session; the caller owns the transaction. Subscribers are written by
``worker.store.sources.sync_config`` from the config file; this module only reads them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.store.tables import SubscriberRow


def ops_alert_subscribers(session: Session) -> list[SubscriberRow]:
    return list(
        session.scalars(
            select(SubscriberRow).where(
                SubscriberRow.enabled.is_(True), SubscriberRow.ops_alerts.is_(True)
            )
        )
    )


def source_subscribers(session: Session, source_name: str) -> list[Any]:
    """Enabled subscribers (any mode) who follow ``source_name`` (or every source).

    Plain rows (``id``, ``channel``, ``mode``, ``sources``, ``options``), not ORM objects: a
    fan-out may read ten thousand of them.
    """
    rows = session.execute(
        select(
            SubscriberRow.id, SubscriberRow.channel, SubscriberRow.mode,
            SubscriberRow.sources, SubscriberRow.options,
        ).where(SubscriberRow.enabled.is_(True))
    )  # fmt: skip
    return [row for row in rows if not row.sources or source_name in row.sources]


def subscriber_by_name(session: Session, name: str) -> SubscriberRow | None:
    return session.scalar(select(SubscriberRow).where(SubscriberRow.name == name))
