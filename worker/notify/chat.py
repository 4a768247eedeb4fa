"""Pieces every chat channel shares: inert text, safe links, fitting, encoding and sending.

Holds what the chat channel modules (WeCom, DingTalk, Feishu, Slack, Discord, Telegram) do
alike: whitespace flattening and mention breaking with a word joiner (U+2060), http(s) link
checks, the event-to-message step, fitting a message into one request, packing text into
chunks, compact JSON bodies and headers. Everything that differs between channels (the channel
name, limits, markup) is passed in by the caller; replies are judged in ``worker.notify.replies``.

This module must not know any single platform: no channel names, payload shapes, limits or
error codes live here. Like the channels, it must not send, sleep, retry, schedule or store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from markupsafe import Markup

from worker.notify import Target
from worker.notify.message import Message, message_from_event, shorten, split_message
from worker.subscriber import Mentions

DEFAULT_TZ = "Asia/Shanghai"
WORD_JOINER = "\u2060"
JSON_TYPE = "application/json; charset=utf-8"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SPACE = re.compile(r"\s+")
_AT_NAME = re.compile(r"@(?=[^\s\u2060])")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_MARKDOWN_LINE_START = re.compile(r"^([#>+\-])")
_MOBILE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")
_NETLOC = re.compile(r"^[\w.\-:\[\]@%]+$")
_URL_SAFE = "/:?#@!$&'+,;=%~"


# --------------------------------------------------------------------------------------------
# Inert text (pure)


def flatten(text: str) -> str:
    """``text`` on one line: every run of whitespace becomes one space."""
    return " ".join(str(text).split())


def collapse_space(text: str) -> str:
    """Return ``text`` on one line: runs of whitespace become one space, ends stripped."""
    return _SPACE.sub(" ", text).strip()


def break_every_at(text: str) -> str:
    """A word joiner after every ``@``: ``@everyone``, ``@here``, ``@name`` notify nobody."""
    return text.replace("@", "@" + WORD_JOINER)


def break_at_names(text: str) -> str:
    """A word joiner after each ``@`` before a name (``@all``, ``@所有人`` stay text)."""
    return _AT_NAME.sub("@" + WORD_JOINER, text)


def break_tags(text: str) -> str:
    """A word joiner after every ``<``: ``<@id>``, ``<at …>``, ``<font>`` stop being tags."""
    return text.replace("<", "<" + WORD_JOINER)


def break_entities(text: str) -> str:
    """A word joiner after the ``&`` of every ``&lt;``-style entity: it stays literal."""
    return _ENTITY.sub("&" + WORD_JOINER, text)


def neutralise(text: str) -> str:
    """Break tags, ``@`` mentions and entities with an invisible word joiner (U+2060)."""
    return break_entities(break_at_names(break_tags(text)))


def escape_line(text: str) -> str:
    """Plain text on one line with tags, mentions and entities broken."""
    return neutralise(collapse_space(text))


def escape_basic_markdown(text: str) -> str:
    """Content for a basic markdown dialect: syntax backslashed; links, tags, mentions broken."""
    out = _MARKDOWN_SPECIAL.sub(r"\\\1", collapse_space(text))
    out = _MARKDOWN_LINE_START.sub(r"\\\1", out).replace("](", "]" + WORD_JOINER + "(")
    return neutralise(out)


# --------------------------------------------------------------------------------------------
# Links (pure)


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


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    text = str(url)
    if not text or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return False
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def template_functions(
    esc: Callable[[str], str], link: Callable[[str, str], str]
) -> dict[str, Callable[..., Any]]:
    """``esc``, ``link``, ``http`` for templates (Markup: an ``.html`` override won't re-escape)."""
    return {
        "esc": lambda text: Markup(esc(text)),
        "link": lambda url, text: Markup(link(url, text)),
        "http": is_http_url,
    }


# --------------------------------------------------------------------------------------------
# Messages, text and bodies (pure)


def event_message(target: Target, event_type: str, data: Mapping[str, Any]) -> Message:
    """The message for one event, dates in the target's ``timezone`` option."""
    tz = target.options.timezone or DEFAULT_TZ
    return message_from_event(event_type, data, tz=tz)


def valid_mobiles(mentions: Mentions) -> list[str]:
    """The configured mobile numbers that look like phone numbers (others are dropped)."""
    return [m for m in mentions.mobiles if _MOBILE.match(m)]


def entries_linked(message: Message) -> bool:
    """Whether ``message`` has entries and every one links to an http(s) page."""
    return bool(message.entries) and all(safe_url(e.url) for e in message.entries)


def configured_msgtype(channel: str, target: Target, msgtypes: tuple[str, ...]) -> str:
    """The target's ``msgtype`` option (default: the first of ``msgtypes``); else ValueError."""
    kind = target.options.msgtype or msgtypes[0]
    if kind not in msgtypes:
        raise ValueError(f"{channel}: unknown msgtype {kind!r} (use one of {', '.join(msgtypes)})")
    return kind


def template_override(channel: str, target: Target, kind: str, msgtypes: tuple[str, ...]) -> str:
    """The operator's template file, used only for the msgtype it was configured for."""
    configured = configured_msgtype(channel, target, msgtypes)
    return target.options.template if kind == configured else ""


def parse_json_template(channel: str, rendered: str, kind: str) -> Any:
    """The JSON a structure template rendered; ValueError naming the msgtype when it is not."""
    try:
        return json.loads(rendered)
    except ValueError as exc:
        raise ValueError(f"{channel}: the {kind} template did not produce JSON: {exc}") from exc


def title_with_part(heading: str, message: Message, limit: int) -> str:
    """``heading`` (or "herald") within ``limit`` characters, keeping the ``(1/3)`` suffix."""
    suffix = f" ({message.part}/{message.parts})" if message.parts > 1 else ""
    return shorten(heading or "herald", max(1, limit - len(suffix))) + suffix


def pack_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into chunks of at most ``limit`` characters at paragraph, then line ends.

    A single line longer than ``limit`` stays whole (and too long): cutting inside it could
    break a link, an entity or an escape. Empty paragraphs are dropped.
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


def fit_message(channel: str, message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` made to fit one request: an over-long single entry or note is shortened.

    The note is halved until it fits (down to nothing). A message of several entries that does
    not fit must be split by the caller first.
    """
    if fits(message):
        return message
    if not message.entries:
        note = message.note
        while note:
            note = shorten(note, len(note) // 2) if len(note) > 1 else ""
            candidate = replace(message, note=note)
            if fits(candidate):
                return candidate
        raise ValueError(f"{channel}: message does not fit even without its note")
    parts = split_message(message, fits)
    if len(parts) != 1 or not fits(parts[0]):
        raise ValueError(
            f"{channel}: message does not fit in one request ({len(parts)} parts); split it first"
        )
    return parts[0]


def fit_single(channel: str, message: Message, fits: Callable[[Message], bool]) -> Message:
    """``message`` as one request: a lone entry or note too long is shortened, else ValueError.

    The note is halved while it is longer than 20 characters.
    """
    if fits(message):
        return message
    if message.entries:
        parts = split_message(message, fits)
        if len(parts) == 1 and fits(parts[0]):
            return parts[0]
        raise ValueError(f"{channel}: message needs {len(parts)} requests; split it first")
    note = message.note
    while len(note) > 20:
        note = shorten(note, len(note) // 2)
        if fits(replace(message, note=note)):
            return replace(message, note=note)
    raise ValueError(f"{channel}: message does not fit in one request")


def since_epoch(channel: str, now: datetime, unit: timedelta) -> int:
    """``now`` as whole ``unit``s since the Unix epoch (exact integer arithmetic)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{channel}: now must be timezone-aware")
    return (now - EPOCH) // unit


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The compact UTF-8 JSON bytes sent on the wire."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_headers(*, title_case: bool = False) -> dict[str, str]:
    """The headers of a JSON POST, names in lower case or ``Title-Case`` (the transport adds the
    configured User-Agent)."""
    if title_case:
        return {"Content-Type": JSON_TYPE}
    return {"content-type": JSON_TYPE}
