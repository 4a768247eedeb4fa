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
import json
import re
import time
from collections.abc import Callable, Mapping
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

CHANNEL = "dingtalk"
BODY_MAX = 20000
MSGTYPES = ("markdown", "feedCard")
TEMPLATES = {"markdown": "dingtalk.markdown.j2", "feedCard": "dingtalk.feedcard.json.j2"}
# 130101: too fast, the robot is throttled for 10 minutes; -1: system busy
RETRY_CODES: dict[int, float | None] = {130101: 600.0, -1: None}
HEADERS = {"content-type": "application/json; charset=utf-8", "user-agent": "herald"}
WORD_JOINER = "\u2060"
EXCERPT_CHARS = 500
MAX_READ_BYTES = 64 * 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Status = Literal["delivered", "retry", "failed"]

_SPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_LINE_START = re.compile(r"^([#>+\-])")
_AT = re.compile(r"@(?=[^\s\u2060])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_NETLOC = re.compile(r"^[\w.\-:\[\]@%]+$")
_URL_SAFE = "/:?#@!$&'+,;=%~"
_USER_ID = re.compile(r"^[A-Za-z0-9_.\-$]{1,64}$")
_MOBILE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_TAG = re.compile(r"<[^>]*>")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)


def collapse_space(text: str) -> str:
    """Return ``text`` on one line: runs of whitespace become one space, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def neutralise(text: str) -> str:
    """Break mentions, tags and entities with an invisible word joiner (U+2060).

    ``<font>``, ``<@id>``, ``<at …>`` lose their ``<`` + name adjacency, ``@所有人``, ``@all``
    and ``@13800000000`` their ``@`` + name adjacency, ``&lt;`` stops being an entity.
    """
    out = text.replace("<", "<" + WORD_JOINER)
    out = _AT.sub("@" + WORD_JOINER, out)
    return _ENTITY.sub("&" + WORD_JOINER, out)


def escape_text(text: str) -> str:
    """Escape content for plain DingTalk fields (titles, feedCard links): one line, no mentions."""
    return neutralise(collapse_space(text))


def escape_markdown(text: str) -> str:
    """Escape content for DingTalk markdown: syntax backslashed; links, tags, mentions broken."""
    out = _MARKDOWN_SPECIAL.sub(r"\\\1", collapse_space(text))
    out = _LINE_START.sub(r"\\\1", out).replace("](", "]" + WORD_JOINER + "(")
    return neutralise(out)


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


MARKDOWN_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_markdown, "href": safe_url}
TEXT_ESCAPERS: dict[str, Callable[[str], str]] = {"esc": escape_text, "href": safe_url}


# --------------------------------------------------------------------------------------------
# Signing (pure)


def epoch_ms(now: datetime) -> int:
    """``now`` as whole epoch milliseconds (exact integer arithmetic)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("dingtalk: now must be timezone-aware")
    return (now - EPOCH) // timedelta(milliseconds=1)


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


def valid_mobiles(mentions: Mentions) -> list[str]:
    """The configured mobile numbers that look like phone numbers (others are dropped)."""
    return [m for m in mentions.mobiles if _MOBILE.match(m)]


def at_field(mentions: Mentions) -> dict[str, Any]:
    """The ``at`` object of a markdown message; {} when nobody is mentioned."""
    mobiles, users = valid_mobiles(mentions), valid_user_ids(mentions)
    if not (mobiles or users or mentions.all):
        return {}
    return {"atMobiles": mobiles, "atUserIds": users, "isAtAll": mentions.all}


def mention_line(mentions: Mentions) -> str:
    """``@mobile @userid …``: DingTalk highlights the ``at`` people named in the text."""
    return " ".join(f"@{who}" for who in valid_mobiles(mentions) + valid_user_ids(mentions))


def configured_msgtype(target: Target) -> str:
    """The target's ``msgtype`` option (default "markdown"); ValueError when unknown."""
    kind = str(target.options.get("msgtype") or "markdown")
    if kind not in MSGTYPES:
        raise ValueError(f"dingtalk: unknown msgtype {kind!r} (use one of {', '.join(MSGTYPES)})")
    return kind


def choose_msgtype(message: Message, target: Target) -> str:
    """The msgtype for ``message``: a feedCard needs entries that all link to http(s) pages."""
    kind = configured_msgtype(target)
    if kind == "feedCard" and not (
        message.entries and all(safe_url(e.url) for e in message.entries)
    ):
        return "markdown"
    return kind


