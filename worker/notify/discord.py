"""Discord webhooks: embed messages built from a ``Message``, and reply classification.

The body is ``{"content": mentions, "embeds": [...], "allowed_mentions": {"parse": []}}``: the
first embed's title is the message title (≤ 256 characters, linked to ``message.link`` when it
is http(s)); the markdown of ``discord.md.j2`` (or the subscriber's ``template`` file) is packed
into embed descriptions of at most 4096 characters at paragraph, then line boundaries. Discord
counts characters; ``measure`` is the embed text Discord totals (≤ 6000) and ``fits`` checks
every limit (content ≤ 2000, ≤ 10 embeds, title, descriptions, total).

Content is made inert with ``escape_markdown``: markdown syntax is backslash-escaped (``<`` too,
so ``<@…>``, ``<#…>`` and ``<t:…>`` are literal) and a word joiner (U+2060) follows every ``@``
(``@everyone``, ``@here``). ``allowed_mentions.parse`` is always empty; mentions come only from
``message.mentions.user_ids`` (numeric Discord ids, listed in ``allowed_mentions.users``).
``all`` is not supported: pinging everyone would need ``parse: ["everyone"]``. Links are
http(s) only.

Templates get the functions ``esc(text)``, ``link(url, text)`` and ``http(url)``.

This module must not sleep, retry, schedule, store or follow redirects: ``send`` makes exactly
one POST and classifies the reply (204/200 delivered; 429 retry after the JSON ``retry_after``;
404 10015 and other 4xx permanent; 5xx retry).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target, chat
from worker.notify.chat import flatten, is_http_url
from worker.notify.message import Message
from worker.notify.render import render_template
from worker.notify.replies import (
    Verdict,
    classify_error_status,
    judge,
    parse_reply,
    seconds_value,
)
from worker.retry_after import parse_retry_after

CHANNEL = "discord"
TEMPLATE = "discord.md.j2"
CONTENT_MAX = 2000
EMBEDS_MAX = 10
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
EMBED_TOTAL_MAX = 6000
UNKNOWN_WEBHOOK = 10015
MARKDOWN_CHARS = re.compile(r"([\\*_~`|<>\[\]()])")
LINE_START = re.compile(r"^(#|-|\+|\d+\.)")
USER_ID = re.compile(r"^\d{5,25}$")


# --------------------------------------------------------------------------------------------
# Escaping (pure)


def escape_markdown(text: str) -> str:
    """Content as inert Discord markdown: one line, syntax backslash-escaped, no mentions."""
    escaped = MARKDOWN_CHARS.sub(r"\\\1", flatten(text))
    # a heading, list or numbered item only starts a line
    escaped = LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)
    return chat.break_every_at(escaped)


def escape_plain(text: str) -> str:
    """Text of a plain field (an embed title): one line, no mentions."""
    return chat.break_every_at(flatten(text))


def quote_url(url: str) -> str:
    """``url`` safe inside ``(…)`` of a masked link: brackets and angle brackets encoded."""
    table = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "[": "%5B", "]": "%5D"}
    return "".join(table.get(ch, ch) for ch in url)


def link_markdown(url: str, text: str) -> str:
    """``[text](url)`` for an http(s) URL, else the escaped text alone (other schemes dropped)."""
    # escaped square brackets are not reliable inside a link label: use full-width ones
    label = escape_markdown(str(text).replace("[", "［").replace("]", "］"))
    if not is_http_url(url):
        return label
    return f"[{label or escape_markdown(url)}]({quote_url(url)})"


# --------------------------------------------------------------------------------------------
# Building embeds (pure)


def mention_ids(message: Message) -> list[str]:
    """The configured Discord user ids (numeric snowflakes; anything else is dropped)."""
    return [uid for uid in dict.fromkeys(message.mentions.user_ids) if USER_ID.match(uid)]


def render_text(message: Message, target: Target) -> str:
    """The markdown of the channel's template (or the subscriber's override) for ``message``."""
    override = target.options.template
    escapers = chat.template_functions(escape_markdown, link_markdown)
    return render_template(TEMPLATE, message, escapers=escapers, override=override)


def build_embeds(message: Message, text: str) -> list[dict[str, Any]]:
    """The title embed carrying the first description chunk, then one embed per further chunk."""
    chunks = chat.pack_text(text, DESCRIPTION_MAX)
    title = chat.title_with_part(escape_plain(message.heading), message, TITLE_MAX)
    first: dict[str, Any] = {"title": title}
    if is_http_url(message.link):
        first["url"] = message.link
    if chunks:
        first["description"] = chunks[0]
    return [first] + [{"description": chunk} for chunk in chunks[1:]]


def embed_chars(embed: Mapping[str, Any]) -> int:
    """The characters Discord counts towards the 6000 total for one embed."""
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    return total + len(str((embed.get("author") or {}).get("name") or ""))


def check_body(body: Mapping[str, Any]) -> list[str]:
    """Every Discord limit ``body`` breaks, as readable problems; [] when it may be sent."""
    problems: list[str] = []
    content = str(body.get("content") or "")
    embeds = list(body.get("embeds") or [])
    if len(content) > CONTENT_MAX:
        problems.append(f"discord: content is {len(content)} characters, limit {CONTENT_MAX}")
    if not content.strip() and not embeds:
        problems.append("discord: empty message")
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"discord: {len(embeds)} embeds, more than {EMBEDS_MAX}")
    for index, embed in enumerate(embeds):
        for name, limit in (("title", TITLE_MAX), ("description", DESCRIPTION_MAX)):
            size = len(str(embed.get(name) or ""))
            if size > limit:
                problems.append(f"discord: embed {index} {name} is {size} chars, limit {limit}")
    total = sum(embed_chars(embed) for embed in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"discord: embeds hold {total} characters, limit {EMBED_TOTAL_MAX}")
    return problems


# --------------------------------------------------------------------------------------------
# Replies (pure)


def classify_reply(code: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map Discord's reply to (status, retry_after seconds, error)."""
    if 200 <= code < 300:
        return "delivered", None, ""
    reply = parse_reply(text)
    detail = " ".join(str(part) for part in (reply.get("code"), reply.get("message")) if part)
    error = f"discord: HTTP {code} {flatten(detail or text)[:200]}".rstrip()
    if code == 429:
        wait = seconds_value(reply.get("retry_after"))
        if wait is None:
            wait = parse_retry_after(retry_after, now=now)
        scope = " (global)" if reply.get("global") is True else ""
        return "retry", wait, error + scope
    if reply.get("code") == UNKNOWN_WEBHOOK:
        return "failed", None, error
    return classify_error_status(CHANNEL, code, error, parse_retry_after(retry_after, now=now))


# --------------------------------------------------------------------------------------------
# The notifier


class DiscordNotifier:
    """Discord webhook channel."""

    channel: str = CHANNEL
    unit: str = "characters"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((5, 2.0),)  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = {"": TEMPLATE}
    limit: int = EMBED_TOTAL_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        users = mention_ids(message)
        body: dict[str, Any] = {}
        if users:
            body["content"] = " ".join(f"<@{uid}>" for uid in users)
        body["embeds"] = build_embeds(message, render_text(message, target))
        body["allowed_mentions"] = {"parse": [], "users": users} if users else {"parse": []}
        return body

    def measure(self, body: Mapping[str, Any]) -> int:
        """Characters of embed text, counted as Discord totals them against ``limit``."""
        return sum(embed_chars(embed) for embed in body.get("embeds") or [])

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against."""
        return EMBED_TOTAL_MAX

    def fits(self, message: Message, target: Target) -> bool:
        """True when ``message`` rendered for ``target`` respects every Discord limit."""
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
