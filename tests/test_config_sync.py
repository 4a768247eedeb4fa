"""The config synced into the subscribers table, on SQLite and PostgreSQL: new rows added,
changed ones updated, removed ones disabled, a digest's next time kept while its schedule
stays — and a config read again writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.conftest import write_config
from worker.config import load_config
from worker.runtime import Runtime, build_runtime
from worker.store.sources import sync_config
from worker.store.tables import SubscriberRow


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'herald.db'}"
    return str(request.getfixturevalue("postgres_url"))


def subscriber(name: str, url: str, extra: str = "") -> str:
    return f'[[subscribers]]\nname = "{name}"\nchannel = "webhook"\nurl = "{url}"\n{extra}\n'


DIGEST = 'mode = "digest"\nschedule = "0 8 * * 1-5"\ntimezone = "Asia/Shanghai"\n'


def sync(tmp_path: Path, database_url: str, subscribers: str, now: datetime) -> Runtime:
    path = write_config(tmp_path, sources="", subscribers=subscribers, database_url=database_url)
    config = load_config(path)
    rt = build_runtime(config)
    with rt.session() as session:
        sync_config(session, config, now)
    return rt


def rows(rt: Runtime) -> dict[str, Any]:
    with rt.session() as session:
        row = SubscriberRow
        found = session.execute(select(row.name, row.url, row.enabled, row.next_digest_at))
        return {name: (url, enabled, due) for name, url, enabled, due in found}


def writes(rt: Runtime) -> list[str]:
    """Every INSERT, UPDATE or DELETE the runtime's engine runs from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", note)
    return seen


def test_the_table_follows_the_config(tmp_path: Path, database_url: str) -> None:
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    first = (subscriber("a", "http://127.0.0.1:1/a") + subscriber("b", "http://127.0.0.1:1/b")
             + subscriber("d", "http://127.0.0.1:1/d", DIGEST))  # fmt: skip
    rt = sync(tmp_path, database_url, first, now)
    before = rows(rt)
    assert {name: url for name, (url, _, _) in before.items()} == {
        "a": "http://127.0.0.1:1/a", "b": "http://127.0.0.1:1/b", "d": "http://127.0.0.1:1/d",
    }  # fmt: skip
    due = before["d"][2]
    assert due == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai, Tuesday
    rt.close()

    # read again, a minute later: nothing is written, the digest's time is kept
    rt = sync(tmp_path, database_url, first, now + timedelta(minutes=1))
    rt.close()
    rt2 = build_runtime(load_config(tmp_path / "herald.toml"))
    seen = writes(rt2)
    with rt2.session() as session:
        sync_config(session, rt2.config, now + timedelta(minutes=1))
    assert seen == []
    assert rows(rt2) == before
    rt2.close()

    # b's URL changes, a leaves, c arrives; d's schedule stays, so its time does too
    second = (subscriber("b", "http://127.0.0.1:1/b2") + subscriber("c", "http://127.0.0.1:1/c")
              + subscriber("d", "http://127.0.0.1:1/d", DIGEST))  # fmt: skip
    rt = sync(tmp_path, database_url, second, now + timedelta(hours=30))
    after = rows(rt)
    assert after["a"][1] is False and after["a"][0] == "http://127.0.0.1:1/a"
    assert after["b"] == ("http://127.0.0.1:1/b2", True, None)
    assert after["c"] == ("http://127.0.0.1:1/c", True, None)
    assert after["d"] == before["d"]
    rt.close()

    # a comes back; d's schedule changes, so its next time is computed again
    third = second + subscriber("a", "http://127.0.0.1:1/a")
    third = third.replace('schedule = "0 8 * * 1-5"', 'schedule = "0 9 * * *"')
    rt = sync(tmp_path, database_url, third, now + timedelta(hours=30))
    final = rows(rt)
    assert final["a"][1] is True
    assert final["d"][2] == datetime(2026, 12, 9, 1, 0, tzinfo=UTC)  # 09:00 after 07:00 UTC
    rt.close()


def test_a_config_with_a_websub_hub_read_again_writes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    """The hub's own row is the hub's sync to keep, not a subscriber gone from the config."""
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    path = write_config(
        tmp_path, sources="", subscribers=subscriber("a", "http://127.0.0.1:1/a"),
        database_url=database_url, extra='[feeds]\nwebsub_hub = "http://127.0.0.1:1/hub"\n',
    )  # fmt: skip
    config = load_config(path)
    rt = build_runtime(config)
    with rt.session() as session:
        sync_config(session, config, now)
    seen = writes(rt)
    with rt.session() as session:
        sync_config(session, config, now + timedelta(minutes=1))
    assert seen == []
    with rt.session() as session:
        hub = session.scalar(select(SubscriberRow.enabled).where(SubscriberRow.name == "_websub"))
    assert hub is True
    rt.close()
