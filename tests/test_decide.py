"""Pure decisions: canonical URLs and what to ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from worker.decide import canonical_url, plan_ingest
from worker.models import Discovered


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://WWW.Example.GOV.cn:80/a/b.html#top", "http://www.example.gov.cn/a/b.html"),
        ("https://x.cn:443", "https://x.cn/"),
        ("http://x.cn:8080/a", "http://x.cn:8080/a"),
        ("http://x.cn/show.jsp?123", "http://x.cn/show.jsp?123"),  # kept as written
        ("http://x.cn/a?id=1;t=2&utm_source=wx&spm=a.b", "http://x.cn/a?id=1;t=2"),
        ("http://x.cn/a?from=timeline&id=%E4%B8%AD", "http://x.cn/a?from=timeline&id=%E4%B8%AD"),
        ("http://user:pw@X.cn/a", "http://user:pw@x.cn/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@dataclass(frozen=True)
class _Known:
    id: int
    first_seen_at: datetime
    linked: bool
    read_at: datetime
    listed_title: str | None = None


def test_plan_ingest() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    items = [Discovered(url=f"http://x.cn/{i}", guid=f"g{i}") for i in range(6)]
    day, month = now - timedelta(days=1), now - timedelta(days=30)
    known = {
        "http://x.cn/1": _Known(11, day, linked=True, read_at=day),  # recent, due: recheck
        "http://x.cn/2": _Known(12, month, linked=True, read_at=month),  # old: left alone
        "http://x.cn/3": _Known(13, month, linked=False, read_at=month),  # other source
        "g4": _Known(14, now - timedelta(days=2), linked=True, read_at=day),  # guid, this source
        "http://x.cn/5": _Known(15, day, linked=True, read_at=now - timedelta(minutes=5)),  # read
    }
    plan = [
        (d.item.url, d.action, d.known_id)
        for d in plan_ingest(items, known, now=now, recheck_every=timedelta(hours=1))
    ]
    assert plan == [
        ("http://x.cn/0", "new", None),
        ("http://x.cn/1", "recheck", 11),
        ("http://x.cn/3", "link", 13),
        ("http://x.cn/4", "recheck", 14),
    ]


def test_a_listed_title_that_changed_is_read_again_at_once() -> None:
    """Whatever ``recheck`` and the 7-day window say; a title first recorded, or spacing, not."""
    now = datetime(2026, 11, 30, tzinfo=UTC)
    old = now - timedelta(days=90)
    items = [
        Discovered(url="http://x.cn/1", title="更正后的标题"),
        Discovered(url="http://x.cn/2", title="同一个  标题"),
        Discovered(url="http://x.cn/3", title="第一次记下的标题"),
    ]
    known = {
        "http://x.cn/1": _Known(1, old, linked=True, read_at=now, listed_title="原来的标题"),
        "http://x.cn/2": _Known(2, old, linked=True, read_at=now, listed_title="同一个 标题"),
        "http://x.cn/3": _Known(3, old, linked=True, read_at=now, listed_title=None),
    }
    decisions = plan_ingest(items, known, now=now, recheck_every=timedelta(days=1))
    assert [(d.item.url, d.action) for d in decisions] == [("http://x.cn/1", "recheck")]
