"""Redaction: what herald prints, logs or stores about an endpoint never carries its secret.

``redact_url`` keeps what identifies an endpoint (scheme, user name, host, port, the path's
public part, the query's keys) and replaces every secret with ``***``:

- the password of the userinfo (``postgresql://u:***@h/db``, ``redis://:***@h:6379/0``);
- every query and fragment value (``?key=***``, ``?access_token=***&timestamp=***&sign=***``);
- the platforms' token path segments, on any host, since tests and proxies use other hosts:
  Slack ``/services/T…/B…/***``, Discord ``/api/webhooks/<id>/***``, Feishu and Lark
  ``/open-apis/bot/v2/hook/***``, Telegram ``/bot***/…`` (``/bot<digits>:<token>``; on
  ``*.telegram.org`` any ``/bot…`` segment), and the last segment of any ``hooks.slack.com`` URL.

``redact_text`` finds the URLs (and the path-and-query references that HTTP clients quote in
their errors, ``url: /robot/send?access_token=…``) inside free text such as exception messages
and reply excerpts, redacts each, and masks the secret shapes that appear bare: Standard
Webhooks ``whsec_…``, DingTalk signing secrets ``SEC…`` and Telegram bot tokens
``<digits>:<token>``.

Both run in time linear in their input (they see untrusted reply text): words are found with
one pass, URLs are cut with ``str`` methods, and each pattern below can start only at a fixed
literal or at the start of a digit run. Both are idempotent and never raise.

This module must not validate, normalise or resolve URLs, and nothing else in herald may
redact by its own rules: every printed, logged or stored URL or error text goes through here.
"""

from __future__ import annotations

import re

MASK = "***"

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_TRAILING = ".,;:!)]}>'\""  # punctuation after a URL in prose, not part of it
_WORD = re.compile(r"\S+")
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
_DINGTALK_SECRET = re.compile(r"(?<![A-Za-z0-9])SEC[0-9a-fA-F]{32,}")
_TELEGRAM_TOKEN = re.compile(r"(?<![0-9])([0-9]{5,}):[A-Za-z0-9_-]{30,}")


