"""Generic webhooks following Standard Webhooks: signing, verifying, building and sending.

The body is compact UTF-8 JSON ``{"type", "timestamp", "data"}``; the headers ``webhook-id``
(the event id, the same on every retry), ``webhook-timestamp`` (Unix seconds) and, when the
target has a secret, ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}.{body}"``).

Secrets: ``whsec_<base64>`` is the standard form and its base64 part is the HMAC key. A secret
without the prefix is base64-decoded too when it is valid base64; otherwise its UTF-8 bytes are
the key. Receivers given the same secret string derive the same key with ``decode_secret``.

``classify`` judges a reply by the shared rules of ``worker.notify.replies``. This module must
not send, sleep, retry, schedule or store anything (the transport and the ledger do that).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from worker.notify import Outcome, Outgoing, RateWindows, Reply, Target
from worker.notify.message import Message
from worker.notify.replies import by_status, judge

CHANNEL = "webhook"
SECRET_PREFIX = "whsec_"


class WebhookVerificationError(ValueError):
    """A webhook message failed verification (headers, timestamp or signature)."""


@lru_cache(maxsize=1024)
def decode_secret(secret: str) -> bytes:
    """Return the HMAC key for ``secret`` (see the module docstring for the rules); remembered,
    as a fan-out signs thousands of messages with a few secrets."""
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
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
    }
    if target.secret:
        headers["webhook-signature"] = sign(target.secret, event_id, timestamp, body)
    return Outgoing(url=target.url, body=body, headers=headers)


# A generic webhook's HTTP reply: 2xx delivered; 410 gone and other 4xx (but 408, 409, 425,
# 429) permanent; the rest retried, after ``Retry-After`` when given.
classify_reply = by_status(CHANNEL)


class WebhookNotifier:
    """Standard Webhooks channel: one signed event per article, sent concurrently."""

    channel: str = CHANNEL
    unit: str = "bytes"
    takes_messages: bool = False
    digest_documents: bool = True
    rate_windows: RateWindows = ()
    templates: Mapping[str, str] = {}

    def __init__(self) -> None:
        self._last = threading.local()

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
        return webhook_request(target, event_id, self.encoded(event_type, now, data), now)

    def encoded(self, event_type: str, now: datetime, data: Mapping[str, Any]) -> bytes:
        """The event's body, encoded once for all its subscribers: a batch hands every row of
        an event the same ``data`` object and ``now``, so only the signature differs."""
        last: tuple[Mapping[str, Any], str, datetime, bytes] | None = getattr(
            self._last, "body", None
        )  # per thread: each thread sends its own batches
        if last is not None and last[0] is data and last[1] == event_type and last[2] == now:
            return last[3]
        body = encode_payload(event_type, now, data)
        self._last.body = (data, event_type, now, body)
        return body

    def fits(self, message: Message, target: Target) -> bool:
        """Any message goes whole in one event."""
        return True

    def measure(self, body: Mapping[str, Any]) -> int:
        """The UTF-8 bytes of the JSON body."""
        return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    def limit_for(self, body: Mapping[str, Any]) -> int | None:
        """Generic webhooks have no size limit."""
        return None

    def classify(self, reply: Reply) -> Outcome:
        """Judge one reply by the webhook rules (``classify_reply``); never raises."""
        return judge(CHANNEL, classify_reply, reply)
