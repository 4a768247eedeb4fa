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

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from markupsafe import Markup

from worker.notify import Outcome, Outgoing, Target
from worker.notify.message import Message, message_from_event, shorten, split_message
from worker.notify.render import render_template
from worker.notify.webhook import (
    PERMANENT_REQUEST_ERRORS,
    USER_AGENT,
    failure_outcome,
    parse_retry_after,
    read_excerpt,
)

CHANNEL = "slack"
TEMPLATE = "slack.mrkdwn.j2"
DEFAULT_TZ = "Asia/Shanghai"
HEADER_MAX = 150
SECTION_MAX = 3000
MAX_BLOCKS = 50
WORD_JOINER = "\u2060"
LOOKALIKES = str.maketrans({"*": "∗", "_": "＿", "~": "∼", "`": "ˋ"})
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SECRET_IN_URL = re.compile(r"(/services/[^/\s]+/[^/\s]+/)[^/\s?#]+")
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
Status = Literal["delivered", "retry", "failed"]


# --------------------------------------------------------------------------------------------
# Escaping (pure)


def flatten(text: str) -> str:
    """``text`` on one line: every run of whitespace becomes one space."""
    return " ".join(str(text).split())


def escape_mrkdwn(text: str) -> str:
    """Content as inert mrkdwn: one line, ``& < >`` as entities, no formatting, no mentions."""
    escaped = flatten(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.translate(LOOKALIKES).replace("@", "@" + WORD_JOINER)
    # "&gt;" at the start of a line would open a quote
    return WORD_JOINER + escaped if escaped.startswith("&gt;") else escaped


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    text = str(url)
    if not text or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return False
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def quote_url(url: str) -> str:
    """``url`` safe inside ``<…|…>``: ``&`` as an entity, ``< > |`` percent-encoded."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def link_mrkdwn(url: str, text: str) -> str:
    """``<url|text>`` for an http(s) URL, else the escaped text alone (other schemes dropped)."""
    label = escape_mrkdwn(text).replace("|", "｜")
    if not is_http_url(url):
        return label
    return f"<{quote_url(url)}|{label or escape_mrkdwn(url).replace('|', '｜')}>"


def template_functions() -> dict[str, Callable[..., Any]]:
    """The escapers as template functions; Markup so an ``.html`` override does not re-escape."""
    return {
        "esc": lambda text: Markup(escape_mrkdwn(text)),
        "link": lambda url, text: Markup(link_mrkdwn(url, text)),
        "http": is_http_url,
    }


# --------------------------------------------------------------------------------------------
# Building blocks (pure)


def header_text(message: Message, limit: int = HEADER_MAX) -> str:
    """The title as plain text within ``limit`` characters, keeping the ``(1/3)`` suffix."""
    suffix = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
    heading = flatten(message.heading) or "herald"
    return shorten(heading, max(1, limit - len(suffix))) + suffix


def pack_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``limit`` characters at paragraph, then line ends.

    A single line longer than ``limit`` stays whole (and too long): cutting inside it could
    break a link or an entity. Empty paragraphs are dropped.
    """
    chunks: list[str] = []
    for paragraph in (p.strip("\n") for p in text.split("\n\n")):
        if not paragraph.strip():
            continue
        pieces = [paragraph] if len(paragraph) <= limit else paragraph.split("\n")
        for piece, joiner in zip(pieces, ["\n\n"] + ["\n"] * (len(pieces) - 1), strict=True):
            if chunks and len(chunks[-1]) + len(joiner) + len(piece) <= limit:
                chunks[-1] += joiner + piece
            else:
                chunks.append(piece)
    return chunks


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
    override = str(target.options.get("template") or "")
    return render_template(TEMPLATE, message, escapers=template_functions(), override=override)


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


def fit_single(message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` as one request: a lone entry or note too long is shortened, else ValueError."""
    if fits(message):
        return message
    if message.entries:
        parts = split_message(message, fits)
        if len(parts) == 1 and fits(parts[0]):
            return parts[0]
        raise ValueError(f"slack: message needs {len(parts)} requests; split it first")
    note = message.note
    while len(note) > 20:
        note = shorten(note, len(note) // 2)
        if fits(replace(message, note=note)):
            return replace(message, note=note)
    raise ValueError("slack: message does not fit in one request")


def encode_body(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Replies (pure)


def classify_reply(
    code: int, text: str, retry_after: str | None, *, now: float
) -> tuple[Status, float | None, str]:
    """Map Slack's reply to (status, retry_after seconds, error)."""
    reason = flatten(text)[:200]
    if 200 <= code < 300:
        return "delivered", None, ""
    error = f"slack: HTTP {code} {reason}".rstrip()
    if code == 429:
        return "retry", parse_retry_after(retry_after, now=now), error
    if 300 <= code < 400:
        return "retry", None, f"slack: redirect not followed (HTTP {code})"
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return "failed", None, error
    return "retry", parse_retry_after(retry_after, now=now), error


def redact(text: str) -> str:
    """``text`` with the webhook secret in any URL replaced by ``***``."""
    return SECRET_IN_URL.sub(r"\1***", text)


def request_failure(exc: requests.RequestException, timeout: float, started: float) -> Outcome:
    """The outcome of a POST that got no HTTP reply (credentials in the URL redacted)."""
    if isinstance(exc, requests.Timeout):
        return failure_outcome("retry", f"slack: timeout after {timeout:g} s", started)
    if isinstance(exc, PERMANENT_REQUEST_ERRORS):
        return failure_outcome("failed", f"slack: invalid request: {redact(str(exc))}", started)
    if isinstance(exc, requests.ConnectionError):
        return failure_outcome("retry", f"slack: connection failed: {redact(str(exc))}", started)
    return failure_outcome("retry", f"slack: request failed: {redact(str(exc))}", started)


# --------------------------------------------------------------------------------------------
# The notifier


class SlackNotifier:
    """Slack incoming webhook channel."""

    channel: str = CHANNEL
    limit: int = SECTION_MAX  # characters per section; fits() also counts blocks

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": header_text(message)}}
        ]
        blocks += [section(chunk) for chunk in pack_text(render_text(message, target), SECTION_MAX)]
        mentions = mention_text(message)
        if mentions:
            blocks.append(section(mentions))
        return {"text": fallback_text(message), "blocks": blocks}

    def measure(self, body: Mapping[str, Any]) -> int:
        """Characters of the longest section (Slack's per-section limit is ``limit``)."""
        return max((len(text) for text in block_texts(body)), default=0)

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
        tz = str(target.options.get("timezone") or DEFAULT_TZ)
        message = message_from_event(event_type, data, tz=tz)
        message = fit_single(message, lambda m: self.fits(m, target))
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        body = encode_body(self.render(message, target))
        return Outgoing(url=target.url, body=body, headers=headers)

    def send(self, session: requests.Session, request: Outgoing, *, timeout: float) -> Outcome:
        """POST once without following redirects and classify the reply."""
        started = time.monotonic()
        try:
            response = session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return request_failure(exc, timeout, started)
        excerpt = read_excerpt(response, deadline=started + timeout)
        status, retry_after, error = classify_reply(
            response.status_code, excerpt, response.headers.get("retry-after"), now=time.time()
        )
        return Outcome(
            status=status,
            http_status=response.status_code,
            retry_after=retry_after,
            latency_ms=(time.monotonic() - started) * 1000.0,
            response_excerpt=excerpt,
            error=error,
        )
