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

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
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
HEADERS = {"content-type": "application/json; charset=utf-8", "user-agent": "herald"}
WORD_JOINER = "\u2060"
ELLIPSIS = "…"
EXCERPT_CHARS = 500
MAX_READ_BYTES = 64 * 1024

Status = Literal["delivered", "retry", "failed"]

_SPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_LINE_START = re.compile(r"^([#>+\-])")
_AT = re.compile(r"@(?=[^\s\u2060])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_NETLOC = re.compile(r"^[\w.\-:\[\]@%]+$")
_URL_SAFE = "/:?#@!$&'+,;=%~"
_USER_ID = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
_MOBILE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")


# --------------------------------------------------------------------------------------------
# Escaping (pure; passed to the templates as functions)


def collapse_space(text: str) -> str:
    """Return ``text`` on one line: runs of whitespace become one space, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def neutralise(text: str) -> str:
    """Break mentions, tags and entities with an invisible word joiner (U+2060).

    ``<@id>``, ``<at …>``, ``<!channel>``, ``<font>`` lose their ``<`` + name adjacency,
    ``@all``/``@所有人`` their ``@`` + name adjacency, ``&lt;`` stops being an entity.
    """
    out = text.replace("<", "<" + WORD_JOINER)
    out = _AT.sub("@" + WORD_JOINER, out)
    return _ENTITY.sub("&" + WORD_JOINER, out)


def escape_text(text: str) -> str:
    """Escape content for WeCom ``text`` and ``news`` fields: one line, mentions broken."""
    return neutralise(collapse_space(text))


def escape_markdown(text: str) -> str:
    """Escape content for WeCom markdown: syntax backslashed; links, tags, mentions broken."""
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


def valid_mobiles(mentions: Mentions) -> list[str]:
    """The configured mobile numbers that look like phone numbers (others are dropped)."""
    return [m for m in mentions.mobiles if _MOBILE.match(m)]


def markdown_mentions(mentions: Mentions) -> str:
    """``<@userid>`` for each configured user id (WeCom markdown mentions user ids only)."""
    return " ".join(f"<@{user}>" for user in valid_user_ids(mentions))


def text_mentions(mentions: Mentions) -> dict[str, list[str]]:
    """``mentioned_list``/``mentioned_mobile_list`` of a text message ("@all" when asked)."""
    users = valid_user_ids(mentions) + (["@all"] if mentions.all else [])
    fields: dict[str, list[str]] = {}
    if users:
        fields["mentioned_list"] = users
    mobiles = valid_mobiles(mentions)
    if mobiles:
        fields["mentioned_mobile_list"] = mobiles
    return fields


def configured_msgtype(target: Target) -> str:
    """The target's ``msgtype`` option (default "markdown"); ValueError when unknown."""
    kind = str(target.options.get("msgtype") or "markdown")
    if kind not in MSGTYPES:
        raise ValueError(f"wecom: unknown msgtype {kind!r} (use one of {', '.join(MSGTYPES)})")
    return kind


def choose_msgtype(message: Message, target: Target) -> str:
    """The msgtype for ``message``: news needs entries that all link to http(s) pages."""
    kind = configured_msgtype(target)
    if kind == "news" and not (message.entries and all(safe_url(e.url) for e in message.entries)):
        return "markdown"
    return kind


def template_override(target: Target, kind: str) -> str:
    """The operator's template file, used only for the msgtype it was configured for."""
    return str(target.options.get("template") or "") if kind == configured_msgtype(target) else ""


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
    articles = parse_json_template(rendered, "news")
    if not isinstance(articles, list) or not all(isinstance(a, dict) for a in articles):
        raise ValueError("wecom: the news template must produce a JSON list of articles")
    return {"msgtype": "news", "news": {"articles": articles}}


def parse_json_template(rendered: str, kind: str) -> Any:
    """The JSON a structure template rendered; ValueError naming the msgtype when it is not."""
    try:
        return json.loads(rendered)
    except ValueError as exc:
        raise ValueError(f"wecom: the {kind} template did not produce JSON: {exc}") from exc


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
            f"wecom: message does not fit in one request ({len(parts)} parts); split it first"
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
    raise ValueError("wecom: message does not fit even without its note")


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
    """The ``errcode`` and ``errmsg`` of a WeCom reply; (None, "") when it has none."""
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
    """Map one WeCom reply to (status, retry_after seconds, error)."""
    if not 200 <= http_status < 300:
        status, error = classify_http(http_status)
        wait = parse_retry_after(retry_after, now=now) if status == "retry" else None
        return status, wait, error
    code, message = parse_errcode(text)
    if code is None:
        return "retry", None, f"wecom: unreadable reply (HTTP {http_status}): {text[:200]!r}"
    if code == 0:
        return "delivered", None, ""
    error = f"wecom: {code} {message[:300]}".rstrip()
    if code in RETRY_CODES:
        return "retry", RETRY_CODES[code], error
    return "failed", None, error


def request_failure(
    exc: requests.RequestException, timeout: float
) -> tuple[Literal["retry", "failed"], str]:
    """The outcome of a request that got no HTTP reply."""
    if isinstance(exc, requests.Timeout):
        return "retry", f"wecom: timeout after {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, PERMANENT_REQUEST_ERRORS):
        return "failed", f"wecom: invalid request: {exc}"
    if isinstance(exc, requests.ConnectionError):
        return "retry", f"wecom: connection failed: {exc}"
    return "retry", f"wecom: request failed: {exc}"


# --------------------------------------------------------------------------------------------
# The notifier


class WeComNotifier:
    """WeCom group robot channel (``url`` is the robot's full webhook URL with its key)."""

    channel: str = CHANNEL
    limit: int = MARKDOWN_MAX

    def render(self, message: Message, target: Target) -> dict[str, Any]:
        """The JSON body for ``message`` (pure)."""
        kind = choose_msgtype(message, target)
        override = template_override(target, kind)
        if kind == "news":
            pic_url = safe_url(str(target.options.get("pic_url") or ""))
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
        tz = str(target.options.get("timezone") or "Asia/Shanghai")
        message = message_from_event(event_type, data, tz=tz)
        message = fit_message(message, lambda m: self.fits(m, target))
        body = encode_body(self.render(message, target))
        return Outgoing(url=target.url, body=body, headers=dict(HEADERS))

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
