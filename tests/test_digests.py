"""Digests end to end: built once from what arrived since the last one, stored, delivered
through the ledger, previewed exactly, on a schedule in the subscriber's zone."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import SECRET, site_source, write_config
from tests.support.chat_fakes import (
    FakeChat,
    FakeDingTalk,
    FakeDiscord,
    FakeFeishu,
    FakeSlack,
    FakeTelegram,
    FakeWeCom,
    pings,
)
from worker.cli import main
from worker.config import load_config
from worker.deliver import deliver_batch
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.digest import EMPTY_NOTE, build_due_digests
from worker.embedded import run_once, setup
from worker.runtime import get_runtime

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_TITLE = "重庆市科协深化科技社团改革打造全国地方科协综合改革示范区的实践与探索"
HOSTILE = '@all @所有人 @everyone <!channel> <@U123> <at user_id="all"></at> <script>x</script>'


def _block(channel: str, url: str, extra: str = "", *, mode: str = "digest") -> str:
    return f"""
[[subscribers]]
name = "{channel}-digest"
channel = "{channel}"
url = "{url}"
mode = "{mode}"
schedule = "0 8 * * 1-5"
{extra}
"""


def _fake(channel: str) -> tuple[FakeChat, str]:
    fakes: dict[str, tuple[FakeChat, str]] = {
        "wecom": (FakeWeCom(), ""),
        "dingtalk": (FakeDingTalk(secret="SEC-d"), 'secret = "SEC-d"'),
        "feishu": (FakeFeishu(secret="fs"), 'secret = "fs"'),
        "slack": (FakeSlack(), ""),
        "discord": (FakeDiscord(), ""),
        "telegram": (FakeTelegram(chats=["-1001"]), 'chat_id = "-1001"'),
    }
    fake, extra = fakes[channel]
    fake.start()
    return fake, _block(channel, fake.url(), extra)


def _cli(path: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--config", str(path), *args], env={"COLUMNS": "200"})
    return result


def _db(directory: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(directory / "herald.db") as conn:
        return list(conn.execute(sql, params))


def _preview_bodies(output: str) -> list[str]:
    """The bodies `herald digest preview` printed, one per message."""
    bodies, current = [], None
    for line in output.splitlines():
        if line.startswith("--- message "):
            current = len(bodies)
            bodies.append("")
        elif current is not None:
            bodies[current] += line
    return bodies


UNSIGNED = ("timestamp", "sign")  # Feishu signs inside the body, at send time


def _unsigned(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in UNSIGNED}


@pytest.fixture(params=["wecom", "dingtalk", "feishu", "slack", "discord", "telegram"])
def chat(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeChat, str]]:
    fake, block = _fake(request.param)
    yield request.param, fake, block
    fake.stop()


def test_preview_prints_exactly_what_send_delivers_on_every_channel(
    tmp_path: Path, chat: tuple[str, FakeChat, str]
) -> None:
    name, fake, block = chat
    with DemoSite(articles=3, page_size=10) as demo:
        path = write_config(tmp_path, sources=site_source(demo, backfill=1), subscribers=block)
        config = load_config(path)
        run_once(config)  # first poll: silent imports, never in a digest
        added = [demo.add_article(title=f"{LONG_TITLE}（{i}）") for i in range(12)]
        added.append(demo.add_article(title=f"科协通知 {HOSTILE}"))
        run_once(config)
    assert fake.messages() == []  # digest mode: nothing instant
    preview = _cli(path, "digest", "preview", f"{name}-digest")
    assert preview.exit_code == 0, preview.output
    assert "13 article(s)" in preview.output
    printed = [json.loads(b) for b in _preview_bodies(preview.output)]
    sent = _cli(path, "digest", "send", f"{name}-digest")
    assert sent.exit_code == 0, sent.output
    received = fake.messages()
    assert fake.rejected == [], [r.message for r in fake.rejected]
    assert [_unsigned(m.body) for m in received] == [_unsigned(b) for b in printed]
    text = "\n".join(m.raw.decode("utf-8") for m in received)
    for article in added:
        assert demo.article_url(article.id).split("://", 1)[1] in text
    for message in received:
        assert pings(message) == [], pings(message)
    assert _cli(path, "digest", "send", f"{name}-digest").output.count("nothing sent") == 1
    assert len(fake.messages()) == len(received)  # sent once: the queue is empty now


def test_a_digest_of_forty_long_articles_reaches_wecom_in_order_within_4096_bytes(
    tmp_path: Path,
) -> None:
    with DemoSite(articles=5, page_size=10) as demo, FakeWeCom() as fake:
        path = write_config(
            tmp_path,
            sources=site_source(demo, backfill=1),
            subscribers=_block("wecom", fake.url()),
        )
        config = load_config(path)
        run_once(config)
        added = [demo.add_article(title=f"{LONG_TITLE}（第{i}篇）") for i in range(40)]
        run_once(config)
        result = _cli(path, "digest", "send", "wecom-digest")
        assert result.exit_code == 0, result.output
        received = fake.messages()
    assert len(received) > 1 and fake.rejected == []
    assert all(m.size <= 4096 for m in received)
    order = []
    for index, message in enumerate(received, 1):
        text = message.raw.decode("utf-8")
        assert f"({index}/{len(received)})" in text
        order += [a.id for a in added if f"art_1_{a.id}.html" in text]
    assert order == [a.id for a in added]  # every new article once, in order; no old ones
    (stored,) = _db(tmp_path, "select article_ids, messages, page from digests")
    assert len(json.loads(stored[0])) == 40 and len(json.loads(stored[1])) == len(received)
    page = tmp_path / "feeds" / "digests" / "wecom-digest" / (stored[2].rsplit("/", 1)[1])
    assert page.exists() and (page.parent / "index.html").exists()


def test_the_scheduled_digest_is_built_once_even_when_fired_twice_or_raced(
    tmp_path: Path, site: DemoSite
) -> None:
    with FakeDingTalk(secret="S") as fake:
        block = _block("dingtalk", fake.url(), 'secret = "S"')
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=block)
        config = load_config(path)
        run_once(config)
        for _ in range(3):
            site.add_article()
        run_once(config)
        due = datetime.now(UTC) - timedelta(minutes=1)
        with sqlite3.connect(tmp_path / "herald.db") as conn:
            conn.execute("update subscribers set next_digest_at = ?", (due.replace(tzinfo=None),))
        setup(config)
        rt = get_runtime()
        results: list[list[int]] = []
        threads = [
            threading.Thread(target=lambda: results.append(build_due_digests(rt))) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(r) for r in results) == [0, 0, 0, 1]
        assert deliver_batch(rt, [i for r in results for i in r]) == {"delivered": 1}
        run_once(config)  # beat firing again finds nothing due
        run_once(config)
        assert len(fake.messages()) == 1 and fake.rejected == []
        assert _db(tmp_path, "select count(*) from digests") == [(1,)]
        (next_at,) = _db(tmp_path, "select next_digest_at from subscribers")[0]
        local = datetime.fromisoformat(next_at).replace(tzinfo=UTC).astimezone(SHANGHAI)
        assert local > datetime.now(UTC) and (local.hour, local.minute) == (8, 0)
        assert local.weekday() < 5  # "0 8 * * 1-5": the next weekday, 08:00 in Asia/Shanghai


def test_min_items_holds_a_small_digest_and_zero_sends_an_empty_one(
    tmp_path: Path, site: DemoSite
) -> None:
    with FakeWeCom() as fake, FakeWeCom() as other:
        blocks = _block("wecom", fake.url(), "min_items = 2") + _block(
            "wecom", other.url(), "min_items = 0"
        ).replace("wecom-digest", "empty-digest")
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=blocks)
        config = load_config(path)
        run_once(config)
        setup(config)
        rt = get_runtime()
        for new_articles in (1, 0, 1):  # three scheduled digests
            for _ in range(new_articles):
                site.add_article()
            run_once(config)
            _due_now(tmp_path)
            deliver_batch(rt, build_due_digests(rt))
        rows = _db(tmp_path, "select s.name, d.article_ids from digests d join subscribers s "
                   "on s.id = d.subscriber_id order by d.id")  # fmt: skip
    sizes: dict[str, list[int]] = {}
    for name, ids in rows:
        sizes.setdefault(name, []).append(len(json.loads(ids)))
    assert sizes == {"wecom-digest": [2], "empty-digest": [1, 0, 1]}  # the held one waited
    assert [EMPTY_NOTE in m.text for m in other.messages()] == [False, True, False]
    assert len(fake.messages()) == 1 and fake.rejected == other.rejected == []


def _due_now(directory: Path) -> None:
    due = (datetime.now(UTC) - timedelta(seconds=5)).replace(tzinfo=None)
    with sqlite3.connect(directory / "herald.db") as conn:
        conn.execute("update subscribers set next_digest_at = ?", (due,))


def test_mode_both_gets_instant_messages_and_the_digest(tmp_path: Path, site: DemoSite) -> None:
    with FakeWeCom() as fake:
        block = _block("wecom", fake.url(), mode="both")
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=block)
        config = load_config(path)
        run_once(config)
        added = site.add_article()
        run_once(config)
        assert len(fake.messages()) == 1  # instant
        assert _cli(path, "digest", "send", "wecom-digest").exit_code == 0
        assert len(fake.messages()) == 2
        assert "摘要" in fake.messages()[1].text and added.title[:10] in fake.messages()[1].text


def test_a_webhook_digest_carries_every_format_and_the_page_escapes_content(
    tmp_path: Path, site: DemoSite
) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        block = _block("webhook", hook.url(), f'secret = "{SECRET}"')
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=block)
        config = load_config(path)
        run_once(config)
        site.add_article(title=f"标题 {HOSTILE} [x](javascript:alert(1))")
        site.add_article()
        run_once(config)
        assert hook.messages() == []
        assert _cli(path, "digest", "send", "webhook-digest").exit_code == 0
        (message,) = hook.messages()
    assert message.payload["type"] == "digest.ready"
    data = message.payload["data"]
    assert data["count"] == 2 and len(data["articles"]) == 2
    assert "<script>" not in data["html"] and "&lt;script&gt;" in data["html"]
    assert "javascript:" not in data["markdown"].replace("javascript:alert", "")
    assert "\\[x\\]" in data["markdown"] and data["articles"][0]["url"] in data["text"]
    page = tmp_path / "feeds" / "digests" / "webhook-digest" / f"{data['key']}.html"
    html = page.read_text(encoding="utf-8")
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    assert data["url"] == f"http://feeds.test/digests/webhook-digest/{data['key']}.html"


def test_quiet_hours_hold_instant_messages_and_merge_them_after(
    tmp_path: Path, site: DemoSite
) -> None:
    from worker.outbox import flush_outbox

    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).astimezone(UTC).strftime("%H:%M")
    end = (now + timedelta(hours=1)).astimezone(UTC).strftime("%H:%M")
    with FakeWeCom() as fake, WebhookReceiver(secret=SECRET) as hook:
        quiet = f'quiet_hours = "{start}-{end}"\ntimezone = "UTC"'
        blocks = (
            f'[[subscribers]]\nname = "w"\nchannel = "wecom"\nurl = "{fake.url()}"\n{quiet}\n'
            f'[[subscribers]]\nname = "h"\nchannel = "webhook"\nurl = "{hook.url()}"\n'
            f'secret = "{SECRET}"\n{quiet}\n'
        )
        path = write_config(tmp_path, sources=site_source(site, backfill=1), subscribers=blocks)
        config = load_config(path)
        run_once(config)
        for _ in range(5):
            site.add_article()
        run_once(config)
        assert fake.messages() == [] and hook.messages() == []  # held
        (held,) = _db(tmp_path, "select min(next_attempt_at) from deliveries")[0]
        assert datetime.fromisoformat(held).replace(tzinfo=UTC) > now + timedelta(minutes=55)
        setup(config)
        after = now + timedelta(hours=1, minutes=1)
        ids = flush_outbox(get_runtime(), now=after)
        assert len(ids) == 1  # five articles, one message after the quiet hours


def test_subscribers_add_and_remove_edit_the_file_and_refuse_mistakes(tmp_path: Path) -> None:
    path = write_config(tmp_path, sources="")
    path.write_text("# my herald\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    added = _cli(
        path, "subscribers", "add", "team", "--channel", "dingtalk",
        "--url", "https://oapi.dingtalk.com/robot/send?access_token=x", "--secret", "SEC1",
        "--mode", "digest", "--schedule", "0 8 * * 1-5", "--quiet-hours", "22:00-08:00",
        "--include", "科协,通知",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    config = load_config(path)
    (sub,) = config.subscribers
    assert sub.options.schedule == "0 8 * * 1-5" and sub.options.include == ("科协", "通知")
    assert path.read_text(encoding="utf-8").startswith("# my herald")
    before = path.read_text(encoding="utf-8")
    bad = _cli(path, "subscribers", "add", "x", "--channel", "wecom", "--url", "https://a.test/",
               "--mode", "digest", "--schedule", "0 25 * * *")  # fmt: skip
    assert bad.exit_code == 2 and 'subscribers["x"].schedule' in bad.output
    assert str(path) in bad.output and path.read_text(encoding="utf-8") == before
    dup = _cli(path, "subscribers", "add", "team", "--channel", "wecom", "--url", "https://a.test/")
    assert dup.exit_code == 2 and "already exists" in dup.output
    assert _db(tmp_path, "select name, enabled, mode from subscribers") == [("team", 1, "digest")]
    removed = _cli(path, "subscribers", "remove", "team")
    assert removed.exit_code == 0 and load_config(path).subscribers == ()
    assert _db(tmp_path, "select name, enabled from subscribers") == [("team", 0)]
    assert _cli(path, "subscribers", "remove", "team").exit_code == 2


GOLDEN_TARGETS = {
    "wecom": {},
    "dingtalk": {},
    "feishu": {},
    "slack": {},
    "discord": {},
    "telegram": {"chat_id": "-1001"},
    "webhook": {},
}


@pytest.mark.parametrize("channel", sorted(GOLDEN_TARGETS))
def test_digest_payloads_match_their_golden_files(channel: str) -> None:
    """The whole digest as each channel gets it, rendered from fixed articles (no signing)."""
    from tests.support.notify_helpers import check_golden
    from worker.digest import Window, compose
    from worker.models import Article
    from worker.notify import Target

    base = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    articles = [
        Article(
            id=i,
            source_name="中国科协",
            url=f"https://www.cast.org.cn/art/2026/11/{i}.html",
            guid="",
            title=f"{LONG_TITLE}（{i}）" if i != 3 else f"科协通知 {HOSTILE}",
            author="",
            published_at=base - timedelta(hours=i),
            summary="为全面了解科技工作者的工作和生活状况，现开展年度调查。" * 3,
            content_html="",
            text="",
            images=(),
            version=1,
            first_seen_at=base,
            updated_at=base,
            tags=("通知",),
        )
        for i in range(1, 5)
    ]
    from worker.subscriber import SubscriberOptions

    options = SubscriberOptions.from_stored(
        {"timezone": "Asia/Shanghai", **GOLDEN_TARGETS[channel]}
    )
    target = Target("team", channel, "https://example.test/hook", "", options.chat_id, options)
    window = Window(base - timedelta(days=1), base)
    composed = compose(target, articles, window, base_url="https://feeds.example", now=base)
    bodies = [json.loads(part.body) for part in composed.parts]
    for body in bodies:
        body.pop("timestamp", None)  # the webhook envelope's send time
    check_golden(f"digest_{channel}.json", {"parts": bodies, "page": composed.page_url})
