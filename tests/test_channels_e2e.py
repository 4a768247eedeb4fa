"""Every channel end to end: new articles folded into native messages, within the limits,
nothing missing, no rate-limit error, and article text never pinging anyone."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import site_source, write_config
from tests.support.chat_fakes import (
    FakeChat,
    FakeDingTalk,
    FakeDiscord,
    FakeFeishu,
    FakeSlack,
    FakeTelegram,
    FakeWeCom,
    ManualClock,
    pings,
)
from worker.config import load_config
from worker.demo.site import DemoSite
from worker.embedded import run_once

HOSTILE = (
    '@all @所有人 @everyone @here <!channel> <!here> <@U123> <at user_id="all"></at> '
    "**粗** [x](javascript:alert(1)) <b>b</b>"
)


def _fake(channel: str) -> tuple[FakeChat, str]:
    """A started fake and the subscriber block pointing at it."""
    if channel == "wecom":
        fake: FakeChat = FakeWeCom()
        extra = ""
    elif channel == "dingtalk":
        fake = FakeDingTalk(secret="SEC-herald-test")
        extra = 'secret = "SEC-herald-test"'
    elif channel == "feishu":
        fake = FakeFeishu(secret="herald-feishu")
        extra = 'secret = "herald-feishu"'
    elif channel == "slack":
        fake = FakeSlack()
        extra = ""
    elif channel == "discord":
        fake = FakeDiscord()
        extra = ""
    else:
        fake = FakeTelegram(chats=["-100200300"])
        extra = 'chat_id = "-100200300"'
    fake.start()
    block = f"""
[[subscribers]]
name = "{channel}-group"
channel = "{channel}"
url = "{fake.url()}"
{extra}
"""
    return fake, block


CHANNELS = ["wecom", "dingtalk", "feishu", "slack", "discord", "telegram"]


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeChat, str]]:
    fake, block = _fake(request.param)
    yield request.param, fake, block
    fake.stop()


def test_a_burst_of_thirty_reaches_every_channel_completely(
    tmp_path: Path, site: DemoSite, channel: tuple[str, FakeChat, str]
) -> None:
    name, fake, block = channel
    path = write_config(tmp_path, sources=site_source(site, backfill=2), subscribers=block)
    config = load_config(path)
    run_once(config)  # the first poll imports silently
    assert fake.messages() == []
    added = [site.add_article() for _ in range(29)]
    added.append(site.add_article(title=f"科协通知 {HOSTILE}"))
    run_once(config)
    _drain(tmp_path, config)  # parts held back by the platform's rate window go out when due
    received = fake.messages()
    assert fake.rejected == [], [r.detail or r.message for r in fake.rejected]
    assert 1 <= len(received) <= 10  # folded: not thirty messages
    urls_in_order = [site.article_url(a.id) for a in added]
    seen = "\n".join(m.raw.decode("utf-8", "replace") for m in received)
    for url in urls_in_order:
        assert url.split("://", 1)[1] in seen, f"{name}: {url} missing"
    for message in received:
        assert pings(message) == [], f"{name}: {pings(message)}"
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        statuses = dict(conn.execute("select status, count(*) from deliveries group by status"))
    assert statuses == {"delivered": len(received)}


def _drain(directory: Path, config: object, rounds: int = 5) -> None:
    for _ in range(rounds):
        with sqlite3.connect(directory / "herald.db") as conn:
            (pending,) = conn.execute(
                "select count(*) from deliveries where status = 'pending'"
            ).fetchone()
        if not pending:
            return
        time.sleep(1.1)
        run_once(config)  # type: ignore[arg-type]


def test_forty_long_articles_to_wecom_arrive_in_order_within_4096_bytes(tmp_path: Path) -> None:
    with DemoSite(articles=5, page_size=10) as demo, FakeWeCom() as fake:
        path = write_config(
            tmp_path,
            sources=site_source(demo, backfill=1),
            subscribers=f'[[subscribers]]\nname = "w"\nchannel = "wecom"\nurl = "{fake.url()}"\n',
        )
        config = load_config(path)
        run_once(config)
        long_title = "重庆市科协深化科技社团改革打造全国地方科协综合改革示范区的实践与探索"
        added = [demo.add_article(title=f"{long_title}（第{i}篇）") for i in range(40)]
        run_once(config)
        _drain(tmp_path, config)
        received = fake.messages()
    assert len(received) > 1 and fake.rejected == []
    assert all(m.size <= 4096 for m in received)
    order = []
    for message in received:
        text = message.raw.decode("utf-8")
        order += [a.id for a in added if f"art_1_{a.id}.html" in text]
    assert order == [a.id for a in added]  # every article once, in order, across the parts


def test_every_burst_is_sent_and_an_article_only_once(tmp_path: Path) -> None:
    """Outbox rows of one flush must never clash with the next flush's messages."""
    with DemoSite(articles=3, page_size=10) as demo, FakeWeCom() as fake:
        sub = f'[[subscribers]]\nname = "w"\nchannel = "wecom"\nurl = "{fake.url()}"\n'
        both = site_source(demo, name="a") + site_source(demo, name="b")  # the same column twice
        path = write_config(tmp_path, sources=both, subscribers=sub)
        config = load_config(path)
        run_once(config)
        bursts = []
        for size in (3, 2, 4):
            bursts.append([demo.add_article() for _ in range(size)])
            run_once(config)
        text = "\n".join(m.raw.decode("utf-8") for m in fake.messages())
    for burst in bursts:
        for article in burst:
            assert text.count(f"art_1_{article.id}.html") == 1, article.id
    assert len(fake.messages()) == 3


def test_fifty_instant_articles_to_dingtalk_never_draw_130101(
    tmp_path: Path, site: DemoSite
) -> None:
    """Fifty articles, each in its own poll: the rate window fills, then the rest fold."""
    clock = ManualClock(start=time.time())
    with FakeDingTalk(secret="SEC-50", clock=clock) as fake:
        block = f'[[subscribers]]\nname = "d"\nchannel = "dingtalk"\nurl = "{fake.url()}"\n'
        path = write_config(
            tmp_path, sources=site_source(site, backfill=1), subscribers=block + 'secret = "SEC-50"'
        )
        config = load_config(path)
        run_once(config)
        added = []
        for _ in range(50):
            added.append(site.add_article())
            run_once(config)
        first_minute = len(fake.messages())
        assert fake.rejected == [] and first_minute <= 20
        with sqlite3.connect(tmp_path / "herald.db") as conn:  # a minute passes, both sides
            conn.execute("update delivery_attempts set attempted_at = "
                         "datetime(attempted_at, '-61 seconds')")  # fmt: skip
        clock.advance(61)
        run_once(config)
        _drain(tmp_path, config)
        received = fake.messages()
    assert fake.rejected == [], [r.message for r in fake.rejected]
    assert len(received) <= first_minute + 2  # the other articles folded, not thirty throttled
    seen = "\n".join(m.raw.decode("utf-8", "replace") for m in received)
    for article in added:
        assert f"art_1_{article.id}.html" in seen
