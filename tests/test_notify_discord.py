"""Discord notifier: golden payloads, inert content, exact sizes, splitting and reply handling.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeDiscord``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite ``tests/data/payloads/discord_*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeDiscord, ManualClock, pings
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outgoing, Target, get_notifier
from worker.notify.discord import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    TITLE_MAX,
    DiscordNotifier,
    check_body,
    classify_reply,
    escape_markdown,
    link_markdown,
)
from worker.notify.message import Entry, Message, split_message
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

HOSTILE = (
    '通知 <@U123ABC> @all @所有人 <at user_id="all">所有人</at> <!channel> <!here> '
    "<!everyone> @everyone @here <@123456789> <@!124> <@&77> <#55> <t:1700000000> "
    "@durov_fan **粗** _斜_ ~~删~~ `码` ||剧透|| [x](javascript:alert(1)) & 完"
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
            "省科协召开学会工作座谈会(第2期)",
            "https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&id=(2)",
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
    mentions=Mentions(user_ids=("112233445566778899",)),
)
ALERT_DATA = {
    "source": "cast-tzgg",
    "previous_status": "ok",
    "status": "failing",
    "reason": "fetch: HTTP 503 三次",
}


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeDiscord]:
    server = FakeDiscord(clock=clock)
    server.start()
    yield server
    server.stop()


def target_for(url: str = "https://discord.com/api/webhooks/1/tok", **options: Any) -> Target:
    return Target(name="guild", channel="discord", url=url, options=SubscriberOptions(**options))


def build(target: Target, message: Message) -> Outgoing:
    return DiscordNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=NOW)


def unescape(text: str) -> str:
    """Markdown as Discord shows it: backslash escapes removed, word joiners dropped."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text).replace(WJ, "")


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
# Escaping (pure)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("@everyone @here", f"@{WJ}everyone @{WJ}here"),
        ("<@123> <@&77> <#55>", f"\\<@{WJ}123\\> \\<@{WJ}&77\\> \\<#55\\>"),
        ("<t:1700000000>", "\\<t:1700000000\\>"),
        (
            "**粗** _斜_ ~~删~~ `码` ||x||",
            "\\*\\*粗\\*\\* \\_斜\\_ \\~\\~删\\~\\~ \\`码\\` \\|\\|x\\|\\|",
        ),
        ("[x](javascript:1)", "\\[x\\]\\(javascript:1\\)"),
        ("# 标题", "\\# 标题"),
        ("- 条目", "\\- 条目"),
        ("2026. 年", "2026\\. 年"),
        ("a\\b", "a\\\\b"),
        ("多行\n\n> 引用", "多行 \\> 引用"),
    ],
)
def test_escape_markdown(raw: str, escaped: str) -> None:
    assert escape_markdown(raw) == escaped
    assert unescape(escaped) == " ".join(raw.split())


def test_link_markdown_only_http() -> None:
    assert link_markdown("https://e.cn/a_(1)", "标题[1]") == "[标题［1］](https://e.cn/a_%281%29)"
    assert link_markdown("javascript:alert(1)", "点我") == "点我"
    assert link_markdown("https://e.cn/has space", "t") == "t"
    assert link_markdown("https://e.cn/1", "") == "[https://e.cn/1](https://e.cn/1)"


# --------------------------------------------------------------------------------------------
# Payloads


def test_golden_digest() -> None:
    body = DiscordNotifier().render(DIGEST, target_for())
    check_golden("discord_digest.json", body)
    assert body["allowed_mentions"] == {"parse": [], "users": ["112233445566778899"]}
    assert body["content"] == "<@112233445566778899>"
    [embed] = body["embeds"]
    assert (embed["title"], embed["url"]) == (
        "科协每日要闻",
        "https://feeds.example.cn/digest/2026-11-30.html",
    )
    label = "[省科协召开学会工作座谈会\\(第2期\\)]"
    url = "(https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&id=%282%29)"
    assert label + url in embed["description"]
    assert "**青少年科技创新大赛获奖名单公示**" in embed["description"]  # ftp link dropped


def test_golden_instant_from_article_event() -> None:
    request = DiscordNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    body = json.loads(request.body)
    check_golden("discord_instant.json", body)
    assert body["allowed_mentions"] == {"parse": []}
    assert "content" not in body
    assert "*中国科协 · 2026-11-30 09:30*" in body["embeds"][0]["description"]
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    again = DiscordNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    assert again.body == request.body


def test_golden_alert() -> None:
    request = DiscordNotifier().build(target_for(), "source.health", "evt_9", ALERT_DATA, now=NOW)
    body = json.loads(request.body)
    check_golden("discord_alert.json", body)
    assert body["embeds"] == [
        {
            "title": "herald: source failing",
            "description": "cast-tzgg: ok → failing — fetch: HTTP 503 三次",
        }
    ]