def template_override(target: Target, kind: str) -> str:
    """The operator's template file, used only for the msgtype it was configured for."""
    return str(target.options.get("template") or "") if kind == configured_msgtype(target) else ""


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
    links = parse_json_template(rendered)
    if not isinstance(links, list) or not links or not all(isinstance(x, dict) for x in links):
        raise ValueError("dingtalk: the feedCard template must produce a JSON list of links")
    if keyword and not any(keyword in str(link.get("title", "")) for link in links):
        links[0]["title"] = f"{keyword} {links[0].get('title', '')}"
    return {"msgtype": "feedCard", "feedCard": {"links": links}}


def parse_json_template(rendered: str) -> Any:
    """The JSON a structure template rendered; ValueError when it is not JSON."""
    try:
        return json.loads(rendered)
    except ValueError as exc:
        raise ValueError(f"dingtalk: the feedCard template did not produce JSON: {exc}") from exc


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
            f"dingtalk: message does not fit in one request ({len(parts)} parts); split it first"
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
    raise ValueError("dingtalk: message does not fit even without its note")


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


def parse_errcode(text: str) -> tuple[int | None, str]:
    """The ``errcode`` and ``errmsg`` of a DingTalk reply; (None, "") when it has none."""
    try:
        reply = json.loads(text)
        return int(reply["errcode"]), str(reply.get("errmsg") or "")
    except (ValueError, TypeError, KeyError):
        return None, ""


def classify_http(code: int) -> tuple[Status, str]:
    """The outcome of a reply that is not HTTP 2xx (as for generic webhooks)."""
    status, error = classify_status(code)
    return status, CHANNEL + error.removeprefix("webhook")


def classify_reply(
    http_status: int, text: str, retry_after: str | None, *, now: float
) -> tuple[Status, float | None, str]:
    """Map one DingTalk reply to (status, retry_after seconds, error)."""
    if not 200 <= http_status < 300:
        status, error = classify_http(http_status)
        wait = parse_retry_after(retry_after, now=now) if status == "retry" else None
        return status, wait, error
    code, message = parse_errcode(text)
    if code is None:
        return "retry", None, f"dingtalk: unreadable reply (HTTP {http_status}): {text[:200]!r}"
    if code == 0:
        return "delivered", None, ""
    error = f"dingtalk: {code} {message[:300]}".rstrip()
    if code in RETRY_CODES:
        return "retry", RETRY_CODES[code], error
    return "failed", None, error


def request_failure(
    exc: requests.RequestException, timeout: float
) -> tuple[Literal["retry", "failed"], str]:
    """The outcome of a request that got no HTTP reply."""
    if isinstance(exc, requests.Timeout):
        return "retry", f"dingtalk: timeout after {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, PERMANENT_REQUEST_ERRORS):
        return "failed", f"dingtalk: invalid request: {exc}"
    if isinstance(exc, requests.ConnectionError):
        return "retry", f"dingtalk: connection failed: {exc}"
    return "retry", f"dingtalk: request failed: {exc}"


# --------------------------------------------------------------------------------------------
# The notifier


class DingTalkNotifier:
    """DingTalk custom robot channel (``url`` holds ``access_token``; ``secret`` signs)."""

    channel: str = CHANNEL
    limit: int = BODY_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        kind = choose_msgtype(message, target)
        override = template_override(target, kind)
        keyword = str(target.options.get("keyword") or "")
        if kind == "feedCard":
            pic_url = safe_url(str(target.options.get("pic_url") or ""))
            return render_feed_card(message, override, keyword, pic_url)
        return render_markdown(message, override, keyword)

    def measure(self, body: Mapping[str, Any]) -> int:
        """The body's size in UTF-8 bytes, exactly as ``build`` encodes it."""
        return len(encode_body(body))

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
        tz = str(target.options.get("timezone") or "Asia/Shanghai")
        message = message_from_event(event_type, data, tz=tz)
        message = fit_message(message, lambda m: self.fits(m, target))
        body = encode_body(self.render(message, target))
        url = signed_url(target.url, target.secret, now) if target.secret else target.url
        return Outgoing(url=url, body=body, headers=dict(HEADERS))

    def send(self, session: requests.Session, request: Outgoing, *, timeout: float) -> Outcome:
        """POST once to the URL exactly as built (no re-encoding, no redirects); classify."""
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
