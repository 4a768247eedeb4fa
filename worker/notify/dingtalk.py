"""DingTalk custom robot: render, measure, sign, build and send one message.

A ``Message`` becomes DingTalk ``markdown`` {title, text} (the default) or a ``feedCard`` of
links, chosen by the target's ``msgtype`` option. DingTalk limits the whole body to 20,000
UTF-8 bytes; ``measure`` counts the exact bytes ``build`` sends. Signing (when the target has a
secret) appends ``timestamp`` (epoch ms) and ``sign`` to the URL, the signature URL-encoded
exactly once. The optional ``keyword`` option (DingTalk keyword security) is added to the
message when it does not already appear. Article text passes through this module's escapers,
so it can neither ping anyone nor break the markup; mentions (``at`` plus ``@mobile`` in the
text) come only from ``message.mentions``. Replies carry ``errcode`` inside HTTP 200 and are
classified as delivered, retry (130101: the robot is throttled for 10 minutes) or failed.

This module must not split messages (``split_message`` does), sleep, retry, schedule or store
anything; ``send`` makes exactly one attempt, never follows redirects and never re-encodes the
signed URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.chat import escape_line, safe_url
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import Verdict, classify_errcode, judge
from worker.subscriber import Mentions

CHANNEL = "dingtalk"
BODY_MAX = 20000
MSGTYPES = ("markdown", "feedCard")
TEMPLATES = {"markdown": "dingtalk.markdown.j2", "feedCard": "dingtalk.feedcard.json.j2"}
# 130101: too fast, the robot is throttled for 10 minutes; -1: system busy
RETRY_CODES: dict[int, float | None] = {130101: 600.0, -1: None}

_USER_ID = re.compile(r"^[A-Za-z0-9_.\-$]{1,64}$")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_TAG = re.compile(r"<[^>]*>")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)

escape_text = escape_line  # plain fields (titles, feedCard links): one line, no mentions
escape_markdown = chat.escape_basic_markdown  # syntax backslashed; links, tags, mentions broken

MARKDOWN_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_markdown, "href": safe_url}
TEXT_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_text, "href": safe_url}


# --------------------------------------------------------------------------------------------
# Signing (pure)


def epoch_ms(now: datetime) -> int:
    """``now`` as whole epoch milliseconds (exact integer arithmetic)."""
    return chat.since_epoch(CHANNEL, now, timedelta(milliseconds=1))


def sign(secret: str, timestamp_ms: int) -> str:
    """base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")), not URL-encoded."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, now: datetime) -> str:
    """``url`` with ``&timestamp=…&sign=…`` appended, the signature URL-encoded once."""
    timestamp = epoch_ms(now)
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    encoded = quote(sign(secret, timestamp), safe="")
    return f"{url}{separator}timestamp={timestamp}&sign={encoded}"


# --------------------------------------------------------------------------------------------
# Rendering and sizes (pure)


def valid_user_ids(mentions: Mentions) -> list[str]:
    """The configured user ids that are plain DingTalk user ids (others are dropped)."""
    return [u for u in mentions.user_ids if _USER_ID.match(u)]


def at_field(mentions: Mentions) -> dict[str, Any]:
    """The ``at`` object of a markdown message; {} when nobody is mentioned."""
    mobiles, users = chat.valid_mobiles(mentions), valid_user_ids(mentions)
    if not (mobiles or users or mentions.all):
        return {}
    return {"atMobiles": mobiles, "atUserIds": users, "isAtAll": mentions.all}


def mention_line(mentions: Mentions) -> str:
    """``@mobile @userid …``: DingTalk highlights the ``at`` people named in the text."""
    return " ".join(f"@{who}" for who in chat.valid_mobiles(mentions) + valid_user_ids(mentions))


def choose_msgtype(message: Message, target: Target) -> str:
    """The msgtype for ``message``: a feedCard needs entries that all link to http(s) pages."""
    kind = chat.configured_msgtype(CHANNEL, target, MSGTYPES)
    if kind == "feedCard" and not chat.entries_linked(message):
        return "markdown"
    return kind


def visible_markdown(text: str) -> str:
    """Roughly what a reader sees of DingTalk markdown: link targets and tags removed."""
    return _TAG.sub("", _LINK_TARGET.sub("]", text))


def with_keyword(text: str, keyword: str) -> str:
    """``text`` with ``keyword`` on a last line of its own unless a reader already sees it."""
    if not keyword or keyword in visible_markdown(text):
        return text
    return f"{text}\n\n{keyword}"


def render_markdown(message: Message, override: str, keyword: str) -> dict[str, Any]:
    text = render_template(
        TEMPLATES["markdown"],
        message,
        escapers=MARKDOWN_ESCAPERS,
        override=override,
        extra={"mentions": mention_line(message.mentions)},
    )
    title = escape_text(message.title)
    body: dict[str, Any] = {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": with_keyword(text, keyword)},
    }
    at = at_field(message.mentions)
    if at:
        body["at"] = at
    return body


def render_feed_card(message: Message, override: str, keyword: str, pic_url: str) -> dict[str, Any]:
    rendered = render_template(
        TEMPLATES["feedCard"],
        message,
        escapers=TEXT_ESCAPERS,
        override=override,
        extra={"pic_url": pic_url},
    )
    links = chat.parse_json_template(CHANNEL, rendered, "feedCard")
    if not isinstance(links, list) or not links or not all(isinstance(x, dict) for x in links):
        raise ValueError("dingtalk: the feedCard template must produce a JSON list of links")
    if keyword and not any(keyword in str(link.get("title", "")) for link in links):
        links[0]["title"] = f"{keyword} {links[0].get('title', '')}"
    return {"msgtype": "feedCard", "feedCard": {"links": links}}


# --------------------------------------------------------------------------------------------
# Replies (pure)


def classify_reply(http_status: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map one DingTalk reply to (status, retry_after seconds, error)."""
    return classify_errcode(CHANNEL, RETRY_CODES, http_status, text, retry_after, now=now)


# --------------------------------------------------------------------------------------------
# The notifier


class DingTalkNotifier:
    """DingTalk custom robot channel (``url`` holds ``access_token``; ``secret`` signs)."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((20, 60.0),)  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = TEMPLATES
    limit: int = BODY_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        kind = choose_msgtype(message, target)
        override = chat.template_override(CHANNEL, target, kind, MSGTYPES)
        keyword = target.options.keyword
        if kind == "feedCard":
            pic_url = safe_url(target.options.pic_url)
            return render_feed_card(message, override, keyword, pic_url)
        return render_markdown(message, override, keyword)

    def measure(self, body: Mapping[str, Any]) -> int:
        """The body's size in UTF-8 bytes, exactly as ``build`` encodes it."""
        return len(chat.encode_body(body))

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against: 20,000 bytes."""
        return BODY_MAX

    def fits(self, message: Message, target: Target) -> bool:
        """Whether ``message`` rendered for ``target`` stays within DingTalk's body limit."""
        return self.measure(self.render(message, target)) <= BODY_MAX

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """The POST for one event, signed at ``now`` when the target has a secret (pure)."""
        message = chat.event_message(target, event_type, data)
        message = chat.fit_message(CHANNEL, message, lambda m: self.fits(m, target))
        body = chat.encode_body(self.render(message, target))
        url = signed_url(target.url, target.secret, now) if target.secret else target.url
        return Outgoing(url=url, body=body, headers=chat.json_headers())

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by this platform's rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
