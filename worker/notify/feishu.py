"""Feishu / Lark custom bot: render, measure, sign, build and send one message.

A ``Message`` becomes a Feishu ``post`` (zh_cn title + paragraphs of ``text``/``a``/``at``
elements, the default) or an ``interactive`` card, chosen by the target's ``msgtype`` option.
Feishu limits the body to 20 KB (budget: 20,000 UTF-8 bytes of the body as sent, signature
included). Signing (when the target has a secret) puts ``timestamp`` (epoch seconds, a string)
and ``sign`` (HMAC-SHA256 keyed with ``timestamp + "\\n" + secret`` over an empty message) at the
top level of the body. The optional ``keyword`` option (Feishu keyword security) is added when
no title or text holds it. Article text passes through this module's escapers, so it can
neither ping anyone nor break the markup; ``at`` elements come only from ``message.mentions``.
Replies carry ``code`` inside HTTP 200 and are classified as delivered, retry (11232: rate
limited) or failed (19021: bad signature or stale timestamp, 19001: bad token …).

This module must not split messages (``split_message`` does), sleep, retry, schedule or store
anything; ``send`` makes exactly one attempt and never follows redirects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import Verdict, classify_code, classify_status, judge, parse_reply
from worker.subscriber import Mentions

CHANNEL = "feishu"
BODY_MAX = 20000
MSGTYPES = ("post", "interactive")
TEMPLATES = {"post": "feishu.post.json.j2", "interactive": "feishu.card.json.j2"}
RETRY_CODES: dict[int, float | None] = {11232: 60.0}  # frequency limited (5/s, 100/min)
# Signed bodies have the same size at any time until 2286: a 10-digit timestamp, a 44-char sign.
SIZING_NOW = datetime(2020, 1, 1, tzinfo=UTC)
TEXT_KEYS = frozenset({"title", "text", "content"})

_USER_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_LARK_MD = str.maketrans(
    {c: f"&#{ord(c)};" for c in "<>*_[]`~\\"},
)
_LINE_START = re.compile(r"^[#>+\-]")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)


def escape_text(text: str) -> str:
    """Escape content for plain Feishu text (post ``text``/``a``, card ``plain_text``).

    ``<at user_id=…>`` loses its ``<`` + name adjacency, ``@`` is followed by a word joiner
    and ``&lt;``-style entities are broken; nothing else changes what a reader sees.
    """
    out = chat.break_tags(chat.collapse_space(text))
    return chat.break_at_names(chat.break_entities(out))


def escape_lark_md(text: str) -> str:
    """Escape content for card ``lark_md``: syntax characters as the HTML entities Feishu reads."""
    out = chat.break_entities(chat.collapse_space(text)).translate(_LARK_MD)
    out = _LINE_START.sub(lambda m: f"&#{ord(m.group(0))};", out)
    return chat.break_at_names(out)


ESCAPERS: dict[str, Callable[[str], str]] = {
    "esc": escape_text,
    "md": escape_lark_md,
    "href": chat.safe_url,
}


# --------------------------------------------------------------------------------------------
# Signing (pure)


def epoch_seconds(now: datetime) -> int:
    """``now`` as whole epoch seconds."""
    return chat.since_epoch(CHANNEL, now, timedelta(seconds=1))


def sign(secret: str, timestamp: int) -> str:
    """base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), sent as is."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def signed_body(body: Mapping[str, Any], secret: str, now: datetime) -> dict[str, Any]:
    """``body`` with ``timestamp`` and ``sign`` added at its top level."""
    timestamp = epoch_seconds(now)
    return {"timestamp": str(timestamp), "sign": sign(secret, timestamp), **body}


# --------------------------------------------------------------------------------------------
# Rendering and sizes (pure)


def valid_user_ids(mentions: Mentions) -> list[str]:
    """The configured user ids (open_id / user_id) that are plain ids (others are dropped)."""
    return [u for u in mentions.user_ids if _USER_ID.match(u) and u != "all"]


def mentioned(mentions: Mentions) -> list[str]:
    """Who to ``at``: "all" first when asked, then the user ids (mobiles cannot be at'ed)."""
    return (["all"] if mentions.all else []) + valid_user_ids(mentions)