def test_template_override(tmp_path: Path) -> None:
    override = tmp_path / "mine.j2"
    override.write_text(
        "{% for e in entries %}• {{ link(e.url, e.title) }}\n{% endfor %}", encoding="utf-8"
    )
    body = DiscordNotifier().render(DIGEST, target_for(template=str(override)))
    assert body["embeds"][0]["description"].splitlines()[2] == "• 青少年科技创新大赛获奖名单公示"


def test_registered() -> None:
    assert isinstance(NOTIFIERS["discord"], DiscordNotifier)
    assert get_notifier("discord").channel == "discord"


# --------------------------------------------------------------------------------------------
# Safety against the fake


def test_hostile_content_arrives_harmless(fake: FakeDiscord) -> None:
    message = Message(
        "digest",
        HOSTILE,
        (Entry(HOSTILE, "https://e.cn/1", HOSTILE, "2026-11-30", HOSTILE),),
        note=HOSTILE,
        mentions=Mentions(all=True),  # not supported: must not become @everyone
    )
    request = build(target_for(fake.url()), message)
    outcome = post(DiscordNotifier(), request, timeout=5)
    assert (outcome.status, outcome.error) == ("delivered", "")
    [received] = fake.messages()
    assert pings(received) == []
    assert received.body["allowed_mentions"] == {"parse": []}
    assert "content" not in received.body  # content, the only text that can ping, is unused
    [embed] = received.body["embeds"]
    assert embed["title"].replace(WJ, "") == HOSTILE
    assert "@everyone" not in embed["title"] and "<@1" not in embed["title"]
    description = embed["description"]
    visible = unescape(description).replace("［", "[").replace("］", "]")  # link label brackets
    assert visible.count(HOSTILE) == 4  # note, title, source line, summary
    # every "<" and "@" from content is escaped or joined, so nothing can render as a mention
    assert not re.search(r"(?<!\\)<|@(?!\u2060)", description)


def test_configured_mentions_are_the_only_pings(fake: FakeDiscord) -> None:
    mentions = Mentions(user_ids=("112233445566778899", "bob", "<@&77>", "@everyone"), all=True)
    message = replace(DIGEST, heading="@everyone", mentions=mentions)
    outcome = post(DiscordNotifier(), build(target_for(fake.url()), message), timeout=5)
    assert outcome.status == "delivered"
    [received] = fake.messages()
    assert pings(received) == ["user:112233445566778899"]
    assert received.body["content"] == "<@112233445566778899>"


# --------------------------------------------------------------------------------------------
# Sizes


def test_embed_total_is_exact(fake: FakeDiscord) -> None:
    notifier, target = DiscordNotifier(), target_for(fake.url())

    def message(summary_chars: int) -> Message:
        first, second = long_entries(2, 2900)
        second = replace(second, summary="字" * summary_chars)
        return Message("digest", "边界", (first, second))

    # from 2000 characters on, the second entry has an embed of its own: one more character of
    # summary is one more character counted
    base = notifier.measure(notifier.render(message(2000), target)) - 2000
    exact = message(EMBED_TOTAL_MAX - base)
    assert notifier.measure(notifier.render(exact, target)) == EMBED_TOTAL_MAX == notifier.limit
    assert notifier.fits(exact, target)
    over = message(EMBED_TOTAL_MAX - base + 1)
    assert not notifier.fits(over, target)
    assert check_body(notifier.render(over, target)) == [
        f"discord: embeds hold {EMBED_TOTAL_MAX + 1} characters, limit {EMBED_TOTAL_MAX}"
    ]
    assert post(notifier, build(target, exact), timeout=5).status == "delivered"
    assert fake.messages()[0].extra["embed_chars"] == EMBED_TOTAL_MAX


def test_description_limit_is_exact(fake: FakeDiscord, clock: ManualClock) -> None:
    notifier, target = DiscordNotifier(), target_for(fake.url())
    exact = Message(
        "instant", "边", (Entry("标题", "https://e.cn/1", summary="字" * DESCRIPTION_MAX),)
    )
    body = notifier.render(exact, target)
    assert max(len(e.get("description", "")) for e in body["embeds"]) == DESCRIPTION_MAX
    assert notifier.fits(exact, target)
    over = replace(exact, entries=(replace(exact.entries[0], summary="字" * 4097),))
    assert check_body(notifier.render(over, target)) == [
        "discord: embed 1 description is 4097 chars, limit 4096"
    ]
    assert post(notifier, build(target, exact), timeout=5).status == "delivered"
    # the platform agrees: the one-character-longer body is a permanent failure
    clock.advance(2.0)
    raw = json.dumps(notifier.render(over, target), ensure_ascii=False).encode("utf-8")
    refused = post(notifier, replace(build(target, exact), body=raw), timeout=5)
    assert (refused.status, refused.http_status) == ("failed", 400)
    assert refused.error == "discord: HTTP 400 50035 Invalid Form Body"


