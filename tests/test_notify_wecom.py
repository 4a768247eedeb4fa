"""WeCom notifier: golden payloads, inert content, exact sizes, splitting and reply handling.

Requests go over 127.0.0.1 to ``tests.support.chat_fakes.FakeWeCom``, whose clock only moves
when a test advances it. Set HERALD_UPDATE_GOLDENS=1 to rewrite ``tests/data/payloads/wecom_*``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_fakes import FakeWeCom, ManualClock, pings
from tests.support.notify_helpers import ARTICLE, NOW, WJ, check_golden, post
from worker.notify import NOTIFIERS, Outcome, Outgoing, Target, get_notifier
from worker.notify.message import Entry, Message, split_message
from worker.notify.wecom import (
    MARKDOWN_MAX,
    NEWS_DESCRIPTION_MAX,
    NEWS_MAX,
    NEWS_TITLE_MAX,
    TEXT_MAX,
    WeComNotifier,
    classify_reply,
    clip_bytes,
    escape_markdown,
    escape_text,
    safe_url,
)
from worker.subscriber import Mentions, SubscriberOptions

pytestmark = pytest.mark.timeout(30)

HOSTILE = (
    '通知 <@zhangsan> @all @所有人 <at user_id="all">所有人</at> <!channel> <!here> '
    '<!everyone> @everyone @here <font color="warning">红</font> *粗* _斜_ ~删~ `码` '
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
NEWS = replace(DIGEST, entries=DIGEST.entries[:2])


@pytest.fixture()
def fake(clock: ManualClock) -> Iterator[FakeWeCom]:
    server = FakeWeCom(clock=clock)
    server.start()
    yield server
    server.stop()


def target_for(
    url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", **options: Any
) -> Target:
    return Target(name="group", channel="wecom", url=url, options=SubscriberOptions(**options))


def build(target: Target, message: Message) -> Outgoing:
    return WeComNotifier().build(target, "message.digest", "evt_1", message.to_dict(), now=NOW)


def deliver(target: Target, message: Message) -> Outcome:
    return post(WeComNotifier(), build(target, message), timeout=5)


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


def padded(message: Message, target: Target, limit: int) -> Message:
    """``message`` with its first summary grown so the measured size is exactly ``limit``."""
    notifier = WeComNotifier()
    entry = message.entries[0]
    base = notifier.measure(
        notifier.render(replace(message, entries=(replace(entry, summary="a"),)), target)
    )
    need = limit - base + 1
    summary = "科" * (need // 3) + "a" * (need % 3)
    return replace(message, entries=(replace(entry, summary=summary),))


# --------------------------------------------------------------------------------------------
# Escaping (pure)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<@zhangsan>", f"<{WJ}@{WJ}zhangsan>"),
        ("@all @所有人 @everyone @here", f"@{WJ}all @{WJ}所有人 @{WJ}everyone @{WJ}here"),
        ('<at user_id="all">所有人</at>', f'<{WJ}at user\\_id="all">所有人<{WJ}/at>'),
        ("<!channel> <!here>", f"<{WJ}!channel> <{WJ}!here>"),
        ('<font color="warning">红</font>', f'<{WJ}font color="warning">红<{WJ}/font>'),
        ("*粗* _斜_ ~删~ `码` \\", "\\*粗\\* \\_斜\\_ \\~删\\~ \\`码\\` \\\\"),
        ("[x](javascript:alert(1))", f"\\[x\\]{WJ}(javascript:alert(1))"),
        ("# 标题", "\\# 标题"),
        ("> 引用", "\\> 引用"),
        ("&lt;@all&gt; A&B", f"&{WJ}lt;@{WJ}all&{WJ}gt; A&B"),
        ("第一行\n\n  第二行 ", "第一行 第二行"),
        ("a@b 邮箱 @ 空格", "a@" + WJ + "b 邮箱 @ 空格"),
    ],
)
def test_escape_markdown(raw: str, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


def test_escape_text_breaks_mentions_only() -> None:
    assert (
        escape_text("<@u1> @all *粗* [x](y)\n下一行")
        == f"<{WJ}@{WJ}u1> @{WJ}all *粗* [x](y) 下一行"
    )


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        (
            "https://www.cast.org.cn/a.html?x=1&y=%E4#top",
            "https://www.cast.org.cn/a.html?x=1&y=%E4#top",
        ),
        ("HTTP://Example.cn/a b(1)[2]*<3>", "http://Example.cn/a%20b%281%29%5B2%5D%2A%3C3%3E"),
        ("https://example.cn/路径?q=中", "https://example.cn/%E8%B7%AF%E5%BE%84?q=%E4%B8%AD"),
        ("  https://example.cn/  ", "https://example.cn/"),
        ("javascript:alert(1)", ""),
        ("ftp://example.cn/a", ""),
        ("//example.cn/a", ""),
        ("/relative", ""),
        ("https://<evil>/", ""),
        ("https://[::1", ""),
        ("", ""),
    ],
)
def test_safe_url(url: str, safe: str) -> None:
    assert safe_url(url) == safe


def test_clip_bytes_never_cuts_a_character() -> None:
    assert clip_bytes("一二三四五", 15) == "一二三四五"
    assert clip_bytes("一二三四五", 14) == "一二三…"
    assert clip_bytes("一二三四五", 10) == "一二…"
    assert len(clip_bytes("一二三四五", 10).encode()) == 9


# --------------------------------------------------------------------------------------------
# Golden payloads


def test_golden_markdown() -> None:
    body = WeComNotifier().render(DIGEST, target_for())
    check_golden("wecom_markdown.json", body)
    content = body["markdown"]["content"]
    assert content.startswith("### 科协每日要闻\n")
    assert "[关于开展2026年度科技工作者状况调查的通知](https://www.cast.org.cn/" in content
    assert "\\[修订\\]" in content and "ftp://" not in content and content.endswith("<@zhangsan>")


def test_golden_text() -> None:
    body = WeComNotifier().render(DIGEST, target_for(msgtype="text"))
    check_golden("wecom_text.json", body)
    assert body["text"]["mentioned_list"] == ["zhangsan"]
    assert body["text"]["mentioned_mobile_list"] == ["13800000000"]
    assert "ftp://" not in body["text"]["content"]


def test_golden_news() -> None:
    target = target_for(msgtype="news", pic_url="https://feeds.example.cn/logo.png")
    body = WeComNotifier().render(NEWS, target)
    check_golden("wecom_news.json", body)
    articles = body["news"]["articles"]
    assert [a["url"] for a in articles] == [e.url for e in NEWS.entries]
    assert all(a["picurl"] == "https://feeds.example.cn/logo.png" for a in articles)


def test_news_falls_back_to_markdown_without_linkable_entries() -> None:
    notifier = WeComNotifier()
    assert notifier.render(DIGEST, target_for(msgtype="news"))["msgtype"] == "markdown"
    alert = Message("alert", "herald: source failing", note="cast: ok → failing")
    assert notifier.render(alert, target_for(msgtype="news"))["msgtype"] == "markdown"


def test_unknown_msgtype_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^wecom: unknown msgtype 'card'"):
        WeComNotifier().render(DIGEST, target_for(msgtype="card"))


# --------------------------------------------------------------------------------------------
# Content never pings, configured mentions do


@pytest.mark.parametrize("msgtype", ["markdown", "text", "news"])
def test_hostile_content_pings_nobody(fake: FakeWeCom, msgtype: str) -> None:
    entry = Entry(HOSTILE, "https://example.cn/a.html", HOSTILE, "2026-11-30", HOSTILE)
    message = Message("digest", HOSTILE, (entry,), note=HOSTILE)
    outcome = deliver(target_for(fake.url(), msgtype=msgtype), message)
    assert outcome.status == "delivered", outcome.error
    [accepted] = fake.messages()
    assert accepted.kind == msgtype
    assert pings(accepted) == []
    raw = accepted.raw.decode()
    for bad in ("<@", "<at", '<font color=\\"warning', "<!", "@all", "@所有人", "@everyone"):
        assert bad not in raw
    if msgtype == "markdown":
        assert "](javascript" not in raw and "*粗*" not in raw
    if msgtype == "text":
        assert accepted.text.replace(WJ, "").count(HOSTILE) == 5


def test_configured_mentions_ping(fake: FakeWeCom) -> None:
    mentions = Mentions(
        mobiles=("13800000000", "not a phone"), user_ids=("zhangsan", "x>y"), all=True
    )
    message = replace(NEWS, mentions=mentions)
    for msgtype in ("text", "markdown"):
        assert deliver(target_for(fake.url(), msgtype=msgtype), message).status == "delivered"
    text, markdown = fake.messages()
    assert pings(text) == ["user:zhangsan", "@all", "mobile:13800000000"]
    assert pings(markdown) == ["user:zhangsan"]


# --------------------------------------------------------------------------------------------
# Sizes


@pytest.mark.parametrize(("msgtype", "limit"), [("markdown", MARKDOWN_MAX), ("text", TEXT_MAX)])
def test_message_of_exactly_the_limit_fits_and_is_accepted(
    fake: FakeWeCom, msgtype: str, limit: int
) -> None:
    notifier = WeComNotifier()
    target = target_for(fake.url(), msgtype=msgtype)
    exact = padded(NEWS, target, limit)
    body = notifier.render(exact, target)
    assert notifier.measure(body) == limit == notifier.limit_for(body)
    assert notifier.fits(exact, target)
    over = replace(
        exact, entries=(replace(exact.entries[0], summary=exact.entries[0].summary + "a"),)
    )
    assert not notifier.fits(over, target)
    assert post(notifier, build(target, exact), timeout=5).status == "delivered"
    assert fake.messages()[0].size == limit


def test_news_holds_at_most_eight_clipped_articles(fake: FakeWeCom) -> None:
    notifier = WeComNotifier()
    target = target_for(fake.url(), msgtype="news")
    entries = long_entries(9, 400)
    eight = Message("digest", "要闻", entries[:8])
    assert notifier.fits(eight, target)
    assert not notifier.fits(Message("digest", "要闻", entries), target)
    long_title = replace(entries[0], title="长" * 60)
    body = notifier.render(Message("instant", "要闻", (long_title,)), target)
    [article] = body["news"]["articles"]
    assert len(article["title"].encode()) <= NEWS_TITLE_MAX and article["title"].endswith("…")
    assert len(article["description"].encode()) <= NEWS_DESCRIPTION_MAX
    assert notifier.measure(notifier.render(eight, target)) == NEWS_MAX
    assert post(notifier, build(target, eight), timeout=5).status == "delivered"
    assert fake.messages()[0].extra["truncated"] is False


def test_forty_long_entries_split_into_fitting_parts_in_order(fake: FakeWeCom) -> None:
    notifier = WeComNotifier()
    target = target_for(fake.url())
    digest = Message(
        "digest", "科技政策周报", long_entries(40, 300), link="https://feeds.example.cn/d/1"
    )
    parts = split_message(digest, lambda m: notifier.fits(m, target))
    assert 1 < len(parts) <= 20
    assert [e for p in parts for e in p.entries] == list(digest.entries)
    assert [p.title for p in parts] == [
        f"科技政策周报 ({i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]
    for part in parts:
        assert notifier.fits(part, target)
        assert deliver(target, part).status == "delivered"
    received = fake.messages()
    assert len(received) == len(parts)
    assert all(m.size <= MARKDOWN_MAX for m in received)
    seen = [
        e.url for m in received for e in digest.entries if e.url in m.body["markdown"]["content"]
    ]
    assert seen == [e.url for e in digest.entries]


# --------------------------------------------------------------------------------------------
# build


def test_build_an_article_event() -> None:
    target = target_for(timezone="Asia/Shanghai")
    request = WeComNotifier().build(target, "article.created", "evt_7", ARTICLE, now=NOW)
    assert request.url == target.url
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = json.loads(request.body)
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("### 中国科协\n")
    assert "中国科协 · 2026-11-30 09:30" in content
    utc = WeComNotifier().build(
        target_for(timezone="UTC"), "article.created", "e", ARTICLE, now=NOW
    )
    assert "2026-11-30 01:30" in json.loads(utc.body)["markdown"]["content"]


def test_build_shortens_a_single_overlong_article() -> None:
    data = {**ARTICLE, "summary": "调查" * 3000}
    body = json.loads(
        WeComNotifier().build(target_for(), "article.created", "e", data, now=NOW).body
    )
    content = body["markdown"]["content"]
    assert len(content.encode()) <= MARKDOWN_MAX
    assert ARTICLE["title"] in content and ARTICLE["url"] in content and "…" in content


def test_build_refuses_a_message_that_needs_splitting() -> None:
    digest = Message("digest", "周报", long_entries(40, 300))
    with pytest.raises(ValueError, match=r"^wecom: message does not fit in one request"):
        build(target_for(), digest)


def test_build_an_alert_event() -> None:
    data = {"source": "cast", "previous_status": "ok", "status": "failing", "reason": "HTTP 503"}
    request = WeComNotifier().build(target_for(msgtype="news"), "source.health", "e", data, now=NOW)
    body = json.loads(request.body)
    assert (
        body["markdown"]["content"] == "### herald: source failing\ncast: ok → failing — HTTP 503"
    )


def test_template_override(tmp_path: Path) -> None:
    path = tmp_path / "wecom-custom.j2"
    path.write_text("**{{ esc(message.title) }}** 共 {{ entries | length }} 篇\n", encoding="utf-8")
    body = WeComNotifier().render(DIGEST, target_for(template=str(path)))
    assert body == {"msgtype": "markdown", "markdown": {"content": "**科协每日要闻** 共 3 篇"}}
    text = WeComNotifier().render(DIGEST, target_for(template=str(path), msgtype="text"))
    assert text["text"]["content"] == "**科协每日要闻** 共 3 篇"


def test_registered() -> None:
    assert isinstance(NOTIFIERS["wecom"], WeComNotifier)
    assert get_notifier("wecom").channel == "wecom"


# --------------------------------------------------------------------------------------------
# Replies


def test_rate_limit_reply_asks_to_wait_out_the_minute(fake: FakeWeCom, clock: ManualClock) -> None:
    target = target_for(fake.url())
    outcomes = [deliver(target, NEWS) for _ in range(21)]
    assert [o.status for o in outcomes[:20]] == ["delivered"] * 20
    late = outcomes[20]
    assert (late.status, late.retry_after, late.http_status) == ("retry", 60.0, 200)
    assert late.error.startswith("wecom: 45009 api freq out of limit")
    clock.advance(60)
    assert deliver(target, NEWS).status == "delivered"


@pytest.mark.parametrize(
    ("injected", "status", "retry_after", "error"),
    [
        (45009, "retry", 60.0, "wecom: 45009 api freq out of limit"),
        (-1, "retry", None, "wecom: -1 system busy"),
        (40058, "failed", None, "wecom: 40058 invalid Request Parameter"),
        (93000, "failed", None, "wecom: 93000 invalid webhook url"),
        (500, "retry", None, "wecom: HTTP 500"),
        (404, "failed", None, "wecom: HTTP 404"),
    ],
)
def test_injected_replies(
    fake: FakeWeCom,
    injected: int,
    status: str,
    retry_after: float | None,
    error: str,
) -> None:
    fake.fail_next(1, injected)
    outcome = deliver(target_for(fake.url()), NEWS)
    assert (outcome.status, outcome.retry_after) == (status, retry_after)
    assert outcome.error.startswith(error)
    assert outcome.response_excerpt


def test_bad_key_is_permanent(fake: FakeWeCom) -> None:
    outcome = deliver(target_for(fake.url(key="wrong-key")), NEWS)
    assert outcome.status == "failed"
    assert outcome.error.startswith("wecom: 93000 invalid webhook url")
    assert fake.messages() == []


def test_unreachable_endpoint_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=K"
    outcome = deliver(target_for(url), NEWS)
    assert outcome.status == "retry" and outcome.http_status is None
    assert outcome.error.startswith("wecom: connection failed")


def test_classify_reply_without_errcode() -> None:
    assert classify_reply(429, "", "7", now=0.0) == ("retry", 7.0, "wecom: HTTP 429")
    status, wait, error = classify_reply(200, "<html>portal</html>", None, now=0.0)
    assert (status, wait) == ("retry", None) and error.startswith("wecom: unreadable reply")
    assert classify_reply(200, '{"errcode":0,"errmsg":"ok"}', None, now=0.0) == (
        "delivered",
        None,
        "",
    )
