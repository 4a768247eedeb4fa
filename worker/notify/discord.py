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

import json
import math
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

CHANNEL = "discord"
TEMPLATE = "discord.md.j2"
DEFAULT_TZ = "Asia/Shanghai"
CONTENT_MAX = 2000
EMBEDS_MAX = 10
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
EMBED_TOTAL_MAX = 6000
UNKNOWN_WEBHOOK = 10015
WORD_JOINER = "\u2060"
MARKDOWN_CHARS = re.compile(r"([\\*_~`|<>\[\]()])")
LINE_START = re.compile(r"^(#|-|\+|\d+\.)")
USER_ID = re.compile(r"^\d{5,25}$")
SECRET_IN_URL = re.compile(r"(/webhooks/[^/\s]+/)[^/\s?#]+")
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
Status = Literal["delivered", "retry", "failed"]


# --------------------------------------------------------------------------------------------
# Escaping (pure)


def flatten(text: str) -> str:
    """``text`` on one line: every run of whitespace becomes one space."""
    return " ".join(str(text).split())


def neutralise_mentions(text: str) -> str:
    """A word joiner after every ``@``: ``@everyone``, ``@here`` and ``<@id>`` stop working."""
    return text.replace("@", "@" + WORD_JOINER)


def escape_markdown(text: str) -> str:
    """Content as inert Discord markdown: one line, syntax backslash-escaped, no mentions."""
    escaped = MARKDOWN_CHARS.sub(r"\\\1", flatten(text))
    # a heading, list or numbered item only starts a line
    escaped = LINE_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], escaped)
    return neutralise_mentions(escaped)


def escape_plain(text: str) -> str:
    """Text of a plain field (an embed title): one line, no mentions."""
    return neutralise_mentions(flatten(text))


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    text = str(url)
    if not text or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return False
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


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


def template_functions() -> dict[str, Callable[..., Any]]:
    """The escapers as template functions; Markup so an ``.html`` override does not re-escape."""
    return {
        "esc": lambda text: Markup(escape_markdown(text)),
        "link": lambda url, text: Markup(link_markdown(url, text)),
        "http": is_http_url,
    }


# --------------------------------------------------------------------------------------------
# Building embeds (pure)


def title_text(message: Message, limit: int = TITLE_MAX) -> str:
    """The title within ``limit`` characters, keeping the ``(1/3)`` suffix."""
    suffix = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
    heading = escape_plain(message.heading) or "herald"
    return shorten(heading, max(1, limit - len(suffix))) + suffix


def pack_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``limit`` characters at paragraph, then line ends.

    A single line longer than ``limit`` stays whole (and too long): cutting inside it could
    break a link or an escape. Empty paragraphs are dropped.
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


def mention_ids(message: Message) -> list[str]:
    """The configured Discord user ids (numeric snowflakes; anything else is dropped)."""
    return [uid for uid in dict.fromkeys(message.mentions.user_ids) if USER_ID.match(uid)]


def render_text(message: Message, target: Target) -> str:
    """The markdown of the channel's template (or the subscriber's override) for ``message``."""
    override = str(target.options.get("template") or "")
    return render_template(TEMPLATE, message, escapers=template_functions(), override=override)


def build_embeds(message: Message, text: str) -> list[dict[str, Any]]:
    """The title embed carrying the first description chunk, then one embed per further chunk."""
    chunks = pack_text(text, DESCRIPTION_MAX)
    first: dict[str, Any] = {"title": title_text(message)}
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


def fit_single(message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` as one request: a lone entry or note too long is shortened, else ValueError."""
    if fits(message):
        return message
    if message.entries:
        parts = split_message(message, fits)
        if len(parts) == 1 and fits(parts[0]):
            return parts[0]
        raise ValueError(f"discord: message needs {len(parts)} requests; split it first")
    note = message.note
    while len(note) > 20:
        note = shorten(note, len(note) // 2)
        if fits(replace(message, note=note)):
            return replace(message, note=note)
    raise ValueError("discord: message does not fit in one request")


def encode_body(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Replies (pure)


def parse_reply(text: str) -> dict[str, Any]:
    """Discord's JSON reply as a dict; {} when the body is empty or not a JSON object."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def json_retry_after(reply: Mapping[str, Any]) -> float | None:
    """The JSON ``retry_after`` (float seconds) of a 429 reply, or None."""
    value = reply.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def classify_reply(
    code: int, text: str, retry_after: str | None, *, now: float
) -> tuple[Status, float | None, str]:
    """Map Discord's reply to (status, retry_after seconds, error)."""
    if 200 <= code < 300:
        return "delivered", None, ""
    reply = parse_reply(text)
    detail = " ".join(str(part) for part in (reply.get("code"), reply.get("message")) if part)
    error = f"discord: HTTP {code} {flatten(detail or text)[:200]}".rstrip()
    if code == 429:
        wait = json_retry_after(reply)
        if wait is None:
            wait = parse_retry_after(retry_after, now=now)
        scope = " (global)" if reply.get("global") is True else ""
        return "retry", wait, error + scope
    if reply.get("code") == UNKNOWN_WEBHOOK:
        return "failed", None, error
    if 300 <= code < 400:
        return "retry", None, f"discord: redirect not followed (HTTP {code})"
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return "failed", None, error
    return "retry", parse_retry_after(retry_after, now=now), error


def redact(text: str) -> str:
    """``text`` with the webhook token in any URL replaced by ``***``."""
    return SECRET_IN_URL.sub(r"\1***", text)


def request_failure(exc: requests.RequestException, timeout: float, started: float) -> Outcome:
    """The outcome of a POST that got no HTTP reply (credentials in the URL redacted)."""
    if isinstance(exc, requests.Timeout):
        return failure_outcome("retry", f"discord: timeout after {timeout:g} s", started)
    if isinstance(exc, PERMANENT_REQUEST_ERRORS):
        return failure_outcome("failed", f"discord: invalid request: {redact(str(exc))}", started)
    if isinstance(exc, requests.ConnectionError):
        return failure_outcome("retry", f"discord: connection failed: {redact(str(exc))}", started)
    return failure_outcome("retry", f"discord: request failed: {redact(str(exc))}", started)


# --------------------------------------------------------------------------------------------
# The notifier


class DiscordNotifier:
    """Discord webhook channel."""

    channel: str = CHANNEL
    limit: int = EMBED_TOTAL_MAX  # characters of all embed text together

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