def test_title_is_shortened_keeping_part_number() -> None:
    body = DiscordNotifier().render(Message("digest", "长" * 400, part=3, parts=4), target_for())
    title = body["embeds"][0]["title"]
    assert len(title) == TITLE_MAX and title.endswith("… (3/4)")


def test_split_forty_long_chinese_entries(fake: FakeDiscord, clock: ManualClock) -> None:
    notifier, target = DiscordNotifier(), target_for(fake.url())
    digest = Message("digest", "本周要闻", long_entries(40, 700))
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert len(parts) >= 4
    assert all(notifier.fits(part, target) for part in parts)
    assert [e.title for part in parts for e in part.entries] == [e.title for e in digest.entries]
    assert [e.summary for part in parts for e in part.entries] == [
        e.summary for e in digest.entries
    ]
    for part in parts:
        outcome = post(notifier, build(target, part), timeout=5)
        assert outcome.status == "delivered", outcome.error
        clock.advance(2.0)
    text = "\n".join(unescape(m.text) for m in fake.messages())
    positions = [text.index(e.title) for e in digest.entries]
    assert positions == sorted(positions)
    assert [m.body["embeds"][0]["title"] for m in fake.messages()][-1] == (
        f"本周要闻 ({len(parts)}/{len(parts)})"
    )
    assert fake.rejections() == []


def test_build_shortens_a_single_entry_that_is_too_long() -> None:
    huge = Message("instant", "单条", (Entry("标题", "https://e.cn/1", summary="长" * 9000),))
    body = json.loads(build(target_for(), huge).body)
    assert check_body(body) == []
    assert body["embeds"][0]["description"].startswith("**[标题](https://e.cn/1)**\n长")
    assert body["embeds"][-1]["description"].endswith("…")


def test_build_refuses_a_message_that_needs_several_requests() -> None:
    with pytest.raises(ValueError, match=r"^discord: message needs \d+ requests"):
        build(target_for(), Message("digest", "太长", long_entries(20, 700)))


# --------------------------------------------------------------------------------------------
# Replies


def test_rate_limited_uses_json_retry_after(fake: FakeDiscord, clock: ManualClock) -> None:
    notifier, target = DiscordNotifier(), target_for(fake.url())
    for _ in range(5):
        assert post(notifier, build(target, DIGEST), timeout=5).status == "delivered"
    clock.advance(0.75)
    limited = post(notifier, build(target, DIGEST), timeout=5)
    assert (limited.status, limited.http_status) == ("retry", 429)
    assert limited.retry_after == 1.25  # the JSON float, not the rounded Retry-After header (2)
    assert limited.error == "discord: HTTP 429 You are being rate limited."


@pytest.mark.parametrize(
    ("setup", "status", "error"),
    [
        ("unknown_webhook", "failed", "discord: HTTP 404 10015 Unknown Webhook"),
        ("bad_token", "failed", "discord: HTTP 401 50027 Invalid Webhook Token"),
        ("injected_10015", "failed", "discord: HTTP 404 10015 Unknown Webhook"),
        ("injected_502", "retry", "discord: HTTP 502 502: Bad Gateway"),
    ],
)
def test_reply_classification(fake: FakeDiscord, setup: str, status: str, error: str) -> None:
    url = fake.url()
    if setup == "unknown_webhook":
        url = url.replace(fake.webhook_id, "999")
    elif setup == "bad_token":
        url = url.replace(fake.token, "wrong-token")
    else:
        fake.fail_next(1, int(setup.rsplit("_", 1)[1]))
    outcome = post(DiscordNotifier(), build(target_for(url), DIGEST), timeout=5)
    assert (outcome.status, outcome.error) == (status, error)
    assert fake.messages() == []


def test_wait_true_and_pure_classification(fake: FakeDiscord) -> None:
    outcome = post(DiscordNotifier(), build(target_for(fake.url(wait=True)), DIGEST), timeout=5)
    assert (outcome.status, outcome.http_status) == ("delivered", 200)
    assert classify_reply(204, "", None, now=0.0) == ("delivered", None, "")
    assert classify_reply(429, "", "3", now=0.0)[:2] == ("retry", 3.0)  # header as a fallback
    assert classify_reply(301, "", None, now=0.0)[0] == "retry"
    assert classify_reply(403, '{"message": "Missing Access", "code": 50001}', None, now=0.0) == (
        "failed",
        None,
        "discord: HTTP 403 50001 Missing Access",
    )


def test_connection_refused_is_retried_without_leaking_the_token(fake: FakeDiscord) -> None:
    url = fake.url()
    fake.stop()
    outcome = post(DiscordNotifier(), build(target_for(url), DIGEST), timeout=2)
    assert outcome.status == "retry" and outcome.http_status is None
    assert outcome.error.startswith("discord: connection failed: ")
    assert fake.token not in outcome.error
