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
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from worker.notify import Outcome, Outgoing, Target
from worker.notify.message import Mentions, Message, message_from_event, shorten, split_message
from worker.notify.render import render_template
from worker.notify.webhook import (
    PERMANENT_REQUEST_ERRORS,
    classify_status,
    failure_outcome,
    parse_retry_after,
)

CHANNEL = "feishu"
BODY_MAX = 20000
MSGTYPES = ("post", "interactive")
TEMPLATES = {"post": "feishu.post.json.j2", "interactive": "feishu.card.json.j2"}
RETRY_CODES: dict[int, float | None] = {11232: 60.0}  # frequency limited (5/s, 100/min)
HEADERS = {"content-type": "application/json; charset=utf-8", "user-agent": "herald"}
WORD_JOINER = "\u2060"
EXCERPT_CHARS = 500
MAX_READ_BYTES = 64 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Signed bodies have the same size at any time until 2286: a 10-digit timestamp, a 44-char sign.
SIZING_NOW = datetime(2020, 1, 1, tzinfo=UTC)
TEXT_KEYS = frozenset({"title", "text", "content"})

Status = Literal["delivered", "retry", "failed"]

_SPACE = re.compile(r"\s+")
_AT = re.compile(r"@(?=[^\s\u2060])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_NETLOC = re.compile(r"^[\w.\-:\[\]@%]+$")
_URL_SAFE = "/:?#@!$&'+,;=%~"
_USER_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_LARK_MD = str.maketrans(
    {c: f"&#{ord(c)};" for c in "<>*_[]`~\\"},
)
_LINE_START = re.compile(r"^[#>+\-]")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)


def collapse_space(text: str) -> str:
    """Return ``text`` on one line: runs of whitespace become one space, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def break_mentions(text: str) -> str:
    """A word joiner (U+2060) after each ``@`` before a name: ``@所有人``, ``@all`` stay text."""
    return _AT.sub("@" + WORD_JOINER, text)


def escape_text(text: str) -> str:
    """Escape content for plain Feishu text (post ``text``/``a``, card ``plain_text``).

    ``<at user_id=…>`` loses its ``<`` + name adjacency, ``@`` is followed by a word joiner
    and ``&lt;``-style entities are broken; nothing else changes what a reader sees.
    """
    out = collapse_space(text).replace("<", "<" + WORD_JOINER)
    out = _ENTITY.sub("&" + WORD_JOINER, out)
    return break_mentions(out)


def escape_lark_md(text: str) -> str:
    """Escape content for card ``lark_md``: syntax characters as the HTML entities Feishu reads."""
    out = _ENTITY.sub("&" + WORD_JOINER, collapse_space(text)).translate(_LARK_MD)
    out = _LINE_START.sub(lambda m: f"&#{ord(m.group(0))};", out)
    return break_mentions(out)


def safe_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, quoted so it cannot break markup; else ""."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not _NETLOC.match(parts.netloc):
        return ""
    path, query, fragment = (quote(p, safe=_URL_SAFE) for p in parts[2:])
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, query, fragment))


ESCAPERS: dict[str, Callable[[str], str]] = {
    "esc": escape_text,
    "md": escape_lark_md,
    "href": safe_url,
}


# --------------------------------------------------------------------------------------------
# Signing (pure)


def epoch_seconds(now: datetime) -> int:
    """``now`` as whole epoch seconds."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("feishu: now must be timezone-aware")
    return (now - EPOCH) // timedelta(seconds=1)


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


def configured_msgtype(target: Target) -> str:
    """The target's ``msgtype`` option (default "post"); ValueError when unknown."""
    kind = str(target.options.get("msgtype") or "post")
    if kind not in MSGTYPES:
        raise ValueError(f"feishu: unknown msgtype {kind!r} (use one of {', '.join(MSGTYPES)})")
    return kind


