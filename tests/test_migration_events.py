"""Migration 0011 on SQLite and PostgreSQL: a ledger written before it (one payload per row)
comes out with one ``events`` row per event key, every delivery pointing at its event, the
payload claimed as before — and it goes back down without losing a payload."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, text

from worker.store.db import make_engine, make_session_factory
from worker.store.deliveries import claim_deliveries
from worker.store.migrate import alembic_config, upgrade
from worker.store.tables import SubscriberRow


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'herald.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_payloads_move_to_events_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0010")
    now = datetime(2026, 12, 1, 8, 0)
    with engine.begin() as conn:
        conn.execute(insert(SubscriberRow.__table__), [  # the same at 0010 and at 0011
            dict(name=f"s{i}", channel="webhook", url=f"http://127.0.0.1/{i}") for i in (1, 2, 3)
        ])  # fmt: skip
        article, digest = '{"title": "七"}', '{"n": 4}'
        rows = [(1, "article.created:7", article), (2, "article.created:7", article),
                (3, "article.created:7", article), (1, "digest:4:0", digest)]  # fmt: skip
        for n, (sub, key, payload) in enumerate(rows):
            conn.execute(
                text(
                    "INSERT INTO deliveries (event_id, event_key, event_type, subscriber_id,"
                    " payload, status, attempts, next_attempt_at, last_error, created_at)"
                    " VALUES (:e, :k, :t, :s, :p, 'pending', 0, :now, '', :now)"
                ),
                dict(e=f"msg_{n}", k=key, t=key.split(":")[0], s=sub, p=payload, now=now),
            )

    upgrade(engine)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT event_key, event_type FROM events ORDER BY id")).all()
        refs = conn.execute(text(
            "SELECT d.event_id, e.event_key FROM deliveries d JOIN events e ON e.id = d.event_ref"
            " ORDER BY d.id"
        )).all()  # fmt: skip
    assert [tuple(e) for e in events] == [
        ("article.created:7", "article.created"),
        ("digest:4:0", "digest"),
    ]
    assert [tuple(r) for r in refs] == [
        ("msg_0", "article.created:7"), ("msg_1", "article.created:7"),
        ("msg_2", "article.created:7"), ("msg_3", "digest:4:0"),
    ]  # fmt: skip

    with make_session_factory(engine)() as session, session.begin():
        _, claimed = claim_deliveries(
            session, [1, 2, 3, 4], lease=60, token="t" * 32, max_attempts=5
        )
    assert [(c.event_key, c.payload) for c in claimed] == [
        ("article.created:7", {"title": "七"})] * 3 + [("digest:4:0", {"n": 4})]  # fmt: skip

    command.downgrade(alembic_config(engine), "0010")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT event_key, payload FROM deliveries ORDER BY id")).all()
        tables = conn.execute(text(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'"
            if engine.dialect.name == "postgresql" else
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        )).scalar()  # fmt: skip
    assert tables == 0
    assert [(k, json.loads(p) if isinstance(p, str) else p) for k, p in back] == [
        ("article.created:7", {"title": "七"})] * 3 + [("digest:4:0", {"n": 4})]  # fmt: skip
    engine.dispose()
