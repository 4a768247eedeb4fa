"""The fake chat platforms behave like the real ones: sizes, signatures, limits, replies, pings.

Plain ``requests`` calls over 127.0.0.1 against ``tests/support/chat_fakes.py``; time moves only
through an injected clock, so nothing here sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.support.chat_fakes import (
    FakeChat,
    FakeDingTalk,
    FakeDiscord,
    FakeFeishu,
    FakeSlack,
    FakeTelegram,
    FakeWeCom,
    ManualClock,
    dingtalk_sign,
    feishu_sign,
    pings,
)

DING_SECRET = "this is secret"
DING_TS = 1700000000000
DING_VECTOR = "sSFWELbV2YwjdDQhWZwTcWlX5BWUx5J6TPpsZmuPii0="
FEISHU_SECRET = "demo"
FEISHU_TS = 1599360473
FEISHU_VECTOR = "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="


def started(fake: FakeChat) -> Iterator[Any]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture()
def wecom(clock: ManualClock) -> Iterator[FakeWeCom]:
    yield from started(FakeWeCom(clock=clock))


@pytest.fixture()
def dingtalk(clock: ManualClock) -> Iterator[FakeDingTalk]:
    yield from started(FakeDingTalk(clock=clock))


@pytest.fixture()
def feishu(clock: ManualClock) -> Iterator[FakeFeishu]:
    yield from started(FakeFeishu(clock=clock))


@pytest.fixture()
def slack(clock: ManualClock) -> Iterator[FakeSlack]:
    yield from started(FakeSlack(clock=clock))


@pytest.fixture()
def discord(clock: ManualClock) -> Iterator[FakeDiscord]:
    yield from started(FakeDiscord(clock=clock))


@pytest.fixture()
def telegram(clock: ManualClock) -> Iterator[FakeTelegram]:
    yield from started(FakeTelegram(clock=clock))


def markdown(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def ding_text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def feishu_text(text: str) -> dict[str, Any]:
    return {"msg_type": "text", "content": {"text": text}}


def send_raw(http: requests.Session, url: str, raw: bytes) -> requests.Response:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    return http.post(url, data=raw, headers=headers, timeout=5)


# --------------------------------------------------------------------------------------------
# Signatures


def test_signature_helpers_match_the_spec_vectors() -> None:
    assert dingtalk_sign(DING_SECRET, DING_TS) == DING_VECTOR
    assert feishu_sign(FEISHU_SECRET, FEISHU_TS) == FEISHU_VECTOR


# --------------------------------------------------------------------------------------------
# WeCom


def test_wecom_markdown_counts_utf8_bytes(wecom: FakeWeCom, http: requests.Session) -> None:
    exact = "中" * 1365 + "a"  # 4096 UTF-8 bytes
    ok = http.post(wecom.url(), json=markdown(exact), timeout=5)
    assert ok.status_code == 200
    assert ok.json() == {"errcode": 0, "errmsg": "ok"}
    over = http.post(wecom.url(), json=markdown(exact + "b"), timeout=5)
    assert over.status_code == 200
    assert over.json()["errcode"] == 40058
    assert over.json()["errmsg"].startswith("markdown.content exceed max length 4096")
    [accepted] = wecom.messages()
    assert (accepted.size, accepted.kind, accepted.text) == (4096, "markdown", exact)
    [rejected] = wecom.rejections()
    assert (rejected.status, rejected.code) == (200, 40058)
    assert rejected.body["markdown"]["content"] == exact + "b"


def test_wecom_text_news_and_card_limits(wecom: FakeWeCom, http: requests.Session) -> None:
    def text(content: str) -> dict[str, Any]:
        return {"msgtype": "text", "text": {"content": content}}

    def news(n: int, title: str = "标题", description: str = "") -> dict[str, Any]:
        item = {"title": title, "description": description, "url": "https://example.cn/a"}
        return {"msgtype": "news", "news": {"articles": [item] * n}}

    def errcode(payload: dict[str, Any]) -> int:
        return int(http.post(wecom.url(), json=payload, timeout=5).json()["errcode"])

    assert errcode(text("字" * 682 + "ab")) == 0  # 2048 bytes
    assert errcode(text("字" * 682 + "abc")) == 40058
    assert errcode(news(8, description="述" * 200)) == 0
    assert errcode(news(9)) == 40058
    assert errcode(news(0)) == 40058
    assert errcode(news(1, title="题" * 43)) == 40058  # 129 bytes
    assert errcode({"msgtype": "markdown_v2", "markdown_v2": {"content": "| a |\n|---|"}}) == 0
    assert errcode({"msgtype": "voice", "voice": {}}) == 40008
    assert errcode(text("")) == 44004
    card = {
        "card_type": "text_notice",
        "main_title": {"title": "今日要闻", "desc": "3 篇"},
        "card_action": {"type": 1, "url": "https://example.cn/digest"},
    }
    assert errcode({"msgtype": "template_card", "template_card": card}) == 0
    kinds = [m.kind for m in wecom.messages()]
    assert kinds == ["text", "news", "markdown_v2", "template_card"]
    news_message = wecom.messages()[1]
    assert news_message.size == 8
    assert news_message.text.count("标题") == 8
    assert news_message.extra["truncated"] is True  # 600-byte descriptions cut to 512
    assert "述" * 170 in news_message.text and "述" * 171 not in news_message.text
    assert wecom.messages()[3].text == "今日要闻\n3 篇"


def test_wecom_visible_text_strips_markdown(wecom: FakeWeCom, http: requests.Session) -> None:
    content = '# 通知\n**重要** [全文](https://example.cn/1) <font color="info">绿色</font>\n> 引用'
    http.post(wecom.url(), json=markdown(content), timeout=5)
    assert wecom.messages()[0].text == "通知\n重要 全文 绿色\n引用"


def test_wecom_bad_key_and_rate_limit(
    wecom: FakeWeCom, http: requests.Session, clock: ManualClock
) -> None:
    bad = http.post(wecom.url(key="wrong"), json=markdown("x"), timeout=5).json()
    assert bad["errcode"] == 93000
    assert bad["errmsg"].startswith("invalid webhook url")
    codes = []
    for i in range(21):
        clock.advance(1.0)
        codes.append(http.post(wecom.url(), json=markdown(f"m{i}"), timeout=5).json()["errcode"])
    assert codes == [0] * 20 + [45009]
    clock.advance(39.5)  # the first message is still inside the sliding minute
    assert http.post(wecom.url(), json=markdown("late"), timeout=5).json()["errcode"] == 45009
    clock.advance(1.0)
    assert http.post(wecom.url(), json=markdown("later"), timeout=5).json()["errcode"] == 0
    assert [r.code for r in wecom.rejections()] == [93000, 45009, 45009]


def test_wecom_injected_failures(wecom: FakeWeCom, http: requests.Session) -> None:
    wecom.fail_next(1, 45009)
    wecom.fail_next(1, 500)
    first = http.post(wecom.url(), json=markdown("a"), timeout=5)
    second = http.post(wecom.url(), json=markdown("b"), timeout=5)
    third = http.post(wecom.url(), json=markdown("c"), timeout=5)
    assert (first.status_code, first.json()["errcode"]) == (200, 45009)
    assert second.status_code == 500
    assert third.json()["errcode"] == 0
    assert [m.text for m in wecom.messages()] == ["c"]
    assert [(r.code, r.injected) for r in wecom.rejections()] == [(45009, True), (500, True)]


def test_wecom_pings(wecom: FakeWeCom, http: requests.Session) -> None:
    http.post(wecom.url(), json=markdown("请 <@zhangsan> 查看"), timeout=5)
    mentioned = {
        "content": "x",
        "mentioned_list": ["@all"],
        "mentioned_mobile_list": ["13800001111"],
    }
    http.post(wecom.url(), json={"msgtype": "text", "text": mentioned}, timeout=5)
    v2 = {"msgtype": "markdown_v2", "markdown_v2": {"content": "<@zhangsan> @all"}}
    http.post(wecom.url(), json=v2, timeout=5)
    http.post(wecom.url(), json=markdown("＜@zhangsan＞ @all 无害"), timeout=5)
    found = [pings(m) for m in wecom.messages()]
    assert found == [["user:zhangsan"], ["@all", "mobile:13800001111"], [], []]


# --------------------------------------------------------------------------------------------
# DingTalk


@pytest.fixture()
def signed_ding(clock: ManualClock) -> Iterator[FakeDingTalk]:
    clock.set(DING_TS / 1000 + 30)
    yield from started(FakeDingTalk(secret=DING_SECRET, clock=clock))


def test_dingtalk_signature_encoded_once(signed_ding: FakeDingTalk, http: requests.Session) -> None:
    once = f"{signed_ding.url()}&timestamp={DING_TS}&sign={quote(DING_VECTOR, safe='')}"
    assert "%3D" in once
    assert http.post(once, json=ding_text("hi"), timeout=5).json() == {"errcode": 0, "errmsg": "ok"}
    assert signed_ding.signed_url(DING_TS) == once
    # quoting first and letting requests encode the query again sends %253D
    twice = http.post(
        signed_ding.url(),
        params={"timestamp": str(DING_TS), "sign": quote(DING_VECTOR, safe="")},
        json=ding_text("hi"),
        timeout=5,
    )
    assert "%253D" in str(twice.request.url)
    assert twice.json()["errcode"] == 310000
    assert twice.json()["errmsg"].startswith("sign not match")
    missing = http.post(signed_ding.url(), json=ding_text("hi"), timeout=5).json()
    assert (missing["errcode"], missing["errmsg"]) == (310000, "invalid timestamp")
    assert len(signed_ding.messages()) == 1


def test_dingtalk_rejects_a_stale_timestamp(
    signed_ding: FakeDingTalk, http: requests.Session, clock: ManualClock
) -> None:
    clock.advance(2 * 3600)
    reply = http.post(signed_ding.signed_url(DING_TS), json=ding_text("hi"), timeout=5).json()
    assert reply == {"errcode": 310000, "errmsg": "invalid timestamp"}
    fresh = http.post(signed_ding.signed_url(), json=ding_text("hi"), timeout=5).json()
    assert fresh["errcode"] == 0


def test_dingtalk_bad_token_size_and_field_names(
    dingtalk: FakeDingTalk, http: requests.Session
) -> None:
    bad = http.post(dingtalk.url(token="nope"), json=ding_text("x"), timeout=5).json()
    assert bad == {"errcode": 300001, "errmsg": "token is not exist"}
    shell = json.dumps(ding_text(""), ensure_ascii=False).encode()
    exact = json.dumps(ding_text("x" * (20000 - len(shell))), ensure_ascii=False).encode()
    assert len(exact) == 20000
    assert send_raw(http, dingtalk.url(), exact).json()["errcode"] == 0
    over = send_raw(http, dingtalk.url(), exact.replace(b'"x', b'"xx', 1)).json()
    assert over == {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
    link = {"title": "标题", "messageURL": "https://e.cn/1", "picURL": "https://e.cn/1.png"}
    feed = {"msgtype": "feedCard", "feedCard": {"links": [link, {**link, "title": "二"}]}}
    assert http.post(dingtalk.url(), json=feed, timeout=5).json()["errcode"] == 0
    wrong = {"msgtype": "feedCard", "feedCard": {"links": [{"title": "t", "messageUrl": "x"}]}}
    assert http.post(dingtalk.url(), json=wrong, timeout=5).json()["errcode"] == 40035
    md = {
        "msgtype": "markdown",
        "markdown": {"title": "日报", "text": "### 日报\n- **一** [链接](https://e.cn)"},
    }
    assert http.post(dingtalk.url(), json=md, timeout=5).json()["errcode"] == 0
    sizes = [(m.kind, m.size, m.text) for m in dingtalk.messages()]
    assert sizes[0][:2] == ("text", 20000)
    assert sizes[1][0::2] == ("feedCard", "标题\n二")
    assert sizes[2][0::2] == ("markdown", "日报\n- 一 链接")


def test_dingtalk_keyword_mode(clock: ManualClock, http: requests.Session) -> None:
    for fake in started(FakeDingTalk(keywords=["通知"], clock=clock)):
        miss = http.post(fake.url(), json=ding_text("今日要闻"), timeout=5).json()
        assert miss == {"errcode": 310000, "errmsg": "keywords not in content"}
        hit = http.post(fake.url(), json=ding_text("通知：今日要闻"), timeout=5).json()
        assert hit["errcode"] == 0


def test_dingtalk_21st_message_throttles_for_ten_minutes(
    dingtalk: FakeDingTalk, http: requests.Session, clock: ManualClock
) -> None:
    codes = []
    for i in range(21):
        clock.advance(0.5)
        codes.append(http.post(dingtalk.url(), json=ding_text(str(i)), timeout=5).json()["errcode"])
    assert codes == [0] * 20 + [130101]
    clock.advance(5 * 60)
    throttled = http.post(dingtalk.url(), json=ding_text("later"), timeout=5).json()
    assert throttled == {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    clock.advance(5 * 60 - 1)
    assert http.post(dingtalk.url(), json=ding_text("x"), timeout=5).json()["errcode"] == 130101
    clock.advance(1)
    assert http.post(dingtalk.url(), json=ding_text("back"), timeout=5).json()["errcode"] == 0
    assert len(dingtalk.messages()) == 21


def test_dingtalk_pings(dingtalk: FakeDingTalk, http: requests.Session) -> None:
    at = {"isAtAll": True, "atMobiles": ["13800001111"], "atUserIds": ["u1"]}
    http.post(dingtalk.url(), json={**ding_text("@13800001111 看"), "at": at}, timeout=5)
    http.post(dingtalk.url(), json={**ding_text("@all @13800001111"), "at": {}}, timeout=5)
    assert [pings(m) for m in dingtalk.messages()] == [
        ["@all", "mobile:13800001111", "user:u1"],
        [],
    ]


# --------------------------------------------------------------------------------------------
# Feishu


@pytest.fixture()
def signed_feishu(clock: ManualClock) -> Iterator[FakeFeishu]:
    clock.set(FEISHU_TS + 5)
    yield from started(FakeFeishu(secret=FEISHU_SECRET, clock=clock))


def test_feishu_signature(
    signed_feishu: FakeFeishu, http: requests.Session, clock: ManualClock
) -> None:
    signed = {"timestamp": str(FEISHU_TS), "sign": FEISHU_VECTOR, **feishu_text("hi")}
    ok = http.post(signed_feishu.url(), json=signed, timeout=5).json()
    assert ok["code"] == 0 and ok["msg"] == "success"
    wrong = http.post(signed_feishu.url(), json={**signed, "sign": DING_VECTOR}, timeout=5).json()
    assert wrong["code"] == 19021
    unsigned = http.post(signed_feishu.url(), json=feishu_text("hi"), timeout=5).json()
    assert unsigned["code"] == 19021
    clock.advance(2 * 3600)
    stale = http.post(signed_feishu.url(), json=signed, timeout=5).json()
    assert stale == {
        "code": 19021,
        "data": {},
        "msg": "sign match fail or timestamp is not within one hour from current time",
    }
    assert [r.code for r in signed_feishu.rejections()] == [19021, 19021, 19021]
    assert len(signed_feishu.messages()) == 1


def test_feishu_shapes_size_and_token(feishu: FakeFeishu, http: requests.Session) -> None:
    bad = http.post(feishu.url(token="nope"), json=feishu_text("x"), timeout=5)
    assert (bad.status_code, bad.json()["code"]) == (200, 19001)
    paragraph = [
        {"tag": "text", "text": "第一段 "},
        {"tag": "a", "text": "全文", "href": "https://e.cn/1"},
    ]
    post = {
        "msg_type": "post",
        "content": {
            "post": {
                "zh_cn": {"title": "日报", "content": [paragraph, [{"tag": "text", "text": "二"}]]}
            }
        },
    }
    assert http.post(feishu.url(), json=post, timeout=5).json()["code"] == 0
    card = {
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**要闻** 一"}}],
        "header": {"title": {"tag": "plain_text", "content": "今日"}},
    }
    interactive = {"msg_type": "interactive", "card": card}
    assert http.post(feishu.url(), json=interactive, timeout=5).json()["code"] == 0
    bad_post = {"msg_type": "post", "content": {"post": {"zh_cn": {"content": [[{"tag": "x"}]]}}}}
    assert http.post(feishu.url(), json=bad_post, timeout=5).json()["code"] == 9499
    shell = len(json.dumps(feishu_text(""), ensure_ascii=False).encode())
    raw = json.dumps(feishu_text("x" * (20001 - shell)), ensure_ascii=False).encode()
    assert len(raw) == 20001
    too_big = send_raw(http, feishu.url(), raw).json()
    assert too_big == {"code": 9499, "data": {}, "msg": "Bad Request"}
    assert [m.text for m in feishu.messages()] == ["日报\n第一段 全文\n二", "今日\n要闻 一"]


def test_feishu_keyword_mode(clock: ManualClock, http: requests.Session) -> None:
    for fake in started(FakeFeishu(keywords=["herald"], clock=clock)):
        assert http.post(fake.url(), json=feishu_text("日报"), timeout=5).json()["code"] == 19024
        assert http.post(fake.url(), json=feishu_text("herald 日报"), timeout=5).json()["code"] == 0


def test_feishu_rate_limits(feishu: FakeFeishu, http: requests.Session, clock: ManualClock) -> None:
    def code() -> int:
        return int(http.post(feishu.url(), json=feishu_text("x"), timeout=5).json()["code"])

    assert [code() for _ in range(6)] == [0] * 5 + [11232]
    for _ in range(19):  # 5 a second, 100 within the minute
        clock.advance(1.0)
        assert [code() for _ in range(5)] == [0] * 5
    clock.advance(1.0)
    assert code() == 11232  # the second is free, the minute is not
    clock.advance(40.0)
    assert code() == 0
    assert len(feishu.messages()) == 101
    assert [r.code for r in feishu.rejections()] == [11232, 11232]


def test_feishu_pings(feishu: FakeFeishu, http: requests.Session) -> None:
    http.post(feishu.url(), json=feishu_text('<at user_id="all">所有人</at> 看'), timeout=5)
    at = {"tag": "at", "user_id": "ou_123", "user_name": "张三"}
    post = {"msg_type": "post", "content": {"post": {"zh_cn": {"title": "t", "content": [[at]]}}}}
    http.post(feishu.url(), json=post, timeout=5)
    card = {"elements": [{"tag": "markdown", "content": "<at id=all></at> 注意"}]}
    http.post(feishu.url(), json={"msg_type": "interactive", "card": card}, timeout=5)
    http.post(feishu.url(), json=feishu_text('&lt;at user_id="all"&gt; 无害'), timeout=5)
    assert [pings(m) for m in feishu.messages()] == [["@all"], ["user:ou_123"], ["@all"], []]
    assert feishu.messages()[0].text == "@所有人 看"
    assert feishu.messages()[1].text == "t\n@张三"


# --------------------------------------------------------------------------------------------
# Slack


def test_slack_accepts_and_validates(
    slack: FakeSlack, http: requests.Session, clock: ManualClock
) -> None:
    def post(payload: Any) -> requests.Response:
        clock.advance(1.0)
        return http.post(slack.url(), json=payload, timeout=5)

    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "今日要闻"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*一* <https://e.cn/1|全文> &amp; 更多"},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "来源 _科协_"}]},
    ]
    ok = post({"text": "今日要闻", "blocks": blocks})
    assert (ok.status_code, ok.text) == (200, "ok")
    assert slack.messages()[0].text == "今日要闻\n一 全文 & 更多\n来源 科协"

    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    assert post({"text": "x", "blocks": [section("字" * 3000)]}).status_code == 200
    too_long = post({"text": "x", "blocks": [section("字" * 3001)]})
    assert (too_long.status_code, too_long.text) == (400, "invalid_blocks")
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert post({"text": "x", "blocks": [header]}).text == "invalid_blocks"
    divider = {"type": "divider"}
    assert post({"text": "x", "blocks": [divider] * 50}).status_code == 200
    assert post({"text": "x", "blocks": [divider] * 51}).text == "invalid_blocks"
    no_text = post({"blocks": blocks})
    assert (no_text.status_code, no_text.text) == (400, "no_text")
    clock.advance(1.0)
    broken = http.post(slack.url(), data=b"{not json", timeout=5)
    assert (broken.status_code, broken.text) == (400, "invalid_payload")
    assert [r.code for r in slack.rejections()] == [
        "invalid_blocks",
        "invalid_blocks",
        "invalid_blocks",
        "no_text",
        "invalid_payload",
    ]


def test_slack_permanent_errors(slack: FakeSlack, http: requests.Session) -> None:
    wrong = http.post(slack.url().replace("/B0000HERALD/", "/B999/"), json={"text": "x"}, timeout=5)
    assert (wrong.status_code, wrong.text) == (404, "no_service")
    slack.archived = True
    gone = http.post(slack.url(), json={"text": "x"}, timeout=5)
    assert (gone.status_code, gone.text) == (410, "channel_is_archived")


def test_slack_rate_limit_has_retry_after(
    slack: FakeSlack, http: requests.Session, clock: ManualClock
) -> None:
    assert http.post(slack.url(), json={"text": "1"}, timeout=5).status_code == 200
    clock.advance(0.4)
    limited = http.post(slack.url(), json={"text": "2"}, timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    clock.advance(0.6)
    assert http.post(slack.url(), json={"text": "3"}, timeout=5).status_code == 200
    assert [m.text for m in slack.messages()] == ["1", "3"]


def test_slack_pings(slack: FakeSlack, http: requests.Session, clock: ManualClock) -> None:
    payloads: list[dict[str, Any]] = [
        {"text": "<!channel> <!here|here> <!everyone> <@U123ABC> <!subteam^S9|@ops>"},
        {
            "text": "x",
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "<!here>"}}],
        },
        {
            "text": "x",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>"}}],
        },
        {"text": "@channel 与 &lt;!here&gt;"},
        {"text": "@here", "link_names": 1},
    ]
    for payload in payloads:
        clock.advance(1.0)
        assert http.post(slack.url(), json=payload, timeout=5).status_code == 200
    assert [pings(m) for m in slack.messages()] == [
        ["@channel", "@here", "@everyone", "user:U123ABC", "group:S9"],
        [],
        ["@here"],
        [],
        ["@here"],
    ]
    assert slack.messages()[3].text == "@channel 与 <!here>"


# --------------------------------------------------------------------------------------------
# Discord


def test_discord_counts_characters(
    discord: FakeDiscord, http: requests.Session, clock: ManualClock
) -> None:
    ok = http.post(discord.url(), json={"content": "中" * 2000}, timeout=5)
    assert (ok.status_code, ok.content) == (204, b"")
    clock.advance(2.0)
    over = http.post(discord.url(), json={"content": "中" * 2001}, timeout=5)
    assert over.status_code == 400
    assert over.json()["code"] == 50035
    assert over.json()["message"] == "Invalid Form Body"
    assert over.json()["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert discord.messages()[0].size == 2000


def test_discord_embed_limits(
    discord: FakeDiscord, http: requests.Session, clock: ManualClock
) -> None:
    def post(payload: Any) -> requests.Response:
        clock.advance(2.0)
        return http.post(discord.url(), json=payload, timeout=5)

    assert post({"embeds": [{"title": "t" * 256, "description": "d" * 4096}]}).status_code == 204
    assert post({"embeds": [{"title": "t" * 257}]}).json()["errors"]["embeds"]["0"]["title"]
    assert post({"embeds": [{"description": "d" * 4097}]}).status_code == 400
    assert post({"embeds": [{"title": "t"}] * 10}).status_code == 204
    assert post({"embeds": [{"title": "t"}] * 11}).json()["code"] == 50035
    big = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    total = post({"embeds": big}).json()
    assert total["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    assert post({"embeds": [{"title": "t", "url": "javascript:alert(1)"}]}).status_code == 400
    empty = post({"content": ""})
    assert (empty.status_code, empty.json()["code"]) == (400, 50006)
    assert [m.size for m in discord.messages()] == [4352, 10]


def test_discord_unknown_webhook_and_wait(discord: FakeDiscord, http: requests.Session) -> None:
    unknown = http.post(
        discord.url().replace(discord.webhook_id, "1"), json={"content": "x"}, timeout=5
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Unknown Webhook", "code": 10015}
    token = http.post(discord.url().replace(discord.token, "bad"), json={"content": "x"}, timeout=5)
    assert (token.status_code, token.json()["code"]) == (401, 50027)
    waited = http.post(
        discord.url(wait=True), json={"content": "**hi** [全文](https://e.cn)"}, timeout=5
    )
    assert waited.status_code == 200
    assert waited.json()["content"] == "**hi** [全文](https://e.cn)"
    assert waited.json()["webhook_id"] == discord.webhook_id
    assert discord.messages()[0].text == "hi 全文"


def test_discord_bucket_and_headers(
    discord: FakeDiscord, http: requests.Session, clock: ManualClock
) -> None:
    remaining = []
    for i in range(5):
        reply = http.post(discord.url(), json={"content": str(i)}, timeout=5)
        assert reply.status_code == 204
        assert reply.headers["X-RateLimit-Limit"] == "5"
        remaining.append(reply.headers["X-RateLimit-Remaining"])
        clock.advance(0.25)
    assert remaining == ["4", "3", "2", "1", "0"]
    limited = http.post(discord.url(), json={"content": "6"}, timeout=5)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    body = limited.json()
    assert body["global"] is False and body["message"] == "You are being rate limited."
    assert body["retry_after"] == 0.75
    assert float(limited.headers["X-RateLimit-Reset-After"]) == 0.75
    clock.advance(0.75)
    again = http.post(discord.url(), json={"content": "7"}, timeout=5)
    assert (again.status_code, again.headers["X-RateLimit-Remaining"]) == (204, "4")
    discord.fail_next(1, 500)
    clock.advance(2.0)
    failed = http.post(discord.url(), json={"content": "8"}, timeout=5)
    assert failed.status_code == 500 and "X-RateLimit-Limit" in failed.headers


def test_discord_pings_follow_allowed_mentions(
    discord: FakeDiscord, http: requests.Session, clock: ManualClock
) -> None:
    content = "@everyone @here <@123> <@!124> <@&77>"
    payloads: list[dict[str, Any]] = [
        {"content": content},
        {"content": content, "allowed_mentions": {"parse": []}},
        {"content": content, "allowed_mentions": {"parse": ["users"]}},
        {"content": "x", "embeds": [{"title": "@everyone <@123>"}]},
    ]
    for payload in payloads:
        clock.advance(2.0)
        assert http.post(discord.url(), json=payload, timeout=5).status_code == 204
    assert [pings(m) for m in discord.messages()] == [
        ["@everyone", "@here", "user:123", "user:124", "role:77"],
        [],
        ["user:123", "user:124"],
        [],
    ]


# --------------------------------------------------------------------------------------------
# Telegram


def tg(text: str, chat: str = "42", **extra: Any) -> dict[str, Any]:
    return {"chat_id": chat, "text": text, "parse_mode": "HTML", **extra}


def test_telegram_accepts_html_and_counts_visible_characters(
    telegram: FakeTelegram, http: requests.Session, clock: ManualClock
) -> None:
    html = '<b>要闻</b> <a href="https://e.cn/1?a=1&amp;b=2">全文</a> 1 &lt; 2 😀'
    reply = http.post(telegram.url(), json=tg(html), timeout=5)
    assert reply.status_code == 200
    result = reply.json()["result"]
    assert reply.json()["ok"] is True
    assert result["text"] == "要闻 全文 1 < 2 😀"
    assert result["chat"] == {"id": 42, "type": "private"}
    assert result["entities"] == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 3, "length": 2, "url": "https://e.cn/1?a=1&b=2"},
    ]
    assert telegram.messages()[0].size == 13
    clock.advance(1.0)
    exact = http.post(telegram.url(), json=tg("<b>" + "中" * 4096 + "</b>"), timeout=5)
    assert exact.status_code == 200
    clock.advance(1.0)
    over = http.post(telegram.url(), json=tg("<i>" + "中" * 4097 + "</i>"), timeout=5)
    assert over.status_code == 400
    assert over.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message is too long",
    }


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("标题 <br> x", 'Unsupported start tag "br" at byte offset 7'),
        ("<b>x", "Can't find end tag corresponding to start tag b"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<a href=https://e.cn>x</a>", "Unexpected end of name token at byte offset 8"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_telegram_rejects_malformed_html(
    telegram: FakeTelegram, http: requests.Session, html: str, expected: str
) -> None:
    reply = http.post(telegram.url(), json=tg(html), timeout=5)
    assert reply.status_code == 400
    assert reply.json() == {
        "ok": False,
        "error_code": 400,
        "description": f"Bad Request: can't parse entities: {expected}",
    }
    assert telegram.messages() == []


def test_telegram_request_errors(telegram: FakeTelegram, http: requests.Session) -> None:
    missing = http.post(telegram.url(), json={"text": "x"}, timeout=5).json()
    assert missing["description"] == "Bad Request: chat_id is empty"
    empty = http.post(telegram.url(), json=tg("<b> </b>"), timeout=5).json()
    assert empty["description"] == "Bad Request: message text is empty"
    unauthorized = http.post(telegram.url(token="1:bad"), json=tg("x"), timeout=5)
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    plain = http.post(telegram.url(), data={"chat_id": "42", "text": "<b>literal</b>"}, timeout=5)
    assert plain.json()["result"]["text"] == "<b>literal</b>"


def test_telegram_rate_limits(
    telegram: FakeTelegram, http: requests.Session, clock: ManualClock
) -> None:
    assert http.post(telegram.url(), json=tg("1"), timeout=5).status_code == 200
    clock.advance(0.5)
    private = http.post(telegram.url(), json=tg("2"), timeout=5)
    assert private.status_code == 429
    assert private.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    group = "-1001234567890"
    for i in range(20):
        clock.advance(1.5)
        assert http.post(telegram.url(), json=tg(str(i), group), timeout=5).status_code == 200
    clock.advance(1.5)
    limited = http.post(telegram.url(), json=tg("21", group), timeout=5)
    assert limited.status_code == 429
    assert limited.json()["parameters"]["retry_after"] == 30
    clock.advance(30)
    assert http.post(telegram.url(), json=tg("22", group), timeout=5).status_code == 200


def test_telegram_pings(telegram: FakeTelegram, http: requests.Session, clock: ManualClock) -> None:
    texts = [
        "@all @here 无害 mail@example.com",
        '请 @durov_fan 看 <a href="tg://user?id=777">他</a>',
    ]
    for text in texts:
        clock.advance(1.0)
        assert http.post(telegram.url(), json=tg(text), timeout=5).status_code == 200
    assert [pings(m) for m in telegram.messages()] == [[], ["user:@durov_fan", "user:777"]]


def test_fakes_are_context_managers(clock: ManualClock, http: requests.Session) -> None:
    with FakeWeCom(clock=clock) as fake:
        assert fake.url().startswith("http://127.0.0.1:")
        assert http.post(fake.url(), json=markdown("x"), timeout=5).json()["errcode"] == 0
    with pytest.raises(requests.ConnectionError):
        http.post(fake.url(), json=markdown("x"), timeout=2)
