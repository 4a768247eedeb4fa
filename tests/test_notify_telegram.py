"""Telegram notifier: golden payloads, inert content, exact sizes, splitting and reply handling.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeTelegram``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite ``tests/data/payloads/telegram_*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeTelegram, ManualClock, parse_telegram_html, pings
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outgoing, Target, get_notifier
from worker.notify.message import Entry, Message, split_message
from worker.notify.telegram import (
    TEXT_MAX,
    TelegramNotifier,
    check_body,
    classify_reply,
    escape_html,
    link_html,
    visible_text,
)
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

CHAT = "-1001234567890"
HOSTILE = (
    '通知 <@U123ABC> @all @所有人 <at user_id="all">所有人</at> <!channel> <!here> '
    "<!everyone> @everyone @here <@123456789> <@&77> @durov_fan <b>粗</b> <br> "
    '<a href="tg://user?id=777">他</a> &amp; & 完 😀'
)
DIGEST = Message(
    "digest",
    "科协每日要闻",
    (
        Entry(
            "关于开展2026年度科技工作者状况调查的通知",
            "https://www.cast.org.cn/xw/tzgg/art/2026/art_1.html",
            "中国科协",
            "2026-11-30 09:30",
            "为全面了解科技工作者的工作和生活状况，现开展年度调查。",
            ("通知",),
        ),
        Entry(
            "省科协召开学会工作座谈会",
            'https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&id="2"',
            "江苏省科协",
            "2026-11-29",
            "",
        ),
        Entry(
            "青少年科技创新大赛获奖名单公示",
            "ftp://files.example.cn/list.xls",
            "",
            "",
            "名单见附件。",
        ),
    ),
    link="https://feeds.example.cn/digest/2026-11-30.html",
    mentions=Mentions(user_ids=("777",)),
)
ALERT_DATA = {
    "source": "cast-tzgg",
    "previous_status": "ok",
    "status": "failing",
    "reason": "fetch: HTTP 503 <三次>",
}


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeTelegram]:
    server = FakeTelegram(chats=[CHAT, "42"], clock=clock)
    server.start()
    yield server
    server.stop()


def target_for(
    url: str = "https://api.telegram.org/bot123:ABC/sendMessage",
    chat_id: str = CHAT,
    **options: Any,
) -> Target:
    return Target(
        name="group",
        channel="telegram",
        url=url,
        chat_id=chat_id,
        options=SubscriberOptions(**options),
    )


def build(target: Target, message: Message) -> Outgoing:
    return TelegramNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=NOW)


def long_entries(count: int, summary_chars: int) -> tuple[Entry, ...]:
    text = "科技工作者创新创业政策解读与服务保障措施说明"
    return tuple(
        Entry(
            f"第{i}号 关于做好2026年度科技创新项目申报与评审工作的通知（第{i}批）",
            f"https://www.example.gov.cn/art/2026/{i}.html",
            "科技厅",
            "2026-11-30",
            (text * (summary_chars // len(text) + 1))[:summary_chars],
        )
        for i in range(1, count + 1)
    )


# --------------------------------------------------------------------------------------------
# Escaping and counting (pure)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<b>x</b> <br>", "&lt;b&gt;x&lt;/b&gt; &lt;br&gt;"),
        ("a & \"b\" 'c'", "a &amp; &quot;b&quot; 'c'"),
        ("&amp;", "&amp;amp;"),
        ("@durov_fan @all", f"@{WJ}durov_fan @{WJ}all"),
        (
            '<a href="tg://user?id=777">他</a>',
            "&lt;a href=&quot;tg://user?id=777&quot;&gt;他&lt;/a&gt;",
        ),
        ("多行\n\n  文本", "多行 文本"),
    ],
)
def test_escape_html(raw: str, escaped: str) -> None:
    assert escape_html(raw) == escaped
    assert visible_text(escaped).replace(WJ, "") == " ".join(raw.split())


def test_link_html_only_http() -> None:
    assert link_html('https://e.cn/?a=1&b="2"', "<标题>") == (
        '<a href="https://e.cn/?a=1&amp;b=&quot;2&quot;">&lt;标题&gt;</a>'
    )
    assert link_html("tg://user?id=777", "他") == "他"
    assert link_html("javascript:alert(1)", "点我") == "点我"
    assert link_html("https://e.cn/1", "") == '<a href="https://e.cn/1">https://e.cn/1</a>'


def test_visible_text_counts_like_the_platform() -> None:
    html = '<b>要闻</b> <a href="https://e.cn/1?a=1&amp;b=2">全文</a> 1 &lt; 2 &#128512; 😀\n'
    assert visible_text(html) == parse_telegram_html(html)[0] == "要闻 全文 1 < 2 😀 😀"


# --------------------------------------------------------------------------------------------
# Payloads


def test_golden_digest() -> None:
    body = TelegramNotifier().render(DIGEST, target_for())
    check_golden("telegram_digest.json", body)
    assert body["chat_id"] == CHAT
    assert body["parse_mode"] == "HTML"
    assert body["link_preview_options"] == {"is_disabled": True}
    assert (
        '<a href="https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&amp;id=&quot;2&quot;">'
        in (body["text"])
    )
    assert "<b>青少年科技创新大赛获奖名单公示</b>" in body["text"]  # ftp link dropped
    assert body["text"].endswith('\n\n<a href="tg://user?id=777">777</a>')


def test_golden_instant_from_article_event() -> None:
    request = TelegramNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    body = json.loads(request.body)
    check_golden("telegram_instant.json", body)
    assert "<i>中国科协 · 2026-11-30 09:30</i>" in body["text"]
    assert request.url == "https://api.telegram.org/bot123:ABC/sendMessage"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    again = TelegramNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    assert again.body == request.body


def test_golden_alert() -> None:
    request = TelegramNotifier().build(target_for(), "source.health", "evt_9", ALERT_DATA, now=NOW)
    body = json.loads(request.body)
    check_golden("telegram_alert.json", body)
    assert body["text"] == (
        "<b>herald: source failing</b>\ncast-tzgg: ok → failing — fetch: HTTP 503 &lt;三次&gt;"
    )


def test_template_override_named_html_is_not_escaped_twice(tmp_path: Path) -> None:
    override = tmp_path / "mine.html"  # autoescaped by the environment: escapers return markup
    override.write_text(
        "{% for e in entries %}• {{ link(e.url, e.title) }} {{ e.source }}\n{% endfor %}",
        encoding="utf-8",
    )
    message = replace(DIGEST, entries=(replace(DIGEST.entries[0], title="A&B", source="<科协>"),))
    body = TelegramNotifier().render(message, target_for(template=str(override)))
    assert body["text"].splitlines()[0] == (
        '• <a href="https://www.cast.org.cn/xw/tzgg/art/2026/art_1.html">A&amp;B</a> &lt;科协&gt;'
    )


def test_registered() -> None:
    assert isinstance(NOTIFIERS["telegram"], TelegramNotifier)
    assert get_notifier("telegram").channel == "telegram"


def test_build_needs_a_chat() -> None:
    with pytest.raises(ValueError, match=r"^telegram: subscriber 'group' has no chat_id"):
        build(target_for(chat_id=""), DIGEST)


# --------------------------------------------------------------------------------------------
# Safety against the fake


def test_hostile_content_arrives_harmless(fake: FakeTelegram) -> None:
    message = Message(
        "digest",
        HOSTILE,
        (Entry(HOSTILE, "https://e.cn/1", HOSTILE, "2026-11-30", HOSTILE),),
        note=HOSTILE,
        mentions=Mentions(all=True, mobiles=("13800000000",)),  # no such thing on Telegram
    )
    outcome = post(TelegramNotifier(), build(target_for(fake.url()), message), timeout=5)
    assert (outcome.status, outcome.error) == ("delivered", "")
    [received] = fake.messages()
    assert pings(received) == []
    visible = received.text.replace(WJ, "")
    assert visible.count(HOSTILE) == 5  # title, note, entry title, source line, summary
    assert [e["type"] for e in received.extra["entities"]] == [
        "bold",
        "text_link",
        "bold",
        "italic",
    ]


def test_configured_mentions_are_the_only_pings(fake: FakeTelegram) -> None:
    mentions = Mentions(user_ids=("777", "durov_fan", "<b>x</b>", "@a"), all=True)
    message = replace(DIGEST, heading="@durov_other", mentions=mentions)
    outcome = post(TelegramNotifier(), build(target_for(fake.url()), message), timeout=5)
    assert outcome.status == "delivered"
    assert pings(fake.messages()[0]) == ["user:@durov_fan", "user:777"]


# --------------------------------------------------------------------------------------------
# Sizes


def test_text_limit_is_exact(fake: FakeTelegram, clock: ManualClock) -> None:
    notifier, target = TelegramNotifier(), target_for(fake.url())

    def message(summary: str) -> Message:
        return Message(
            "instant", "边界", (Entry("标题 & <符号>", "https://e.cn/1", summary=summary),)
        )

    base = notifier.measure(notifier.render(message("字"), target)) - 1
    exact = message("😀" + "字" * (TEXT_MAX - base - 1))  # one emoji is one character
    assert notifier.measure(notifier.render(exact, target)) == TEXT_MAX == notifier.limit
    assert notifier.fits(exact, target)
    over = message("😀" + "字" * (TEXT_MAX - base))
    assert check_body(notifier.render(over, target)) == [
        f"telegram: text is {TEXT_MAX + 1} characters, limit {TEXT_MAX}"
    ]
    assert post(notifier, build(target, exact), timeout=5).status == "delivered"
    assert fake.messages()[0].size == TEXT_MAX
    # the platform agrees: the one-character-longer body is a permanent failure
    clock.advance(5.0)
    raw = json.dumps(notifier.render(over, target), ensure_ascii=False).encode("utf-8")
    refused = post(notifier, replace(build(target, exact), body=raw), timeout=5)
    assert (refused.status, refused.http_status) == ("failed", 400)
    assert refused.error == "telegram: 400 Bad Request: message is too long"


def test_split_forty_long_chinese_entries(fake: FakeTelegram, clock: ManualClock) -> None:
    notifier, target = TelegramNotifier(), target_for(fake.url())
    digest = Message("digest", "本周要闻", long_entries(40, 700))
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert len(parts) >= 5
    assert all(notifier.fits(part, target) for part in parts)
    assert [e.title for part in parts for e in part.entries] == [e.title for e in digest.entries]
    assert [e.summary for part in parts for e in part.entries] == [
        e.summary for e in digest.entries
    ]
    for part in parts:
        outcome = post(notifier, build(target, part), timeout=5)
        assert outcome.status == "delivered", outcome.error
        clock.advance(3.0)  # a group takes 20 a minute
    text = "\n".join(m.text for m in fake.messages())
    positions = [text.index(e.title) for e in digest.entries]
    assert positions == sorted(positions)
    assert fake.messages()[-1].text.startswith(f"本周要闻 ({len(parts)}/{len(parts)})")
    assert fake.rejections() == []


def test_build_shortens_a_single_entry_that_is_too_long() -> None:
    huge = Message("instant", "单条", (Entry("标题", "https://e.cn/1", summary="长" * 9000),))
    body = json.loads(build(target_for(), huge).body)
    assert check_body(body) == []
    assert body["text"].endswith("…")
    assert '<b><a href="https://e.cn/1">标题</a></b>' in body["text"]


def test_build_refuses_a_message_that_needs_several_requests() -> None:
    with pytest.raises(ValueError, match=r"^telegram: message needs \d+ requests"):
        build(target_for(), Message("digest", "太长", long_entries(20, 700)))


# --------------------------------------------------------------------------------------------
# Replies


def test_rate_limited_uses_parameters_retry_after(fake: FakeTelegram, clock: ManualClock) -> None:
    notifier, target = TelegramNotifier(), target_for(fake.url())
    for _ in range(20):
        assert post(notifier, build(target, DIGEST), timeout=5).status == "delivered"
        clock.advance(1.5)
    limited = post(notifier, build(target, DIGEST), timeout=5)
    assert (limited.status, limited.http_status, limited.retry_after) == ("retry", 429, 30.0)
    assert limited.error == "telegram: 429 Too Many Requests: retry after 30"


@pytest.mark.parametrize(
    ("setup", "status", "error"),
    [
        ("chat_not_found", "failed", "telegram: 400 Bad Request: chat not found"),
        ("bad_token", "failed", "telegram: 401 Unauthorized"),
        ("kicked", "failed", "telegram: 403 Forbidden: bot was kicked from the group chat"),
        (
            "bad_html",
            "failed",
            "telegram: 400 Bad Request: can't parse entities: "
            'Unsupported start tag "br" at byte offset 5',
        ),
        ("server_error", "retry", "telegram: 502 Bad Gateway"),
    ],
)
def test_reply_classification(
    fake: FakeTelegram,
    tmp_path: Path,
    setup: str,
    status: str,
    error: str,
) -> None:
    target = target_for(fake.url())
    if setup == "chat_not_found":
        target = replace(target, chat_id="-100999")
    elif setup == "bad_token":
        target = replace(target, url=fake.url(token="123:WRONG"))
    elif setup == "kicked":
        fake.fail_next(1, 403)
    elif setup == "bad_html":
        override = tmp_path / "bad.j2"
        override.write_text("行1 <br> {{ esc(message.title) }}", encoding="utf-8")
        target = replace(target, options=SubscriberOptions(template=str(override)))
    else:
        fake.fail_next(1, 502)
    outcome = post(TelegramNotifier(), build(target, DIGEST), timeout=5)
    assert (outcome.status, outcome.error) == (status, error)
    assert fake.messages() == []


def test_pure_classification() -> None:
    assert classify_reply(200, '{"ok": true, "result": {', None, now=0.0) == ("delivered", None, "")
    migrated = json.dumps(
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1009876},
        }
    )
    assert classify_reply(400, migrated, None, now=0.0) == (
        "failed",
        None,
        "telegram: 400 Bad Request: group chat was upgraded to a supergroup chat "
        "(chat moved to -1009876)",
    )
    assert classify_reply(429, "", "7", now=0.0)[:2] == ("retry", 7.0)  # header as a fallback
    assert classify_reply(307, "", None, now=0.0)[0] == "retry"


def test_connection_refused_is_retried_without_leaking_the_token(fake: FakeTelegram) -> None:
    url = fake.url()
    fake.stop()
    outcome = post(TelegramNotifier(), build(target_for(url), DIGEST), timeout=2)
    assert outcome.status == "retry" and outcome.http_status is None
    assert outcome.error.startswith("telegram: connection failed: ")
    assert fake.token not in outcome.error
