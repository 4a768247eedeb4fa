"""Judging what an endpoint answered: the rules every channel shares, and ``judge`` around them.

``judge`` turns one ``Reply`` into an ``Outcome`` for any channel: no reply at all (timeout,
refused by the SSRF guard, connection error), a redirect (never followed: a permanent failure
naming where it pointed), or an HTTP reply handed to the channel's own ``classify_reply``.
Whatever the endpoint sent — any status, header, body or size — ``judge`` returns an outcome and
never raises: a reply the channel's rules cannot read is a retry, not a crash. Waits asked for
(``Retry-After``, a JSON ``retry_after``) are read as finite, non-negative seconds or ignored;
the retry schedule caps them (``worker.backoff``).

This module must not send, sleep, schedule or store anything, and knows no single platform.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from worker.notify import Outcome, Reply
from worker.retry_after import parse_retry_after

EXCERPT_CHARS = 500
RETRYABLE_4XX = frozenset({408, 409, 425, 429})

Status = Literal["delivered", "retry", "failed"]
Verdict = tuple[Status, float | None, str]  # (status, seconds to wait, error)
ClassifyReply = Callable[..., Verdict]  # (code, text, retry_after, *, now) -> Verdict


def judge(channel: str, classify_reply: ClassifyReply, reply: Reply) -> Outcome:
    """The outcome of one POST to a ``channel`` endpoint; never raises."""
    if reply.status is None:
        return no_reply(channel, reply)
    code = reply.status
    if 300 <= code < 400:
        where = (reply.location or "").strip()[:300] or "nowhere"
        error = f"{channel}: HTTP {code} redirect to {where} not followed"
        return Outcome("failed", code, None, reply.latency_ms, reply.text[:EXCERPT_CHARS], error)
    try:
        status, wait, error = classify_reply(code, reply.text, reply.retry_after, now=time.time())
    except Exception as err:  # the rules could not read this reply: try again later
        status, wait = "retry", None
        error = f"{channel}: unreadable reply (HTTP {code}, {type(err).__name__})"
    return Outcome(status, code, wait, reply.latency_ms, reply.text[:EXCERPT_CHARS], error)


def no_reply(channel: str, reply: Reply) -> Outcome:
    """A POST that got no HTTP reply: permanent when the request itself cannot be made."""
    detail = {
        "timeout": reply.error or "timeout",
        "blocked": reply.error or "address refused",
        "invalid": f"invalid request: {reply.error}" if reply.error else "invalid request URL",
    }.get(reply.problem, f"connection failed: {reply.error}" if reply.error else "no reply")
    permanent = reply.problem in ("blocked", "invalid")
    return Outcome(
        "failed" if permanent else "retry", None, None, reply.latency_ms, "", f"{channel}: {detail}"
    )


# --------------------------------------------------------------------------------------------
# Reading waits and bodies (pure)


def seconds_value(value: Any) -> float | None:
    """A JSON number of seconds when it is finite and not negative (booleans are not); else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def parse_reply(text: str) -> dict[str, Any]:
    """A JSON reply as a dict; {} when the body is empty or not a JSON object."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_errcode(text: str) -> tuple[int | None, str]:
    """The ``errcode`` and ``errmsg`` of a reply; (None, "") when it has none."""
    reply = parse_reply(text)
    code = reply.get("errcode")
    if isinstance(code, str) and 0 < len(code.strip()) <= 12:
        try:
            code = int(code)
        except ValueError:
            return None, ""
    if isinstance(code, bool) or not isinstance(code, int):
        return None, ""
    return code, str(reply.get("errmsg") or "")


# --------------------------------------------------------------------------------------------
# Rules by HTTP status and by result code (pure)


def classify_status(channel: str, code: int, retry_after: str | None, *, now: float) -> Verdict:
    """A reply judged by its HTTP status alone: 2xx delivered; 410 and other 4xx (but 408, 409,
    425, 429) permanent; the rest retried after ``Retry-After`` when given."""
    if 200 <= code < 300:
        return "delivered", None, ""
    if code == 410:
        return "failed", None, f"{channel}: HTTP 410 (endpoint gone)"
    return classify_error_status(
        channel, code, f"{channel}: HTTP {code}", parse_retry_after(retry_after, now=now)
    )


def by_status(channel: str) -> ClassifyReply:
    """The reply rules of an endpoint judged by its HTTP status alone (``classify_status``)."""

    def classify_reply(code: int, text: str, retry_after: str | None, *, now: float) -> Verdict:
        return classify_status(channel, code, retry_after, now=now)

    return classify_reply


def classify_error_status(channel: str, code: int, error: str, wait: float | None) -> Verdict:
    """An error reply by HTTP status: 4xx permanent (but 408/409/425/429), others retried."""
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return "failed", None, error
    return "retry", wait, error


def classify_code(
    channel: str,
    http_status: int,
    text: str,
    code: int | None,
    message: str,
    retry_codes: Mapping[int, float | None],
) -> Verdict:
    """A 2xx reply that carries a result ``code``: 0 delivered, ``retry_codes`` retried."""
    if code is None:
        return "retry", None, f"{channel}: unreadable reply (HTTP {http_status}): {text[:200]!r}"
    if code == 0:
        return "delivered", None, ""
    error = f"{channel}: {code} {message[:300]}".rstrip()
    if code in retry_codes:
        return "retry", retry_codes[code], error
    return "failed", None, error


def classify_errcode(
    channel: str,
    retry_codes: Mapping[int, float | None],
    http_status: int,
    text: str,
    retry_after: str | None,
    *,
    now: float,
) -> Verdict:
    """A reply carrying ``errcode``/``errmsg`` in its JSON: by HTTP status, then by ``errcode``."""
    if not 200 <= http_status < 300:
        return classify_status(channel, http_status, retry_after, now=now)
    code, message = parse_errcode(text)
    return classify_code(channel, http_status, text, code, message, retry_codes)
