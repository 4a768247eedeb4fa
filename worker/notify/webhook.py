"""Generic webhooks following Standard Webhooks: signing, verifying, building and sending.

The body is compact UTF-8 JSON ``{"type", "timestamp", "data"}``; the headers ``webhook-id``
(the event id, the same on every retry), ``webhook-timestamp`` (Unix seconds) and, when the
target has a secret, ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"``).

Secrets: ``whsec_<base64>`` is the standard form and its base64 part is the HMAC key. A secret
without the prefix is base64-decoded too when it is valid base64; otherwise its UTF-8 bytes are
the key. Receivers given the same secret string derive the same key with ``decode_secret``.

``send`` makes exactly one attempt, never follows redirects and only classifies the reply (an
address refused by the SSRF guard of a guarded session is a permanent failure); it must not
sleep, retry, schedule or store anything (the delivery ledger does that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests

from worker.netguard import BlockedAddress
from worker.notify import Outcome, Outgoing, Target

CHANNEL = "webhook"
SECRET_PREFIX = "whsec_"
USER_AGENT = "herald"
EXCERPT_CHARS = 500
MAX_READ_BYTES = 64 * 1024
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
PERMANENT_REQUEST_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    BlockedAddress,
)


class WebhookVerificationError(ValueError):
    """A webhook message failed verification (headers, timestamp or signature)."""


def decode_secret(secret: str) -> bytes:
    """Return the HMAC key for ``secret`` (see the module docstring for the rules)."""
    if not secret:
        raise ValueError("webhook: empty secret")
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ValueError("webhook: secret after 'whsec_' is not valid base64") from exc
    try:
        return base64.b64decode(secret, validate=True)
    except binascii.Error:
        return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the Standard Webhooks signature ``v1,<base64>`` of one message."""
    key = decode_secret(secret)
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = 300,
    now: int | None = None,
) -> None:
    """Check a received message; raise WebhookVerificationError when it is not authentic.

    Header names are matched case-insensitively. ``webhook-signature`` may hold several
    space-separated signatures (key rotation): one matching ``v1`` signature suffices.
    Timestamps more than ``tolerance`` seconds from ``now`` (default: the clock) are refused.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = require_header(lowered, "webhook-id")
    timestamp = parse_timestamp(require_header(lowered, "webhook-timestamp"))
    signatures = require_header(lowered, "webhook-signature")
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook: timestamp {timestamp} is more than {tolerance} s from now ({current})"
        )
    expected = sign(secret, msg_id, timestamp, body).encode("ascii")
    for candidate in signatures.split():
        if not candidate.startswith("v1,"):
            continue
        if hmac.compare_digest(candidate.encode("utf-8", "replace"), expected):
            return
    raise WebhookVerificationError("webhook: no matching signature")


def require_header(headers: Mapping[str, str], name: str) -> str:
    """Return a non-empty header value or raise WebhookVerificationError."""
    value = headers.get(name, "").strip()
    if not value:
        raise WebhookVerificationError(f"webhook: missing header {name}")
    return value


def parse_timestamp(value: str) -> int:
    """Return the Unix seconds in a ``webhook-timestamp`` header."""
    try:
        return int(value)
    except ValueError as exc:
        raise WebhookVerificationError(f"webhook: bad webhook-timestamp {value[:40]!r}") from exc


def format_timestamp(now: datetime) -> str:
    """Return ``now`` as ISO 8601 in UTC with a ``Z`` suffix."""
    return now.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode_payload(event_type: str, now: datetime, data: Mapping[str, Any]) -> bytes:
    """Return the compact UTF-8 JSON body of one event."""
    payload = {"type": event_type, "timestamp": format_timestamp(now), "data": dict(data)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_request(target: Target, event_id: str, body: bytes, now: datetime) -> Outgoing:
    """The signed POST of an encoded body (Standard Webhooks headers)."""
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json; charset=utf-8",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
    }
    if target.secret:
        headers["webhook-signature"] = sign(target.secret, event_id, timestamp, body)
    return Outgoing(url=target.url, body=body, headers=headers)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def classify_status(code: int) -> tuple[Literal["delivered", "retry", "failed"], str]:
    """Return the outcome status and error text for an HTTP status code."""
    if 200 <= code < 300:
        return "delivered", ""
    if 300 <= code < 400:
        return "retry", f"webhook: redirect not followed (HTTP {code})"
    if code == 410:
        return "failed", "webhook: HTTP 410 (endpoint gone)"
    if 400 <= code < 500 and code not in RETRYABLE_4XX:
        return "failed", f"webhook: HTTP {code}"
    return "retry", f"webhook: HTTP {code}"


def reply_outcome(
    code: int, text: str, retry_after: str | None, latency_ms: float
) -> Outcome:
    """The outcome of an HTTP reply to a webhook, whoever sent the request."""
    status, error = classify_status(code)
    wait = None if status == "delivered" else parse_retry_after(retry_after, now=time.time())
    return Outcome(status, code, wait, latency_ms, text[:EXCERPT_CHARS], error)


def read_excerpt(response: requests.Response, *, deadline: float) -> str:
    """Read at most MAX_READ_BYTES of the reply until ``deadline``; return its first chars."""
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
    try:
        text = bytes(data).decode(response.encoding or "utf-8", "replace")
    except LookupError:
        text = bytes(data).decode("utf-8", "replace")
    return text[:EXCERPT_CHARS]


def failure_outcome(status: Literal["retry", "failed"], error: str, started: float) -> Outcome:
    """Return the outcome of an attempt that got no HTTP reply."""
    return Outcome(
        status=status,
        http_status=None,
        retry_after=None,
        latency_ms=(time.monotonic() - started) * 1000.0,
        response_excerpt="",
        error=error[:1000],
    )


class WebhookNotifier:
    """Standard Webhooks channel."""

    channel: str = CHANNEL

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """Build the signed POST for one event; ``now`` must be timezone-aware."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("webhook: now must be timezone-aware")
        if not event_id:
            raise ValueError("webhook: empty event id")
        return webhook_request(target, event_id, encode_payload(event_type, now, data), now)

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
        except requests.Timeout as exc:
            return failure_outcome(
                "retry", f"webhook: timeout after {timeout:g} s ({type(exc).__name__})", started
            )
        except PERMANENT_REQUEST_ERRORS as exc:
            return failure_outcome("failed", f"webhook: invalid request: {exc}", started)
        except requests.ConnectionError as exc:
            return failure_outcome("retry", f"webhook: connection failed: {exc}", started)
        except requests.RequestException as exc:
            return failure_outcome("retry", f"webhook: request failed: {exc}", started)
        excerpt = read_excerpt(response, deadline=started + timeout)
        return reply_outcome(
            response.status_code,
            excerpt,
            response.headers.get("retry-after"),
            (time.monotonic() - started) * 1000.0,
        )