def redact_url(url: str) -> str:
    """``url`` with its password, query and fragment values and token path segments masked."""
    mark = url.find("://")
    if mark <= 0 or not _is_scheme(url[:mark]):
        return _redact_reference(url, host="")
    rest = url[mark + 3 :]
    end = _first_of(rest, "/?#")
    authority, tail = _split_userinfo(rest[:end], rest[end:])
    return url[: mark + 3] + authority + _redact_reference(tail, host=_host(authority))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted and bare secrets masked."""
    if not text:
        return text
    masked = _mask_bare(text)
    if "/" not in masked and "?" not in masked:  # no URL, path or query in it: nothing more
        return masked
    return _WORD.sub(_redact_word, masked)


# --------------------------------------------------------------------------------------------
# Free text


def _redact_word(match: re.Match[str]) -> str:
    """One run of non-blanks: each URL in it (a scheme, ``://``, up to the next URL), and what
    comes before the first as a path-and-query reference."""
    word = match.group(0)
    starts: list[int] = []
    floor = 0
    mark = word.find("://")
    while mark >= 0:
        start = mark
        while start > floor and word[start - 1] in _SCHEME_CHARS:
            start -= 1
        while start < mark and not word[start].isalpha():
            start += 1
        if start < mark:
            starts.append(start)
        floor = mark + 3
        mark = word.find("://", floor)
    if not starts:
        return _redact_reference_in(word)
    out = [_redact_reference_in(word[: starts[0]])]
    for start, end in zip(starts, [*starts[1:], len(word)], strict=True):
        url, trail = _split_trailing(word[start:end])
        out.append(redact_url(url) + trail)
    return "".join(out)


def _redact_reference_in(word: str) -> str:
    """A word holding no URL, from its first ``/`` or ``?`` on read as path and query."""
    start = _first_of(word, "/?")
    if start == len(word):
        return word
    reference, trail = _split_trailing(word[start:])
    return word[:start] + _redact_reference(reference, host="") + trail


def _split_trailing(text: str) -> tuple[str, str]:
    kept = text.rstrip(_TRAILING)
    return kept, text[len(kept) :]


def _mask_bare(text: str) -> str:
    if "whsec_" in text:
        text = _WHSEC.sub("whsec_" + MASK, text)
    if "SEC" in text:
        text = _DINGTALK_SECRET.sub("SEC" + MASK, text)
    if ":" in text:
        text = _TELEGRAM_TOKEN.sub(r"\1:" + MASK, text)
    return text


# --------------------------------------------------------------------------------------------
# One URL


def _is_scheme(text: str) -> bool:
    return text[:1].isalpha() and text.isascii() and all(c in _SCHEME_CHARS for c in text)


def _first_of(text: str, stops: str) -> int:
    """Index of the first character of ``stops`` in ``text``, else ``len(text)``."""
    found = [i for i in (text.find(c) for c in stops) if i >= 0]
    return min(found, default=len(text))


def _split_userinfo(authority: str, tail: str) -> tuple[str, str]:
    """Mask the password of ``user:password@host``; ``tail`` is what follows the authority.

    A password holding an unencoded ``/`` (``redis://:pa/ss@h``) makes the authority end early;
    a colon followed by something other than a port, with an ``@`` later on, is read that way.
    """
    at = authority.rfind("@")
    if at >= 0:
        return _mask_password(authority[:at]) + authority[at:], tail
    colon = authority.find(":")
    port = authority[colon + 1 :]
    if authority.startswith("[") or colon < 0 or not port or (port.isascii() and port.isdigit()):
        return authority, tail
    at = tail.find("@")
    if at < 0:
        return authority, tail
    rest = tail[at + 1 :]
    end = _first_of(rest, "/?#")
    return authority[: colon + 1] + MASK + "@" + rest[:end], rest[end:]


def _mask_password(userinfo: str) -> str:
    colon = userinfo.find(":")
    if colon < 0 or colon == len(userinfo) - 1:
        return userinfo
    return userinfo[: colon + 1] + MASK


def _host(authority: str) -> str:
    hostport = authority[authority.rfind("@") + 1 :]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1].lower()
    return hostport.split(":", 1)[0].lower()


def _redact_reference(reference: str, *, host: str) -> str:
    """A path with its optional ``?query`` and ``#fragment``, each redacted."""
    end = _first_of(reference, "?#")
    out = _redact_path(reference[:end], host)
    rest = reference[end:]
    if rest.startswith("?"):
        hash_at = rest.find("#")
        hash_at = len(rest) if hash_at < 0 else hash_at
        out += "?" + _mask_values(rest[1:hash_at])
        rest = rest[hash_at:]
    if rest.startswith("#"):
        out += "#" + _mask_values(rest[1:])
    return out


def _mask_values(query: str) -> str:
    """``a=1&b=2&c`` → ``a=***&b=***&***`` (empty values stay empty)."""
    parts = []
    for part in query.split("&"):
        key, equals, value = part.partition("=")
        if equals:
            parts.append(f"{key}={MASK if value else ''}")
        else:
            parts.append(MASK if part else "")
    return "&".join(parts)


def _redact_path(path: str, host: str) -> str:
    if "/" not in path:
        return path
    segments = path.split("/")
    count = len(segments)
    telegram = host == "telegram.org" or host.endswith(".telegram.org")
    open_apis = False
    for i, segment in enumerate(segments):
        if segment == "open-apis":
            open_apis = True
        elif segment == "hook" and open_apis and i + 1 < count:
            _mask(segments, i + 1)  # Feishu / Lark: /open-apis/bot/v2/hook/<token>
        elif segment == "services" and i + 3 < count and _slack_ids(segments, i):
            _mask(segments, i + 3)  # Slack: /services/T…/B…/<token>
        elif segment == "webhooks" and i + 2 < count and _discord(segments, i):
            _mask(segments, i + 2)  # Discord: /api[/v10]/webhooks/<id>/<token>
        elif segment.startswith("bot") and (_bot_token(segment) or (telegram and segment[3:])):
            segments[i] = "bot" + MASK  # Telegram: /bot<id>:<token>/sendMessage
    if host == "hooks.slack.com":
        last = max((i for i, s in enumerate(segments) if s), default=0)
        if last > 1:
            _mask(segments, last)  # workflow and trigger URLs end in their secret too
    return "/".join(segments)


def _mask(segments: list[str], index: int) -> None:
    if segments[index]:
        segments[index] = MASK


def _slack_ids(segments: list[str], i: int) -> bool:
    return segments[i + 1].startswith("T") and segments[i + 2].startswith("B")


def _discord(segments: list[str], i: int) -> bool:
    webhook_id = segments[i + 1]
    if not (webhook_id.isascii() and webhook_id.isdigit()):
        return False
    before = segments[i - 1] if i >= 1 else ""
    return before == "api" or (i >= 2 and segments[i - 2] == "api" and before.startswith("v"))


def _bot_token(segment: str) -> bool:
    """``bot<digits>:<token>`` (the colon possibly percent-encoded)."""
    rest = segment[3:]
    colon = rest.find(":")
    width = 1
    if colon < 0:
        colon, width = rest.upper().find("%3A"), 3
    number = rest[:colon]
    return colon > 0 and number.isascii() and number.isdigit() and len(rest) > colon + width
