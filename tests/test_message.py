"""Messages as data: events converted, entries packed within a size limit, never cut inside."""

from __future__ import annotations

from worker.notify.message import (
    Entry,
    Message,
    message_from_event,
    split_message,
)
from worker.subscriber import Mentions


def _size(message: Message) -> int:
    text = message.title + "".join(e.title + e.summary + e.url for e in message.entries)
    return len(text.encode("utf-8"))


def test_split_packs_in_order_within_the_limit_and_loses_nothing() -> None:
    entries = tuple(
        Entry(f"第{i}篇：重庆市科协推进示范区建设", f"https://x.cn/{i}", summary="改革" * 150)
        for i in range(40)
    )
    parts = split_message(Message("digest", "科协日报", entries), lambda m: _size(m) <= 4096)
    assert len(parts) > 1
    assert all(_size(p) <= 4096 for p in parts)
    assert [e.url for p in parts for e in p.entries] == [e.url for e in entries]
    assert [p.title for p in parts][:2] == [
        f"科协日报 (1/{len(parts)})",
        f"科协日报 (2/{len(parts)})",
    ]


def test_an_entry_too_long_alone_is_shortened_keeping_its_link() -> None:
    huge = Entry("标题" * 10, "https://x.cn/1", summary="很长的摘要" * 2000)
    (only,) = split_message(Message("instant", "h", (huge,)), lambda m: _size(m) <= 1000)
    assert only.entries[0].url == "https://x.cn/1"
    assert only.entries[0].summary.endswith("…") and _size(only) <= 1000


def test_round_trip_and_events() -> None:
    message = Message("digest", "h", (Entry("t", "u", tags=("a",)),), mentions=Mentions(all=True))
    assert Message.from_dict(message.to_dict()) == message
    article = {
        "title": "标题", "url": "https://x.cn/a", "source": "cases",
        "published_at": "2022-10-08T00:00:00+08:00", "summary": "s", "tags": ["t"],
    }  # fmt: skip
    converted = message_from_event("article.created", article)
    assert converted.entries[0].published == "2022-10-08" and converted.heading == "cases"
    alert = message_from_event(
        "source.health",
        {"source": "s", "status": "blocked", "previous_status": "ok", "reason": "412"},
    )
    assert alert.kind == "alert" and "ok → blocked — 412" in alert.note
