"""Slack notifier: golden payloads, inert content, exact sizes, splitting and reply handling.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeSlack``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite ``tests/data/payloads/slack_*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeSlack, ManualClock, pings, slack_visible
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outgoing, Reply, Target, get_notifier
from worker.notify.message import Entry, Message, split_message
from worker.notify.slack import (
    HEADER_MAX,
    SECTION_MAX,
    SlackNotifier,
    check_body,
    classify_reply,
    escape_mrkdwn,
    link_mrkdwn,
    pack_text,
)
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

HOSTILE = (
    '通知 <@U123ABC> @all @所有人 <at user_id="all">所有人</at> <!channel> <!here> '
    "<!everyone> @everyone @here <@123456789> <@&77> @durov_fan *粗* _斜_ ~删~ `码` "
    "[x](javascript:alert(1)) <https://evil.example|点我> & 完"
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
            "https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&id=2",
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
    mentions=Mentions(user_ids=("U0HERALD1",)),
)
ALERT_DATA = {
    "source": "cast-tzgg",
    "previous_status": "ok",
    "status": "failing",
    "reason": "fetch: HTTP 503 三次",
}


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeSlack]:
    server = FakeSlack(clock=clock)
    server.start()
    yield server
    server.stop()


def target_for(url: str = "https://hooks.slack.com/services/T0/B0/x", **options: Any) -> Target:
    return Target(name="team", channel="slack", url=url, options=SubscriberOptions(**options))


def build(target: Target, message: Message) -> Outgoing:
    return SlackNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=NOW)


def readable(text: str) -> str:
    """Visible text with the neutralising characters undone, to compare with the original."""
    back = str.maketrans({"∗": "*", "＿": "_", "∼": "~", "ˋ": "`", "｜": "|"})
    return text.replace(WJ, "").translate(back)


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
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("<@U123ABC>", f"&lt;@{WJ}U123ABC&gt;"),
        ("@everyone @here @all @所有人", f"@{WJ}everyone @{WJ}here @{WJ}all @{WJ}所有人"),
        ('<at user_id="all">所有人</at>', '&lt;at user＿id="all"&gt;所有人&lt;/at&gt;'),
        ("*粗* _斜_ ~删~ `码`", "∗粗∗ ＿斜＿ ∼删∼ ˋ码ˋ"),
        ("A & B\n\n  C", "A &amp; B C"),
        ("> 引用", f"{WJ}&gt; 引用"),
    ],
)
def test_escape_mrkdwn(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


def test_link_mrkdwn_only_http_and_escapes_label_and_url() -> None:
    assert link_mrkdwn("https://e.cn/a?x=1&y=2", "A|B > C") == (
        "<https://e.cn/a?x=1&amp;y=2|A｜B &gt; C>"
    )
    assert link_mrkdwn("https://e.cn/a|b>c", "t") == "<https://e.cn/a%7Cb%3Ec|t>"
    assert link_mrkdwn("javascript:alert(1)", "点我") == "点我"
    assert link_mrkdwn("ftp://e.cn/x", "<!here>") == "&lt;!here&gt;"
    assert link_mrkdwn("https://e.cn/has space", "t") == "t"
    assert link_mrkdwn("https://e.cn/1", "") == "<https://e.cn/1|https://e.cn/1>"


def test_pack_text_cuts_at_paragraphs_then_lines() -> None:
    assert pack_text("a\n\nb\n\n\n\nc", 4) == ["a\n\nb", "c"]
    assert pack_text("aa\nbb\ncc", 5) == ["aa\nbb", "cc"]
    assert pack_text("x" * 7, 5) == ["x" * 7]  # a line is never cut
    assert pack_text("", 5) == []


# --------------------------------------------------------------------------------------------
# Payloads


def test_golden_digest() -> None:
    body = SlackNotifier().render(DIGEST, target_for())
    check_golden("slack_digest.json", body)
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "科协每日要闻"},
    }
    section = body["blocks"][1]["text"]["text"]
    assert "<https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&amp;id=2|" in section
    assert "ftp://" not in section  # a non-http link is dropped, its title kept
    assert "*青少年科技创新大赛获奖名单公示*" in section
    assert body["blocks"][-1]["text"]["text"] == "<@U0HERALD1>"


def test_golden_instant_from_article_event() -> None:
    request = SlackNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    body = json.loads(request.body)
    check_golden("slack_instant.json", body)
    assert "_中国科协 · 2026-11-30 09:30_" in body["blocks"][1]["text"]["text"]  # Beijing time
    assert body["text"] == "中国科协：关于开展2026年度科技工作者状况调查的通知"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.url == "https://hooks.slack.com/services/T0/B0/x"
    again = SlackNotifier().build(target_for(), "article.created", "evt_7", ARTICLE, now=NOW)
    assert again.body == request.body


def test_golden_alert() -> None:
    request = SlackNotifier().build(target_for(), "source.health", "evt_9", ALERT_DATA, now=NOW)
    body = json.loads(request.body)
    check_golden("slack_alert.json", body)
    assert body["text"] == "herald: source failing"
    assert body["blocks"][1]["text"]["text"] == "cast-tzgg: ok → failing — fetch: HTTP 503 三次"


def test_template_override(tmp_path: Path) -> None:
    override = tmp_path / "mine.j2"
    override.write_text(
        "{% for e in entries %}• {{ link(e.url, e.title) }}（{{ esc(e.source) }}）\n{% endfor %}",
        encoding="utf-8",
    )
    body = SlackNotifier().render(DIGEST, target_for(template=str(override)))
    assert body["blocks"][1]["text"]["text"].splitlines()[1] == (
        "• <https://www.jskx.org.cn/news/2026/1130/2.html?from=rss&amp;id=2|省科协召开学会工作座谈会>"
        "（江苏省科协）"
    )


def test_registered() -> None:
    assert isinstance(NOTIFIERS["slack"], SlackNotifier)
    assert get_notifier("slack").channel == "slack"


# --------------------------------------------------------------------------------------------
# Safety against the fake


def test_hostile_content_arrives_harmless(fake: FakeSlack) -> None:
    message = Message(
        "digest",
        HOSTILE,
        (Entry(HOSTILE, "https://e.cn/1", HOSTILE, "2026-11-30", HOSTILE),),
        note=HOSTILE,
    )
    request = build(target_for(fake.url()), message)
    outcome = post(SlackNotifier(), request, timeout=5)
    assert (outcome.status, outcome.error) == ("delivered", "")
    [received] = fake.messages()
    assert pings(received) == []
    visible = readable(received.text)
    assert visible.count(HOSTILE) == 4  # note, title, source line, summary: all literal
    header = received.body["blocks"][0]["text"]["text"]  # plain text, shortened to 150
    assert len(header) == HEADER_MAX and HOSTILE.startswith(header.removesuffix("…"))
    assert readable(slack_visible(received.body["text"])) == f"{HOSTILE}：{HOSTILE}"


def test_configured_mentions_are_the_only_pings(fake: FakeSlack) -> None:
    mentions = Mentions(user_ids=("U0HERALD1", "bob", "<!here>", "W0GUEST2"), all=True)
    message = replace(DIGEST, heading="@here <!here>", mentions=mentions)
    outcome = post(SlackNotifier(), build(target_for(fake.url()), message), timeout=5)
    assert outcome.status == "delivered"
    assert pings(fake.messages()[0]) == ["@channel", "user:U0HERALD1", "user:W0GUEST2"]


# --------------------------------------------------------------------------------------------
# Sizes


def test_section_limit_is_exact(fake: FakeSlack, clock: ManualClock) -> None:
    notifier, target = SlackNotifier(), target_for(fake.url())
    exact = Message(
        "instant", "边界", (Entry("标题", "https://e.cn/1", summary="字" * SECTION_MAX),)
    )
    body = notifier.render(exact, target)
    assert notifier.measure(body) == SECTION_MAX == notifier.limit
    assert notifier.fits(exact, target)
    over = replace(exact, entries=(replace(exact.entries[0], summary="字" * (SECTION_MAX + 1)),))
    assert not notifier.fits(over, target)
    assert check_body(notifier.render(over, target)) == [
        f"slack: section is {SECTION_MAX + 1} characters, limit {SECTION_MAX}"
    ]
    sent = post(notifier, build(target, exact), timeout=5)
    assert sent.status == "delivered"
    assert max(len(t) for t in fake.messages()[0].text.split("\n")) == SECTION_MAX
    # the platform agrees: the one-character-longer body is refused as a permanent failure
    clock.advance(1.0)
    raw = json.dumps(notifier.render(over, target), ensure_ascii=False).encode("utf-8")
    refused = post(
        notifier, Outgoing(target.url, raw, {"Content-Type": "application/json"}), timeout=5
    )
    assert (refused.status, refused.http_status) == ("failed", 400)
    assert refused.error == "slack: HTTP 400 invalid_blocks"


def test_block_count_limit_is_exact(fake: FakeSlack, clock: ManualClock) -> None:
    notifier, target = SlackNotifier(), target_for(fake.url())
    entries = long_entries(50, 2000)  # one section each: two never share 3000 characters
    full = Message("digest", "五十块", entries[:49])
    assert len(notifier.render(full, target)["blocks"]) == 50
    assert notifier.fits(full, target)
    assert not notifier.fits(replace(full, entries=entries), target)
    assert post(notifier, build(target, full), timeout=5).status == "delivered"
    assert fake.messages()[0].extra["blocks"] == 50


def test_header_is_shortened_keeping_part_number() -> None:
    notifier = SlackNotifier()
    message = Message("digest", "长" * 400, part=2, parts=12)
    header = notifier.render(message, target_for())["blocks"][0]["text"]["text"]
    assert len(header) == HEADER_MAX
    assert header.endswith("… (2/12)")


def test_split_forty_long_chinese_entries(fake: FakeSlack, clock: ManualClock) -> None:
    notifier, target = SlackNotifier(), target_for(fake.url())
    digest = Message("digest", "本周要闻", long_entries(40, 2980))
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert len(parts) >= 2
    assert all(notifier.fits(part, target) for part in parts)
    assert [e.title for part in parts for e in part.entries] == [e.title for e in digest.entries]
    assert [e.summary for part in parts for e in part.entries] == [
        e.summary for e in digest.entries
    ]
    assert [p.title for p in parts][:1] == [f"本周要闻 (1/{len(parts)})"]
    for part in parts:
        outcome = post(notifier, build(target, part), timeout=5)
        assert outcome.status == "delivered", outcome.error
        clock.advance(1.0)
    text = "\n".join(m.text for m in fake.messages())
    positions = [text.index(e.title) for e in digest.entries]
    assert positions == sorted(positions)
    assert fake.rejections() == []


def test_build_shortens_a_single_entry_that_is_too_long() -> None:
    huge = Message("instant", "单条", (Entry("标题", "https://e.cn/1", summary="长" * 9000),))
    body = json.loads(build(target_for(), huge).body)
    assert check_body(body) == []
    assert body["blocks"][1]["text"]["text"].endswith("…")
    assert "<https://e.cn/1|标题>" in body["blocks"][1]["text"]["text"]


def test_build_refuses_a_message_that_needs_several_requests() -> None:
    with pytest.raises(ValueError, match=r"^slack: message needs \d+ requests"):
        build(target_for(), Message("digest", "太长", long_entries(60, 2980)))


# --------------------------------------------------------------------------------------------
# Replies


def test_rate_limited_is_retried_after_retry_after(fake: FakeSlack, clock: ManualClock) -> None:
    notifier, target = SlackNotifier(), target_for(fake.url())
    assert post(notifier, build(target, DIGEST), timeout=5).status == "delivered"
    clock.advance(0.2)
    limited = post(notifier, build(target, DIGEST), timeout=5)
    assert (limited.status, limited.http_status, limited.retry_after) == ("retry", 429, 1.0)
    assert limited.error == "slack: HTTP 429 rate_limited"
    fake.fail_next(1, "rate_limited")
    clock.advance(5.0)
    injected = post(notifier, build(target, DIGEST), timeout=5)
    assert (injected.status, injected.retry_after) == ("retry", 1.0)


@pytest.mark.parametrize(
    ("setup", "status", "error"),
    [
        ("bad_url", "failed", "slack: HTTP 404 no_service"),
        ("archived", "failed", "slack: HTTP 410 channel_is_archived"),
        ("invalid_payload", "failed", "slack: HTTP 400 invalid_payload"),
        ("action_prohibited", "failed", "slack: HTTP 403 action_prohibited"),
        ("rollup_error", "retry", "slack: HTTP 500 rollup_error"),
    ],
)
def test_reply_classification(fake: FakeSlack, setup: str, status: str, error: str) -> None:
    url = fake.url()
    if setup == "bad_url":
        url = url.replace(fake.secret, "WRONGSECRET")
    elif setup == "archived":
        fake.archived = True
    else:
        fake.fail_next(1, setup)
    outcome = post(SlackNotifier(), build(target_for(url), DIGEST), timeout=5)
    assert (outcome.status, outcome.error) == (status, error)
    assert outcome.retry_after is None
    assert fake.messages() == []


def test_redirects_and_pure_classification() -> None:
    assert classify_reply(200, "ok", None, now=0.0) == ("delivered", None, "")
    moved = SlackNotifier().classify(Reply(302, location="https://hooks.example/elsewhere"))
    assert (moved.status, moved.http_status) == ("failed", 302)
    assert moved.error == "slack: HTTP 302 redirect to https://hooks.example/elsewhere not followed"
    assert classify_reply(429, "rate_limited", "30", now=0.0)[:2] == ("retry", 30.0)
    assert classify_reply(408, "", None, now=0.0)[0] == "retry"
    assert classify_reply(401, "invalid_token", None, now=0.0)[0] == "failed"


def test_connection_refused_is_retried_without_leaking_the_secret(fake: FakeSlack) -> None:
    url = fake.url()
    fake.stop()
    outcome = post(SlackNotifier(), build(target_for(url), DIGEST), timeout=2)
    assert outcome.status == "retry" and outcome.http_status is None
    assert outcome.error.startswith("slack: connection failed: ")
    assert fake.secret not in outcome.error
