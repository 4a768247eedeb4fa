"""Telegram Bot API ``sendMessage``: HTML messages built from a ``Message``, reply classification.

The subscriber's url is the full ``https://api.telegram.org/bot<TOKEN>/sendMessage`` and its
``chat_id`` the chat. The body is ``{"chat_id", "text", "parse_mode": "HTML",
"link_preview_options": {"is_disabled": true}}`` with the text of ``telegram.html.j2`` (or the
subscriber's ``template`` file). Telegram counts the characters of the text after entity parsing
(tags removed, entities decoded, surrounding whitespace trimmed): ``measure`` counts exactly that
and ``fits`` keeps it within 1–4096.

Content is made inert with ``escape_html``: ``& < > "`` become entities, so no tag can be forged
(Telegram refuses unknown tags, which would lose the whole message), and a word joiner (U+2060)
follows every ``@`` so ``@username`` in content notifies nobody. Telegram has no ``@all``;
mentions come only from ``message.mentions.user_ids``: a numeric id becomes a ``tg://user`` link,
a username ``@name``. Links are http(s) only.

Templates get the functions ``esc(text)``, ``link(url, text)`` and ``http(url)``.

This module must not sleep, retry, schedule, store or follow redirects: ``send`` makes exactly
one POST and classifies the reply (200 delivered; 429 retry after ``parameters.retry_after``;
400 such as "chat not found", 401, 403, 404 permanent; 5xx retry).
"""

from __future__ import annotations

import html
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

CHANNEL = "telegram"
TEMPLATE = "telegram.html.j2"
TEXT_MAX = 4096
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
USER_ID = re.compile(r"^\d{1,20}$")
USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{4,31})$")


# --------------------------------------------------------------------------------------------
# Escaping and counting (pure)


def escape_html(text: str) -> str:
    """Content as inert Telegram HTML: one line, ``& < > "`` as entities, no @mentions."""
    return chat.break_every_at(html.escape(flatten(text), quote=True).replace("&#x27;", "'"))


def link_html(url: str, text: str) -> str:
    """``<a href="url">text</a>`` for an http(s) URL, else the escaped text alone."""
    label = escape_html(text)
    if not is_http_url(url):
        return label
    href = html.escape(url, quote=True)
    return f'<a href="{href}">{label or escape_html(url)}</a>'


def decode_entity(match: re.Match[str]) -> str:
    if match.group(3):
        return NAMED[match.group(3)]
    number = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return match.group(0)
    return chr(number)


def visible_text(text: str) -> str:
    """What Telegram shows for HTML ``text``: tags removed, entities decoded, trimmed."""
    return ENTITY.sub(decode_entity, TAG.sub("", text)).strip()


# --------------------------------------------------------------------------------------------
# Building the text (pure)


def mention_html(message: Message) -> str:
    """Configured mentions: ``tg://user`` links for numeric ids, ``@name`` for usernames."""
    found: list[str] = []
    for uid in dict.fromkeys(message.mentions.user_ids):
        if USER_ID.match(uid):
            found.append(f'<a href="tg://user?id={uid}">{uid}</a>')
        elif match := USERNAME.match(uid):
            found.append("@" + match.group(1))
    return " ".join(found)


def render_text(message: Message, target: Target) -> str:
    """The HTML of the channel's template (or the subscriber's override), then the mentions."""
    override = target.options.template
    escapers = chat.template_functions(escape_html, link_html)
    text = render_template(TEMPLATE, message, escapers=escapers, override=override)
    mentions = mention_html(message)
    return f"{text}\n\n{mentions}" if mentions else text


def check_body(body: Mapping[str, Any]) -> list[str]:
    """Every Telegram limit ``body`` breaks, as readable problems; [] when it may be sent."""
    problems: list[str] = []
    if not str(body.get("chat_id") or ""):
        problems.append("telegram: chat_id is empty")
    size = len(visible_text(str(body.get("text") or "")))
    if not 1 <= size <= TEXT_MAX:
        problems.append(f"telegram: text is {size} characters, limit {TEXT_MAX}")
    return problems


# --------------------------------------------------------------------------------------------
# Replies (pure)


def reply_retry_after(reply: Mapping[str, Any]) -> float | None:
    """``parameters.retry_after`` (seconds) of an error reply, or None."""
    parameters = reply.get("parameters")
    return seconds_value(parameters.get("retry_after")) if isinstance(parameters, dict) else None


def describe(code: int, reply: Mapping[str, Any], text: str) -> str:
    """``telegram: 400 Bad Request: chat not found`` (+ the new chat id of a migrated group)."""
    description = flatten(str(reply.get("description") or text))[:200]
    error = f"telegram: {reply.get('error_code') or code} {description}".rstrip()
    parameters = reply.get("parameters")
    if isinstance(parameters, dict) and parameters.get("migrate_to_chat_id"):
        error += f" (chat moved to {parameters['migrate_to_chat_id']})"
    return error


def classify_reply(code: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
    """Map Telegram's reply to (status, retry_after seconds, error)."""
    reply = parse_reply(text)
    if 200 <= code < 300 and reply.get("ok") is not False:
        return "delivered", None, ""
    if 200 <= code < 300:  # {"ok": false} inside a 2xx: judge by its error_code
        code = int(reply.get("error_code") or 400)
    error = describe(code, reply, text)
    if code == 429:
        wait = reply_retry_after(reply)
        return "retry", parse_retry_after(retry_after, now=now) if wait is None else wait, error
    return classify_error_status(CHANNEL, code, error, reply_retry_after(reply))


# --------------------------------------------------------------------------------------------
# The notifier


class TelegramNotifier:
    """Telegram Bot API channel."""

    channel: str = CHANNEL
    unit: str = "characters"
    takes_messages: bool = True
    digest_documents: bool = False
    rate_windows: RateWindows = ((1, 1.0), (20, 60.0))  # ../shared/specs/chat-webhooks.md
    templates: Mapping[str, str] = {"": TEMPLATE}
    limit: int = TEXT_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        return {
            "chat_id": target.chat_id,
            "text": render_text(message, target),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }

    def measure(self, body: Mapping[str, Any]) -> int:
        """Characters of the text Telegram shows (tags removed, entities decoded, trimmed)."""
        return len(visible_text(str(body.get("text") or "")))

    def limit_for(self, body: Mapping[str, Any]) -> int:
        """The limit ``measure(body)`` is held against."""
        return TEXT_MAX

    def fits(self, message: Message, target: Target) -> bool:
        """True when ``message`` rendered for ``target`` respects Telegram's text limit."""
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
        """The POST for one event (pure); ValueError without a chat or when it cannot fit."""
        if not target.chat_id:
            raise ValueError(f"telegram: subscriber {target.name!r} has no chat_id")
        message = chat.event_message(target, event_type, data)
        message = chat.fit_single(CHANNEL, message, lambda m: self.fits(m, target))
        body = chat.encode_body(self.render(message, target))
        return Outgoing(url=target.url, body=body, headers=chat.json_headers(title_case=True))

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by this platform's rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
