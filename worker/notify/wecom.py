"""WeCom (企业微信) group robot: render, measure, build and send one message.

A ``Message`` becomes WeCom ``markdown`` (the default), ``text`` (mentions through
``mentioned_list``/``mentioned_mobile_list``) or a ``news`` card (1–8 articles), chosen by the
target's ``msgtype`` option. Sizes are counted in UTF-8 bytes, as WeCom counts them. Every piece
of article text passes through this module's escapers, so content can neither ping anyone nor
break the markup; mentions come only from ``message.mentions``. Replies carry ``errcode`` inside
HTTP 200 and are classified as delivered, retry (45009: wait out the minute) or failed.

This module must not split messages (``split_message`` does), sleep, retry, schedule or store
anything; ``send`` makes exactly one attempt and never follows redirects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.chat import escape_line, safe_url
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import Verdict, classify_errcode, judge
from worker.subscriber import Mentions

CHANNEL = "wecom"
MARKDOWN_MAX = 4096
TEXT_MAX = 2048
NEWS_MAX = 8
NEWS_TITLE_MAX = 128
NEWS_DESCRIPTION_MAX = 512
MSGTYPES = ("markdown", "text", "news")
TEMPLATES = {
    "markdown": "wecom.markdown.j2",
    "text": "wecom.text.j2",
    "news": "wecom.news.json.j2",
}
RETRY_CODES: dict[int, float | None] = {45009: 60.0, -1: None}  # rate limited, system busy
ELLIPSIS = "…"

_USER_ID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)

escape_text = escape_line  # WeCom ``text`` and ``news`` fields: one line, mentions broken
escape_markdown = chat.escape_basic_markdown  # syntax backslashed; links, tags, mentions broken


def clip_bytes(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` UTF-8 bytes, ending with "…" when cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    budget = max(0, limit - len(ELLIPSIS.encode("utf-8")))
    return data[:budget].decode("utf-8", "ignore").rstrip() + ELLIPSIS


MARKDOWN_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_markdown, "href": safe_url}
TEXT_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_text, "href": safe_url}


# --------------------------------------------------------------------------------------------
# Rendering and sizes (pure)


def valid_user_ids(mentions: Mentions) -> list[str]:
    """The configured user ids that are plain WeCom user ids (others are dropped)."""
    return [u for u in mentions.user_ids if _USER_ID.match(u)]


def markdown_mentions(mentions: Mentions) -> str:
    """``<@userid>`` for each configured user id (WeCom markdown mentions user ids only)."""
    return " ".join(f"<@{user}>" for user in valid_user_ids(mentions))


def text_mentions(mentions: Mentions) -> dict[str, list[str]]:
    """``mentioned_list``/``mentioned_mobile_list`` of a text message ("@all" when asked)."""
    users = valid_user_ids(mentions) + (["@all"] if mentions.all else [])
    fields: dict[str, list[str]] = {}
    if users:
        fields["mentioned_list"] = users
    mobiles = chat.valid_mobiles(mentions)
    if mobiles:
        fields["mentioned_mobile_list"] = mobiles
    return fields


def choose_msgtype(message: Message, target: Target) -> str:
    """The msgtype for ``message``: news needs entries that all link to http(s) pages."""
    kind = chat.configured_msgtype(CHANNEL, target, MSGTYPES)
    if kind == "news" and not chat.entries_linked(message):
        return "markdown"
    return kind


def render_markdown(message: Message, override: str) -> dict[str, Any]:
    content = render_template(
        TEMPLATES["markdown"],
        message,
        escapers=MARKDOWN_ESCAPERS,
        override=override,
        extra={"mentions": markdown_mentions(message.mentions)},
    )
    return {"msgtype": "markdown", "markdown": {"content": content}}


def render_text(message: Message, override: str) -> dict[str, Any]:
    content = render_template(TEMPLATES["text"], message, escapers=TEXT_ESCAPERS, override=override)
    return {"msgtype": "text", "text": {"content": content, **text_mentions(message.mentions)}}


def render_news(message: Message, override: str, pic_url: str) -> dict[str, Any]:
    extra = {
        "clip": clip_bytes,
        "pic_url": pic_url,
        "title_max": NEWS_TITLE_MAX,
        "description_max": NEWS_DESCRIPTION_MAX,
    }
    rendered = render_template(
        TEMPLATES["news"], message, escapers=TEXT_ESCAPERS, override=override, extra=extra
    )
    articles = chat.parse_json_template(CHANNEL, rendered, "news")
    if not isinstance(articles, list) or not all(isinstance(a, dict) for a in articles):
        raise ValueError("wecom: the news template must produce a JSON list of articles")
    return {"msgtype": "news", "news": {"articles": articles}}


def measure_body(body: Mapping[str, Any]) -> int:
    """What WeCom limits, in its unit: content bytes (markdown, text) or article count (news)."""
    kind = body.get("msgtype")
    if kind == "news":
        return len(body["news"]["articles"])
    return len(str(body[str(kind)]["content"]).encode("utf-8"))


def limit_of(body: Mapping[str, Any]) -> int:
    """The limit ``measure_body`` is held against for this body's msgtype."""
    return {"markdown": MARKDOWN_MAX, "text": TEXT_MAX, "news": NEWS_MAX}[str(body.get("msgtype"))]