def parse_json_template(rendered: str, kind: str) -> dict[str, Any]:
    """The JSON object a structure template rendered; ValueError when it is not one."""
    value = chat.parse_json_template(CHANNEL, rendered, kind)
    if not isinstance(value, dict):
        raise ValueError(f"feishu: the {kind} template must produce a JSON object")
    return value


def visible_strings(node: Any) -> Iterator[str]:
    """The titles and texts of a post or card (what Feishu checks keywords against)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from visible_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from visible_strings(item)


def needs_keyword(node: Any, keyword: str) -> bool:
    return bool(keyword) and not any(keyword in text for text in visible_strings(node))


def render_post(message: Message, override: str, keyword: str) -> dict[str, Any]:
    post = parse_json_template(
        render_template(TEMPLATES["post"], message, escapers=ESCAPERS, override=override), "post"
    )
    content = list(post.get("content") or [])
    people = mentioned(message.mentions)
    if people:
        content.append([{"tag": "at", "user_id": who} for who in people])
    if needs_keyword(post, keyword):
        content.append([{"tag": "text", "text": keyword}])
    post["content"] = content
    return {"msg_type": "post", "content": {"post": {"zh_cn": post}}}


def render_card(message: Message, override: str, keyword: str) -> dict[str, Any]:
    card = parse_json_template(
        render_template(TEMPLATES["interactive"], message, escapers=ESCAPERS, override=override),
        "interactive",
    )
    elements = list(card.get("elements") or [])
    people = mentioned(message.mentions)
    if people:
        ats = " ".join(f"<at id={who}></at>" for who in people)
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": ats}})
    if needs_keyword(card, keyword):
        elements.append({"tag": "div", "text": {"tag": "plain_text", "content": keyword}})
    card["elements"] = elements
    return {"msg_type": "interactive", "card": card}


# --------------------------------------------------------------------------------------------
# Replies (pure)


def parse_code(text: str) -> tuple[int | None, str]:
    """The ``code`` (or legacy ``StatusCode``) and ``msg`` of a reply; (None, "") if none."""
    reply = parse_reply(text)
    code = reply["code"] if "code" in reply else reply.get("StatusCode")
    if isinstance(code, bool) or not isinstance(code, int):
        return None, ""
    return code, str(reply.get("msg") or reply.get("StatusMessage") or "")


def classify_reply(http_status: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map one Feishu reply to (status, retry_after seconds, error)."""
    code, message = parse_code(text)
    if not 200 <= http_status < 300:
        status, wait, error = classify_status(CHANNEL, http_status, retry_after, now=now)
        if code is not None:
            error = f"{error}: {code} {message[:300]}".rstrip()
        return status, wait, error
    return classify_code(CHANNEL, http_status, text, code, message, RETRY_CODES)


# --------------------------------------------------------------------------------------------
# The notifier


class FeishuNotifier:
    """Feishu / Lark custom bot channel (``url`` is the bot's hook URL; ``secret`` signs)."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((5, 1.0), (100, 60.0))  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = TEMPLATES
    limit: int = BODY_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message``, unsigned (pure)."""
        kind = chat.configured_msgtype(CHANNEL, target, MSGTYPES)
        override = target.options.template
        keyword = target.options.keyword
        if kind == "interactive":
            return render_card(message, override, keyword)
        return render_post(message, override, keyword)

    def measure(self, body: Mapping[str, Any]) -> int:
        """The body's size in UTF-8 bytes, exactly as ``build`` encodes it."""
        return len(chat.encode_body(body))

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against: 20,000 bytes."""
        return BODY_MAX

    def fits(self, message: Message, target: Target) -> bool:
        """Whether ``message``, rendered and signed as ``build`` does, fits in 20,000 bytes."""
        body = self.render(message, target)
        if target.secret:
            body = signed_body(body, target.secret, SIZING_NOW)
        return self.measure(body) <= BODY_MAX

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
        body = self.render(message, target)
        if target.secret:
            body = signed_body(body, target.secret, now)
        return Outgoing(url=target.url, body=chat.encode_body(body), headers=chat.json_headers())

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by this platform's rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