def parse_json_template(rendered: str, kind: str) -> dict[str, Any]:
    """The JSON object a structure template rendered; ValueError when it is not one."""
    try:
        value = json.loads(rendered)
    except ValueError as exc:
        raise ValueError(f"feishu: the {kind} template did not produce JSON: {exc}") from exc
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


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The compact UTF-8 JSON bytes sent on the wire."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fit_message(message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` made to fit one request: an over-long single entry or note is shortened.

    A message of several entries that does not fit must be split by the caller first.
    """
    if fits(message):
        return message
    if not message.entries:
        return shorten_note(message, fits)
    parts = split_message(message, fits)
    if len(parts) != 1 or not fits(parts[0]):
        raise ValueError(
            f"feishu: message does not fit in one request ({len(parts)} parts); split it first"
        )
    return parts[0]


def shorten_note(message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` with its note halved until it fits; ValueError when nothing does."""
    note = message.note
    while note:
        note = shorten(note, len(note) // 2) if len(note) > 1 else ""
        candidate = replace(message, note=note)
        if fits(candidate):
            return candidate
    raise ValueError("feishu: message does not fit even without its note")


# --------------------------------------------------------------------------------------------
# Replies


def read_text(response: requests.Response, *, deadline: float) -> str:
    """Read at most MAX_READ_BYTES of the reply until ``deadline``; return it decoded."""
    data = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=8192):
            data.extend(chunk)
            if len(data) >= MAX_READ_BYTES or time.monotonic() > deadline:
                break
    except requests.RequestException:
        pass
    finally:
        response.close()
    return bytes(data).decode("utf-8", "replace")


def parse_code(text: str) -> tuple[int | None, str]:
    """The ``code`` (or legacy ``StatusCode``) and ``msg`` of a reply; (None, "") if none."""
    try:
        reply = json.loads(text)
        code = reply["code"] if "code" in reply else reply["StatusCode"]
        return int(code), str(reply.get("msg") or reply.get("StatusMessage") or "")
    except (ValueError, TypeError, KeyError):
        return None, ""


def classify_http(code: int) -> tuple[Status, str]:
    """The outcome of a reply that is not HTTP 2xx (as for generic webhooks)."""
    status, error = classify_status(code)
    return status, CHANNEL + error.removeprefix("webhook")


def classify_reply(
    http_status: int, text: str, retry_after: str | None, *, now: float
) -> tuple[Status, float | None, str]:
    """Map one Feishu reply to (status, retry_after seconds, error)."""
    if not 200 <= http_status < 300:
        status, error = classify_http(http_status)
        code, message = parse_code(text)
        if code is not None:
            error = f"{error}: {code} {message[:300]}".rstrip()
        wait = parse_retry_after(retry_after, now=now) if status == "retry" else None
        return status, wait, error
    code, message = parse_code(text)
    if code is None:
        return "retry", None, f"feishu: unreadable reply (HTTP {http_status}): {text[:200]!r}"
    if code == 0:
        return "delivered", None, ""
    error = f"feishu: {code} {message[:300]}".rstrip()
    if code in RETRY_CODES:
        return "retry", RETRY_CODES[code], error
    return "failed", None, error


def request_failure(
    exc: requests.RequestException, timeout: float
) -> tuple[Literal["retry", "failed"], str]:
    """The outcome of a request that got no HTTP reply."""
    if isinstance(exc, requests.Timeout):
        return "retry", f"feishu: timeout after {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, PERMANENT_REQUEST_ERRORS):
        return "failed", f"feishu: invalid request: {exc}"
    if isinstance(exc, requests.ConnectionError):
        return "retry", f"feishu: connection failed: {exc}"
    return "retry", f"feishu: request failed: {exc}"


# --------------------------------------------------------------------------------------------
# The notifier


class FeishuNotifier:
    """Feishu / Lark custom bot channel (``url`` is the bot's hook URL; ``secret`` signs)."""

    channel: str = CHANNEL
    limit: int = BODY_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message``, unsigned (pure)."""
        kind = configured_msgtype(target)
        override = str(target.options.get("template") or "")
        keyword = str(target.options.get("keyword") or "")
        if kind == "interactive":
            return render_card(message, override, keyword)
        return render_post(message, override, keyword)

    def measure(self, body: Mapping[str, Any]) -> int:
        """The body's size in UTF-8 bytes, exactly as ``build`` encodes it."""
        return len(encode_body(body))

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
        tz = str(target.options.get("timezone") or "Asia/Shanghai")
        message = message_from_event(event_type, data, tz=tz)
        message = fit_message(message, lambda m: self.fits(m, target))
        body = self.render(message, target)
        if target.secret:
            body = signed_body(body, target.secret, now)
        return Outgoing(url=target.url, body=encode_body(body), headers=dict(HEADERS))

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
            return failure_outcome(*request_failure(exc, timeout), started)
        text = read_text(response, deadline=started + timeout)
        status, wait, error = classify_reply(
            response.status_code, text, response.headers.get("retry-after"), now=time.time()
        )
        return Outcome(
            status=status,
            http_status=response.status_code,
            retry_after=wait,
            latency_ms=(time.monotonic() - started) * 1000.0,
            response_excerpt=text[:EXCERPT_CHARS],
            error=error,
        )