def article_fits(article: Mapping[str, Any]) -> bool:
    """A news article WeCom accepts whole: title ≤ 128 bytes, description ≤ 512, a URL."""
    title = str(article.get("title") or "")
    description = str(article.get("description") or "")
    return (
        0 < len(title.encode("utf-8")) <= NEWS_TITLE_MAX
        and len(description.encode("utf-8")) <= NEWS_DESCRIPTION_MAX
        and bool(safe_url(str(article.get("url") or "")))
    )


def body_fits(body: Mapping[str, Any]) -> bool:
    """Every WeCom limit respected by a rendered body."""
    size = measure_body(body)
    if body.get("msgtype") == "news":
        articles = body["news"]["articles"]
        return 1 <= size <= NEWS_MAX and all(article_fits(a) for a in articles)
    return 0 < size <= limit_of(body)


# --------------------------------------------------------------------------------------------
# Replies (pure)


def classify_reply(http_status: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map one WeCom reply to (status, retry_after seconds, error)."""
    return classify_errcode(CHANNEL, RETRY_CODES, http_status, text, retry_after, now=now)


# --------------------------------------------------------------------------------------------
# The notifier


class WeComNotifier:
    """WeCom group robot channel (``url`` is the robot's full webhook URL with its key)."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((20, 60.0),)  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = TEMPLATES
    limit: int = MARKDOWN_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        kind = choose_msgtype(message, target)
        override = chat.template_override(CHANNEL, target, kind, MSGTYPES)
        if kind == "news":
            pic_url = safe_url(target.options.pic_url)
            return render_news(message, override, pic_url)
        if kind == "text":
            return render_text(message, override)
        return render_markdown(message, override)

    def measure(self, body: Mapping[str, Any]) -> int:
        """Content bytes (markdown, text) or the number of articles (news)."""
        return measure_body(body)

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against: 4096, 2048 or 8."""
        return limit_of(body)

    def fits(self, message: Message, target: Target) -> bool:
        """Whether ``message`` rendered for ``target`` respects every WeCom limit."""
        return body_fits(self.render(message, target))

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """The POST for one event (pure: WeCom needs no signature, so ``now`` is unused)."""
        message = chat.event_message(target, event_type, data)
        message = chat.fit_message(CHANNEL, message, lambda m: self.fits(m, target))
        body = chat.encode_body(self.render(message, target))
        return Outgoing(url=target.url, body=body, headers=chat.json_headers())

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by this platform's rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
