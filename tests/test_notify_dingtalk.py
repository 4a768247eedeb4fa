"""DingTalk notifier: signing, golden payloads, inert content, exact sizes, splitting, replies.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeDingTalk``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite
``tests/data/payloads/dingtalk_*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeDingTalk, ManualClock, dingtalk_sign, pings
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outcome, Outgoing, Target, get_notifier
from worker.notify.dingtalk import (
    BODY_MAX,
    DingTalkNotifier,
    classify_reply,
    epoch_ms,
    escape_markdown,
    escape_text,
    safe_url,
    sign,
    signed_url,
)
from worker.notify.message import Entry, Message, split_message
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

SECRET = "this is secret"
VECTOR_TS = 1700000000000
VECTOR = "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="
HOSTILE = (
    '通知 <@zhangsan> @all @所有人 @13800000000 <at user_id="all">所有人</at> <!channel> '
    '<!here> <!everyone> @everyone @here <font color="#FF0000">红</font> *粗* _斜_ `码` '
    "[x](javascript:alert(1)) &lt;@all&gt; 完"
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
            "《科学技术普及法》[修订]解读*",
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
    mentions=Mentions(mobiles=("13800000000",), user_ids=("zhangsan",)),
)
LINKED = replace(DIGEST, entries=DIGEST.entries[:2], mentions=Mentions())


def started(fake: FakeDingTalk) -> Iterator[FakeDingTalk]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeDingTalk]:
    yield from started(FakeDingTalk(clock=clock))


@pytest.fixture()
def signed(clock: ManualClock) -> Iterator[FakeDingTalk]:
    yield from started(FakeDingTalk(secret=SECRET, clock=clock))


@pytest.fixture()
def guarded(clock: ManualClock) -> Iterator[FakeDingTalk]:
    yield from started(FakeDingTalk(keywords=("herald",), clock=clock))


def target_for(
    url: str = "https://oapi.dingtalk.com/robot/send?access_token=T",
    secret: str = "",
    **options: Any,
) -> Target:
    return Target(
        name="group",
        channel="dingtalk",
        url=url,
        secret=secret,
        options=SubscriberOptions(**options),
    )


def build(target: Target, message: Message, now: datetime = NOW) -> Outgoing:
    return DingTalkNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=now)


def deliver(target: Target, message: Message, now: datetime = NOW) -> Outcome:
    return post(DingTalkNotifier(), build(target, message, now), timeout=5)


def moment(clock: ManualClock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


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
# Signing


def test_sign_matches_the_spec_vector() -> None:
    assert sign(SECRET, VECTOR_TS) == VECTOR == dingtalk_sign(SECRET, VECTOR_TS)


def test_signed_url_encodes_the_signature_once() -> None:
    now = datetime.fromtimestamp(VECTOR_TS / 1000, UTC)
    url = signed_url("https://oapi.dingtalk.com/robot/send?access_token=T", SECRET, now)
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=T"
        "&timestamp=1700000000000&sign=sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0%3D"
    )
    assert signed_url("http://proxy.example/ding", SECRET, now).startswith(
        "http://proxy.example/ding?timestamp=1700000000000&sign="
    )


def test_epoch_ms_is_exact_and_needs_a_zone() -> None:
    assert epoch_ms(datetime(2023, 11, 14, 22, 13, 20, 999, tzinfo=UTC)) == 1700000000000
    assert epoch_ms(datetime(2023, 11, 14, 22, 13, 20, 1999, tzinfo=UTC)) == 1700000000001
    with pytest.raises(ValueError, match=r"^dingtalk: now must be timezone-aware"):
        epoch_ms(datetime(2023, 11, 14))


def test_signed_message_is_accepted(signed: FakeDingTalk, clock: ManualClock) -> None:
    # a moment whose signature holds "+" or "/": encoded twice, the fake would refuse it
    while not set(sign(SECRET, int(clock() * 1000))) & {"+", "/"}:
        clock.advance(0.001)
    target = target_for(signed.url(), SECRET)
    request = build(target, LINKED, moment(clock))
    assert "%2B" in request.url or "%2F" in request.url
    outcome = post(DingTalkNotifier(), request, timeout=5)
    assert outcome.status == "delivered", outcome.error
    assert signed.messages()[0].query == request.url.split("?", 1)[1]


def test_stale_or_wrong_signature_is_permanent(signed: FakeDingTalk, clock: ManualClock) -> None:
    stale = deliver(target_for(signed.url(), SECRET), LINKED, moment(clock) - timedelta(hours=2))
    assert stale.status == "failed" and stale.error.startswith("dingtalk: 310000")
    wrong = deliver(target_for(signed.url(), "other secret"), LINKED, moment(clock))
    assert wrong.status == "failed" and wrong.error.startswith("dingtalk: 310000")
    unsigned = deliver(target_for(signed.url()), LINKED, moment(clock))
    assert unsigned.status == "failed"
    assert signed.messages() == []


def test_keyword_is_added_when_missing(guarded: FakeDingTalk) -> None:
    without = deliver(target_for(guarded.url()), LINKED)
    assert without.status == "failed" and without.error.startswith("dingtalk: 310000")
    for msgtype in ("markdown", "feedCard"):
        target = target_for(guarded.url(), keyword="herald", msgtype=msgtype)
        assert deliver(target, LINKED).status == "delivered"
    markdown, feed = guarded.messages()
    assert markdown.body["markdown"]["text"].endswith("\n\nherald")
    assert feed.body["feedCard"]["links"][0]["title"].startswith("herald ")
    present = DingTalkNotifier().render(LINKED, target_for(keyword="科协"))
    assert present["markdown"]["text"].count("科协") == 3  # not added again


# --------------------------------------------------------------------------------------------
# Escaping (pure)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("@所有人 @all @13800000000", f"@{WJ}所有人 @{WJ}all @{WJ}13800000000"),
        ("<@zhangsan> <!here>", f"<{WJ}@{WJ}zhangsan> <{WJ}!here>"),
        ('<font color="#FF0000">红</font>', f'<{WJ}font color="#FF0000">红<{WJ}/font>'),
        ("*粗* _斜_ `码` ~删~", "\\*粗\\* \\_斜\\_ \\`码\\` \\~删\\~"),
        ("[x](javascript:alert(1))", f"\\[x\\]{WJ}(javascript:alert(1))"),
        ("### 标题\n- 列表", "\\### 标题 - 列表"),
        ("&#64;all", f"&{WJ}#64;all"),
    ],
)
def test_escape_markdown(raw: str, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


def test_escape_text_and_safe_url() -> None:
    assert escape_text("*标题* @all\n<b>") == f"*标题* @{WJ}all <{WJ}b>"
    assert safe_url("https://a.example/x y(1)") == "https://a.example/x%20y%281%29"
    assert safe_url("javascript:alert(1)") == safe_url("dingtalk://dingtalkclient/page") == ""


# --------------------------------------------------------------------------------------------
# Golden payloads


def test_golden_markdown() -> None:
    body = DingTalkNotifier().render(DIGEST, target_for())
    check_golden("dingtalk_markdown.json", body)
    assert body["markdown"]["title"] == "科协每日要闻"
    assert body["at"] == {"atMobiles": ["13800000000"], "atUserIds": ["zhangsan"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("\n\n@13800000000 @zhangsan")
    assert "ftp://" not in body["markdown"]["text"]


def test_golden_feed_card() -> None:
    target = target_for(msgtype="feedCard", pic_url="https://feeds.example.cn/logo.png")
    body = DingTalkNotifier().render(LINKED, target)
    check_golden("dingtalk_feedcard.json", body)
    links = body["feedCard"]["links"]
    assert [link["messageURL"] for link in links] == [e.url for e in LINKED.entries]
    assert all(link["picURL"] == "https://feeds.example.cn/logo.png" for link in links)


def test_feed_card_falls_back_to_markdown_without_linkable_entries() -> None:
    body = DingTalkNotifier().render(DIGEST, target_for(msgtype="feedCard"))
    assert body["msgtype"] == "markdown"
    with pytest.raises(ValueError, match=r"^dingtalk: unknown msgtype 'actionCard'"):
        DingTalkNotifier().render(DIGEST, target_for(msgtype="actionCard"))


# --------------------------------------------------------------------------------------------
# Content never pings, configured mentions do


@pytest.mark.parametrize("msgtype", ["markdown", "feedCard"])
def test_hostile_content_pings_nobody(fake: FakeDingTalk, msgtype: str) -> None:
    entry = Entry(HOSTILE, "https://example.cn/a.html", HOSTILE, "2026-11-30", HOSTILE)
    message = Message("digest", HOSTILE, (entry,), note=HOSTILE)
    outcome = deliver(target_for(fake.url(), msgtype=msgtype), message)
    assert outcome.status == "delivered", outcome.error
    [accepted] = fake.messages()
    assert (accepted.kind, pings(accepted)) == (msgtype, [])
    assert "at" not in accepted.body
    raw = accepted.raw.decode()
    for bad in ("<@", "<at", '<font color=\\"#FF', "<!", "@all", "@所有人", "@138", "@everyone"):
        assert bad not in raw
    if msgtype == "markdown":  # the title is the plain preview; the text is markdown
        text = accepted.body["markdown"]["text"]
        assert "](javascript" not in text and "*粗*" not in text


def test_configured_mentions_ping(fake: FakeDingTalk) -> None:
    mentions = Mentions(mobiles=("13800000000", "x"), user_ids=("zhangsan", "a b"), all=True)
    assert deliver(target_for(fake.url()), replace(LINKED, mentions=mentions)).status == (
        "delivered"
    )
    [accepted] = fake.messages()
    assert pings(accepted) == ["@all", "mobile:13800000000", "user:zhangsan"]
    assert accepted.body["markdown"]["text"].endswith("@13800000000 @zhangsan")


# --------------------------------------------------------------------------------------------
# Sizes


def test_body_of_exactly_the_limit_fits_and_is_accepted(fake: FakeDingTalk) -> None:
    notifier = DingTalkNotifier()
    target = target_for(fake.url())
    entry = LINKED.entries[0]
    one = replace(LINKED, entries=(replace(entry, summary="a"),))
    need = BODY_MAX - notifier.measure(notifier.render(one, target)) + 1
    exact = replace(one, entries=(replace(entry, summary="科" * (need // 3) + "a" * (need % 3)),))
    body = notifier.render(exact, target)
    assert notifier.measure(body) == BODY_MAX == notifier.limit_for(body) == notifier.limit
    assert notifier.fits(exact, target)
    over = replace(
        exact, entries=(replace(exact.entries[0], summary=exact.entries[0].summary + "a"),)
    )
    assert not notifier.fits(over, target)
    request = build(target, exact)
    assert len(request.body) == BODY_MAX
    assert post(notifier, request, timeout=5).status == "delivered"
    assert fake.messages()[0].size == BODY_MAX


def test_forty_long_entries_split_into_fitting_parts_in_order(fake: FakeDingTalk) -> None:
    notifier = DingTalkNotifier()
    target = target_for(fake.url())
    digest = Message("digest", "科技政策周报", long_entries(40, 600))
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert 1 < len(parts) <= 20
    assert [e for p in parts for e in p.entries] == list(digest.entries)
    for part in parts:
        assert notifier.fits(part, target)
        assert deliver(target, part).status == "delivered"
    received = fake.messages()
    assert [m.body["markdown"]["title"] for m in received] == [p.title for p in parts]
    assert all(m.size <= BODY_MAX for m in received)
    text = "".join(m.body["markdown"]["text"] for m in received)
    positions = [text.index(e.url) for e in digest.entries]
    assert positions == sorted(positions)


# --------------------------------------------------------------------------------------------
# build


def test_build_an_article_event() -> None:
    target = target_for()
    request = DingTalkNotifier().build(target, "article.created", "evt_7", ARTICLE, now=NOW)
    assert request.url == target.url  # no secret: no signature
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = json.loads(request.body)
    assert body["markdown"]["title"] == "中国科协"
    assert "中国科协 · 2026-11-30 09:30" in body["markdown"]["text"]


def test_build_shortens_a_single_overlong_article() -> None:
    data = {**ARTICLE, "summary": "调查" * 8000}
    request = DingTalkNotifier().build(target_for(), "article.created", "e", data, now=NOW)
    assert len(request.body) <= BODY_MAX
    text = json.loads(request.body)["markdown"]["text"]
    assert ARTICLE["title"] in text and ARTICLE["url"] in text and "…" in text


def test_build_refuses_a_message_that_needs_splitting() -> None:
    with pytest.raises(ValueError, match=r"^dingtalk: message does not fit in one request"):
        build(target_for(), Message("digest", "周报", long_entries(40, 600)))


def test_template_override(tmp_path: Path) -> None:
    path = tmp_path / "ding.j2"
    path.write_text(
        "#### {{ esc(message.title) }}\n\n共 {{ entries | length }} 篇\n", encoding="utf-8"
    )
    body = DingTalkNotifier().render(DIGEST, target_for(template=str(path)))
    assert body["markdown"]["text"] == "#### 科协每日要闻\n\n共 3 篇"


def test_registered() -> None:
    assert isinstance(NOTIFIERS["dingtalk"], DingTalkNotifier)
    assert get_notifier("dingtalk").channel == "dingtalk"


# --------------------------------------------------------------------------------------------
# Replies


def test_too_fast_throttles_the_robot_for_ten_minutes(
    fake: FakeDingTalk, clock: ManualClock
) -> None:
    target = target_for(fake.url())
    outcomes = [deliver(target, LINKED) for _ in range(21)]
    assert [o.status for o in outcomes[:20]] == ["delivered"] * 20
    assert (outcomes[20].status, outcomes[20].retry_after) == ("retry", 600.0)
    assert outcomes[20].error.startswith("dingtalk: 130101 send too fast")
    clock.advance(120)
    assert deliver(target, LINKED).retry_after == 600.0
    clock.advance(600)
    assert deliver(target, LINKED).status == "delivered"


@pytest.mark.parametrize(
    ("injected", "status", "retry_after", "error"),
    [
        (130101, "retry", 600.0, "dingtalk: 130101 send too fast"),
        (-1, "retry", None, "dingtalk: -1 系统繁忙"),
        (300001, "failed", None, "dingtalk: 300001 token is not exist"),
        (310000, "failed", None, "dingtalk: 310000 sign not match"),
        (460101, "failed", None, "dingtalk: 460101 message too long"),
        (40035, "failed", None, "dingtalk: 40035 缺少参数 json"),
        (502, "retry", None, "dingtalk: HTTP 502"),
        (410, "failed", None, "dingtalk: HTTP 410"),
    ],
)
def test_injected_replies(
    fake: FakeDingTalk,
    injected: int,
    status: str,
    retry_after: float | None,
    error: str,
) -> None:
    fake.fail_next(1, injected)
    outcome = deliver(target_for(fake.url()), LINKED)
    assert (outcome.status, outcome.retry_after) == (status, retry_after)
    assert outcome.error.startswith(error)


def test_bad_token_is_permanent(fake: FakeDingTalk) -> None:
    outcome = deliver(target_for(fake.url(token="nope")), LINKED)
    assert (outcome.status, outcome.http_status) == ("failed", 200)
    assert outcome.error.startswith("dingtalk: 300001")


def test_classify_reply_without_errcode() -> None:
    assert classify_reply(429, "", "30", now=0.0) == ("retry", 30.0, "dingtalk: HTTP 429")
    status, _, error = classify_reply(200, "not json", None, now=0.0)
    assert status == "retry" and error.startswith("dingtalk: unreadable reply")
