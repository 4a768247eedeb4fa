"""Slack incoming webhooks: Block Kit messages built from a ``Message``, and reply classification.

The body is ``{"text": fallback, "blocks": [header, section…, mentions]}``: the header holds the
message title as plain text (≤ 150 characters), the mrkdwn text of ``slack.mrkdwn.j2`` (or the
subscriber's ``template`` file) is packed into sections of at most 3000 characters at paragraph,
then line boundaries, and a last section carries the configured mentions. Slack counts
characters; ``fits`` checks every limit (header, sections, 50 blocks, non-empty fallback text).

Content is made inert with ``escape_mrkdwn``: ``&``, ``<``, ``>`` become entities (so ``<!here>``,
``<@U…>`` and links cannot be forged), a word joiner (U+2060) follows every ``@``, and the
formatting characters ``* _ ~ ` `` become look-alikes (mrkdwn has no escape for them). Links are
http(s) only. Mentions come only from ``message.mentions``: Slack user ids (``U…``/``W…``) and
``all`` (``<!channel>``); mobiles are not a Slack concept and are ignored.

Templates get the functions ``esc(text)``, ``link(url, text)`` and ``http(url)``.

This module must not sleep, retry, schedule, store or follow redirects: ``send`` makes exactly
one POST and classifies the reply (200 ``ok`` delivered; 429 retry after ``Retry-After``;
400/403/404/410 permanent; 5xx retry).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.chat import flatten, is_http_url, pack_text
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import Verdict, classify_error_status, judge
from worker.retry_after import parse_retry_after

CHANNEL = "slack"
TEMPLATE = "slack.mrkdwn.j2"
HEADER_MAX = 150
SECTION_MAX = 3000
MAX_BLOCKS = 50
LOOKALIKES = str.maketrans({"*": "∗", "_": "＿", "~": "∼", "`": "ˋ"})
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


# --------------------------------------------------------------------------------------------
# Escaping (pure)


def escape_mrkdwn(text: str) -> str:
    """Content as inert mrkdwn: one line, ``& < >`` as entities, no formatting, no mentions."""
    escaped = flatten(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = chat.break_every_at(escaped.translate(LOOKALIKES))
    # "&gt;" at the start of a line would open a quote
    return chat.WORD_JOINER + escaped if escaped.startswith("&gt;") else escaped


def quote_url(url: str) -> str:
    """``url`` safe inside ``<…|…>``: ``&`` as an entity, ``< > |`` percent-encoded."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def link_mrkdwn(url: str, text: str) -> str:
    """``<url|text>`` for an http(s) URL, else the escaped text alone (other schemes dropped)."""
    label = escape_mrkdwn(text).replace("|", "｜")
    if not is_http_url(url):
        return label
    return f"<{quote_url(url)}|{label or escape_mrkdwn(url).replace('|', '｜')}>"


# --------------------------------------------------------------------------------------------
# Building blocks (pure)


def mention_text(message: Message) -> str:
    """Configured mentions as mrkdwn (``<!channel>``, ``<@U…>``); "" when there are none."""
    mentions = message.mentions
    users = [f"<@{uid}>" for uid in mentions.user_ids if USER_ID.match(uid)]
    return " ".join((["<!channel>"] if mentions.all else []) + users)


def fallback_text(message: Message) -> str:
    """The notification text: the title, and the article's title when there is only one."""
    title = flatten(message.title) or "herald"
    if len(message.entries) == 1 and flatten(message.entries[0].title):
        title = f"{title}：{flatten(message.entries[0].title)}"
    return escape_mrkdwn(title)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_text(message: Message, target: Target) -> str:
    """The mrkdwn of the channel's template (or the subscriber's override) for ``message``."""
    override = target.options.template
    escapers = chat.template_functions(escape_mrkdwn, link_mrkdwn)
    return render_template(TEMPLATE, message, escapers=escapers, override=override)


def block_texts(body: Mapping[str, Any]) -> list[str]:
    """The text of every section block of ``body``, in order."""
    texts: list[str] = []
    for block in body.get("blocks") or []:
        if block.get("type") == "section":
            texts.append(str(block.get("text", {}).get("text", "")))
    return texts


def check_body(body: Mapping[str, Any]) -> list[str]:
    """Every Slack limit ``body`` breaks, as readable problems; [] when it may be sent."""
    problems: list[str] = []
    if not str(body.get("text") or "").strip():
        problems.append("slack: fallback text is empty")
    blocks = body.get("blocks") or []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"slack: {len(blocks)} blocks, more than {MAX_BLOCKS}")
    for block in blocks:
        if block.get("type") == "header":
            size = len(str(block["text"]["text"]))
            if not 1 <= size <= HEADER_MAX:
                problems.append(f"slack: header is {size} characters, limit {HEADER_MAX}")
    for text in block_texts(body):
        if not 1 <= len(text) <= SECTION_MAX:
            problems.append(f"slack: section is {len(text)} characters, limit {SECTION_MAX}")
    return problems


# --------------------------------------------------------------------------------------------
# Replies (pure)


def classify_reply(code: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map Slack's reply to (status, retry_after seconds, error)."""
    if 200 <= code < 300:
        return "delivered", None, ""
    error = f"slack: HTTP {code} {flatten(text)[:200]}".rstrip()
    return classify_error_status(CHANNEL, code, error, parse_retry_after(retry_after, now=now))


# --------------------------------------------------------------------------------------------
# The notifier


class SlackNotifier:
    """Slack incoming webhook channel."""

    channel: str = CHANNEL
    unit: str = "characters per section"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((1, 1.0),)  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = {"": TEMPLATE}
    limit: int = SECTION_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        title = chat.title_with_part(flatten(message.heading), message, HEADER_MAX)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title}}
        ]
        blocks += [section(chunk) for chunk in pack_text(render_text(message, target), SECTION_MAX)]
        mentions = mention_text(message)
        if mentions:
            blocks.append(section(mentions))
        return {"text": fallback_text(message), "blocks": blocks}

    def measure(self, body: Mapping[str, Any]) -> int:
        """Characters of the longest section (Slack's per-section limit is ``limit``)."""
        return max((len(text) for text in block_texts(body)), default=0)

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against."""
        return SECTION_MAX

    def fits(self, message: Message, target: Target) -> bool:
        """True when ``message`` rendered for ``target`` respects every Slack limit."""
        return not check_body(self.render(message, target))

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """The POST for one event (pure); ValueError when it cannot be one request."""
        message = chat.event_message(target, event_type, data)
        message = chat.fit_single(CHANNEL, message, lambda m: self.fits(m, target))
        body = chat.encode_body(self.render(message, target))
        return Outgoing(url=target.url, body=body, headers=chat.json_headers(title_case=True))

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by this platform's rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
