"""Feishu notifier: signing, golden payloads, inert content, exact sizes, splitting, replies.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeFeishu``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite ``tests/data/payloads/feishu_*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeFeishu, ManualClock, feishu_sign, pings
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outcome, Outgoing, Target, get_notifier
from worker.notify.feishu import (
    BODY_MAX,
    FeishuNotifier,
    classify_reply,
    epoch_seconds,
    escape_lark_md,
    escape_text,
    sign,
    signed_body,
)
from worker.notify.message import Entry, Message, split_message
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

SECRET = "demo"
VECTOR_TS = 1599360473
VECTOR = "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
HOSTILE = (
    '通知 <at user_id="all">所有人</at> <at id=all></at> <at user_id="ou_1">张三</at> '
    "<@zhangsan> @all @所有人 <!channel> <!here> <!everyone> @everyone @here "
    "*粗* _斜_ ~删~ `码` [x](javascript:alert(1)) &lt;at id=all&gt; 完"
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
    mentions=Mentions(user_ids=("ou_7d8a6e6df7621556ce0d21922b676706",)),
)


def started(fake: FakeFeishu) -> Iterator[FakeFeishu]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeFeishu]:
    yield from started(FakeFeishu(clock=clock))


@pytest.fixture()
def signed(clock: ManualClock) -> Iterator[FakeFeishu]:
    yield from started(FakeFeishu(secret=SECRET, clock=clock))


@pytest.fixture()
def guarded(clock: ManualClock) -> Iterator[FakeFeishu]:
    yield from started(FakeFeishu(keywords=("herald",), clock=clock))


def target_for(
    url: str = "https://open.feishu.cn/open-apis/bot/v2/hook/T", secret: str = "", **options: Any
) -> Target:
    return Target(
        name="group", channel="feishu", url=url, secret=secret, options=SubscriberOptions(**options)
    )


def build(target: Target, message: Message, now: datetime = NOW) -> Outgoing:
    return FeishuNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=now)


def deliver(target: Target, message: Message, now: datetime = NOW) -> Outcome:
    return post(FeishuNotifier(), build(target, message, now), timeout=5)


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


def post_texts(body: dict[str, Any]) -> list[str]:
    post = body["content"]["post"]["zh_cn"]
    return [post["title"]] + [
        element.get("text", "") for paragraph in post["content"] for element in paragraph
    ]


# --------------------------------------------------------------------------------------------
# Signing


def test_sign_matches_the_spec_vector() -> None:
    assert sign(SECRET, VECTOR_TS) == VECTOR == feishu_sign(SECRET, VECTOR_TS)


def test_signature_sits_at_the_top_of_the_body() -> None:
    now = datetime.fromtimestamp(VECTOR_TS, UTC)
    body = signed_body({"msg_type": "text"}, SECRET, now)
    assert body == {"timestamp": "1599360473", "sign": VECTOR, "msg_type": "text"}
    request = build(target_for(secret=SECRET), DIGEST, now)
    assert request.body.startswith(f'{{"timestamp":"1599360473","sign":"{VECTOR}",'.encode())
    assert epoch_seconds(now + timedelta(milliseconds=999)) == VECTOR_TS
    with pytest.raises(ValueError, match=r"^feishu: now must be timezone-aware"):
        epoch_seconds(datetime(2020, 9, 6))


def test_signed_message_is_accepted(signed: FakeFeishu, clock: ManualClock) -> None:
    outcome = deliver(target_for(signed.url(), SECRET), DIGEST, moment(clock))
    assert outcome.status == "delivered", outcome.error
    assert signed.messages()[0].body["timestamp"] == str(int(clock()))


def test_signature_two_hours_stale_is_permanent(signed: FakeFeishu, clock: ManualClock) -> None:
    stale = deliver(target_for(signed.url(), SECRET), DIGEST, moment(clock) - timedelta(hours=2))
    assert (stale.status, stale.retry_after) == ("failed", None)
    assert stale.error.startswith("feishu: 19021 sign match fail")
    wrong = deliver(target_for(signed.url(), "not demo"), DIGEST, moment(clock))
    assert wrong.status == "failed" and wrong.error.startswith("feishu: 19021")
    assert signed.messages() == []


@pytest.mark.parametrize("msgtype", ["post", "interactive"])
def test_keyword_is_added_when_missing(guarded: FakeFeishu, msgtype: str) -> None:
    without = deliver(target_for(guarded.url(), msgtype=msgtype), DIGEST)
    assert without.status == "failed" and without.error.startswith("feishu: 19024")
    target = target_for(guarded.url(), keyword="herald", msgtype=msgtype)
    assert deliver(target, DIGEST).status == "delivered"
    present = FeishuNotifier().render(DIGEST, target_for(keyword="科协", msgtype=msgtype))
    assert present == FeishuNotifier().render(DIGEST, target_for(msgtype=msgtype))


# --------------------------------------------------------------------------------------------
# Escaping (pure)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ('<at user_id="all">所有人</at>', f'<{WJ}at user_id="all">所有人<{WJ}/at>'),
        ("@all @所有人 a@b", f"@{WJ}all @{WJ}所有人 a@{WJ}b"),
        ("&lt;at id=all&gt;", f"&{WJ}lt;at id=all&{WJ}gt;"),
        ("*粗* [x](y)\n\n下一段", "*粗* [x](y) 下一段"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<at id=all></at>", "&#60;at id=all&#62;&#60;/at&#62;"),
        ("*粗* _斜_ ~删~ `码`", "&#42;粗&#42; &#95;斜&#95; &#126;删&#126; &#96;码&#96;"),
        ("[x](javascript:alert(1)) \\", "&#91;x&#93;(javascript:alert(1)) &#92;"),
        ("# 标题", "&#35; 标题"),
        ("@所有人 &lt;", f"@{WJ}所有人 &{WJ}lt;"),
    ],
)
def test_escape_lark_md(raw: str, escaped: str) -> None:
    assert escape_lark_md(raw) == escaped


# --------------------------------------------------------------------------------------------
# Golden payloads


def test_golden_post_signed() -> None:
    body = json.loads(build(target_for(secret=SECRET), DIGEST).body)
    check_golden("feishu_post.json", body)
    assert body["timestamp"] == str(epoch_seconds(NOW))
    texts = post_texts(body)
    assert texts[0] == "科协每日要闻" and "《科学技术普及法》[修订]解读*" in texts
    assert "ftp://" not in json.dumps(body)
    assert body["content"]["post"]["zh_cn"]["content"][-1] == [
        {"tag": "at", "user_id": "ou_7d8a6e6df7621556ce0d21922b676706"}
    ]


def test_golden_card() -> None:
    body = FeishuNotifier().render(DIGEST, target_for(msgtype="interactive"))
    check_golden("feishu_card.json", body)
    card = body["card"]
    assert card["header"]["title"]["content"] == "科协每日要闻"
    assert card["elements"][0]["text"]["content"] == (
        "**1. [关于开展2026年度科技工作者状况调查的通知]"
        "(https://www.cast.org.cn/xw/tzgg/art/2026/art_1.html)**"
    )


def test_unknown_msgtype_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^feishu: unknown msgtype 'text'"):
        FeishuNotifier().render(DIGEST, target_for(msgtype="text"))


# --------------------------------------------------------------------------------------------
# Content never pings, configured mentions do


@pytest.mark.parametrize("msgtype", ["post", "interactive"])
def test_hostile_content_pings_nobody(fake: FakeFeishu, msgtype: str) -> None:
    entry = Entry(HOSTILE, "https://example.cn/a.html", HOSTILE, "2026-11-30", HOSTILE)
    message = Message("digest", HOSTILE, (entry,), note=HOSTILE, link="javascript:alert(2)")
    outcome = deliver(target_for(fake.url(), msgtype=msgtype), message)
    assert outcome.status == "delivered", outcome.error
    [accepted] = fake.messages()
    assert (accepted.kind, pings(accepted)) == (msgtype, [])
    raw = accepted.raw.decode()
    for bad in ("<at", "<@", "<!", "@all", "@所有人", "@everyone", "javascript:alert(2)"):
        assert bad not in raw
    if msgtype == "post":
        assert accepted.text.replace(WJ, "").count(HOSTILE) == 5


@pytest.mark.parametrize("msgtype", ["post", "interactive"])
def test_configured_mentions_ping(fake: FakeFeishu, msgtype: str) -> None:
    mentions = Mentions(mobiles=("13800000000",), user_ids=("ou_1", 'x" y'), all=True)
    target = target_for(fake.url(), msgtype=msgtype)
    assert deliver(target, replace(DIGEST, mentions=mentions)).status == "delivered"
    assert pings(fake.messages()[0]) == ["@all", "user:ou_1"]


# --------------------------------------------------------------------------------------------
# Sizes


@pytest.mark.parametrize("msgtype", ["post", "interactive"])
def test_signed_body_of_exactly_the_limit_fits_and_is_accepted(
    signed: FakeFeishu, clock: ManualClock, msgtype: str
) -> None:
    notifier = FeishuNotifier()
    target = target_for(signed.url(), SECRET, msgtype=msgtype)
    entry = DIGEST.entries[0]
    one = replace(DIGEST, entries=(replace(entry, summary="a"),))
    unsigned = notifier.measure(notifier.render(one, target))
    need = BODY_MAX - unsigned - len(b'"timestamp":"1700000000","sign":"",') - 44 + 1
    exact = replace(one, entries=(replace(entry, summary="科" * (need // 3) + "a" * (need % 3)),))
    request = build(target, exact, moment(clock))
    assert len(request.body) == BODY_MAX == notifier.measure(json.loads(request.body))
    assert notifier.fits(exact, target)
    over = replace(
        exact, entries=(replace(exact.entries[0], summary=exact.entries[0].summary + "a"),)
    )
    assert not notifier.fits(over, target)
    assert post(notifier, request, timeout=5).status == "delivered"
    assert signed.messages()[0].size == BODY_MAX


def test_forty_long_entries_split_into_fitting_parts_in_order(
    signed: FakeFeishu, clock: ManualClock
) -> None:
    notifier = FeishuNotifier()
    target = target_for(signed.url(), SECRET)
    digest = Message("digest", "科技政策周报", long_entries(40, 600))
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert len(parts) > 1
    assert [e for p in parts for e in p.entries] == list(digest.entries)
    for part in parts:
        assert notifier.fits(part, target)
        assert deliver(target, part, moment(clock)).status == "delivered"
        clock.advance(0.5)
    received = signed.messages()
    assert [m.body["content"]["post"]["zh_cn"]["title"] for m in received] == [
        p.title for p in parts
    ]
    assert all(m.size <= BODY_MAX for m in received)
    hrefs = [
        element["href"]
        for m in received
        for paragraph in m.body["content"]["post"]["zh_cn"]["content"]
        for element in paragraph
        if element["tag"] == "a"
    ]
    assert hrefs == [e.url for e in digest.entries]


# --------------------------------------------------------------------------------------------
# build


def test_build_an_article_event() -> None:
    target = target_for(timezone="Asia/Shanghai")
    request = FeishuNotifier().build(target, "article.created", "evt_7", ARTICLE, now=NOW)
    assert request.url == target.url
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = json.loads(request.body)
    assert "timestamp" not in body  # no secret, no signature
    assert "中国科协 · 2026-11-30 09:30" in post_texts(body)


def test_build_shortens_a_single_overlong_article() -> None:
    data = {**ARTICLE, "summary": "调查" * 8000}
    request = FeishuNotifier().build(
        target_for(secret=SECRET), "article.created", "e", data, now=NOW
    )
    assert len(request.body) <= BODY_MAX
    texts = post_texts(json.loads(request.body))
    assert ARTICLE["title"] in texts and texts[-1].endswith("…")


def test_build_refuses_a_message_that_needs_splitting() -> None:
    with pytest.raises(ValueError, match=r"^feishu: message does not fit in one request"):
        build(target_for(), Message("digest", "周报", long_entries(40, 600)))


def test_template_override(tmp_path: Path) -> None:
    path = tmp_path / "feishu.json.j2"
    path.write_text(
        '{{ {"title": esc(message.title), "content": [[{"tag": "text", '
        '"text": entries | length ~ " 篇"}]]} | tojson }}\n',
        encoding="utf-8",
    )
    body = FeishuNotifier().render(DIGEST, target_for(template=str(path)))
    assert body["content"]["post"]["zh_cn"]["content"][0] == [{"tag": "text", "text": "3 篇"}]
    path.write_text("不是 JSON", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^feishu: the post template did not produce JSON"):
        FeishuNotifier().render(DIGEST, target_for(template=str(path)))


def test_registered() -> None:
    assert isinstance(NOTIFIERS["feishu"], FeishuNotifier)
    assert get_notifier("feishu").channel == "feishu"


# --------------------------------------------------------------------------------------------
# Replies


def test_more_than_five_a_second_is_retried_after_a_minute(
    fake: FakeFeishu, clock: ManualClock
) -> None:
    target = target_for(fake.url())
    outcomes = [deliver(target, DIGEST) for _ in range(6)]
    assert [o.status for o in outcomes[:5]] == ["delivered"] * 5
    assert (outcomes[5].status, outcomes[5].retry_after) == ("retry", 60.0)
    assert outcomes[5].error.startswith("feishu: 11232 frequency limited")
    clock.advance(1)
    assert deliver(target, DIGEST).status == "delivered"


@pytest.mark.parametrize(
    ("injected", "status", "retry_after", "error"),
    [
        (11232, "retry", 60.0, "feishu: 11232 frequency limited"),
        (19001, "failed", None, "feishu: 19001 param invalid"),
        (19021, "failed", None, "feishu: 19021 sign match fail"),
        (19022, "failed", None, "feishu: 19022 Ip Not Allowed"),
        (19024, "failed", None, "feishu: 19024 Key Words Not Found"),
        (9499, "failed", None, "feishu: 9499 Bad Request"),
        (503, "retry", None, "feishu: HTTP 503"),
        (400, "failed", None, "feishu: HTTP 400"),
    ],
)
def test_injected_replies(
    fake: FakeFeishu,
    injected: int,
    status: str,
    retry_after: float | None,
    error: str,
) -> None:
    fake.fail_next(1, injected)
    outcome = deliver(target_for(fake.url()), DIGEST)
    assert (outcome.status, outcome.retry_after) == (status, retry_after)
    assert outcome.error.startswith(error)


def test_bad_token_is_permanent(fake: FakeFeishu) -> None:
    outcome = deliver(target_for(fake.url(token="nope")), DIGEST)
    assert (outcome.status, outcome.http_status) == ("failed", 200)
    assert outcome.error.startswith("feishu: 19001")


def test_classify_reply_shapes() -> None:
    ok = '{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}'
    assert classify_reply(200, ok, None, now=0.0) == ("delivered", None, "")
    assert classify_reply(200, '{"StatusCode":0}', None, now=0.0)[0] == "delivered"
    bad = classify_reply(400, '{"code":9499,"msg":"Bad Request","data":{}}', None, now=0.0)
    assert bad == ("failed", None, "feishu: HTTP 400: 9499 Bad Request")
    assert classify_reply(429, "", "3", now=0.0) == ("retry", 3.0, "feishu: HTTP 429")
    assert classify_reply(200, "<html>", None, now=0.0)[0] == "retry"
