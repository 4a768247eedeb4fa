"""The notification channels: their shared types, the ``Notifier`` contract and the registry.

A notifier turns one event into one fully built HTTP request (``build``, pure), says how big a
body is in its platform's unit (``measure``, ``limit_for``, ``fits``) and judges what came back
(``classify``). Its capability flags tell the stages what to do with it: ``takes_messages``
(articles are folded into messages, as chats want, rather than sent one event each),
``digest_documents`` (a digest goes as one event carrying its rendered documents, not as
messages) and ``rate_windows`` (the platform's send-rate windows: such endpoints get one
request at a time).
Every request goes out through ``worker.notify.transport``, the one outbound seam of delivery.

This module only defines the shared types and looks notifiers up by channel name; it must not
send anything, and it knows nothing about retry schedules or storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from worker.models import Article
from worker.notify.message import Message
from worker.subscriber import SubscriberOptions


@dataclass(frozen=True)
class Target:
    """One subscriber's endpoint, from configuration."""

    name: str
    channel: str
    url: str
    secret: str = ""
    chat_id: str = ""
    options: SubscriberOptions = field(default_factory=SubscriberOptions)


@dataclass(frozen=True)
class Outgoing:
    """One HTTP POST request, fully built and ready to send."""

    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    """What came back from one POST: an HTTP status (None when there was no reply) and a bounded
    excerpt of what was read. ``problem`` names why there was no reply: "timeout", "blocked"
    (the SSRF guard), "invalid" (a URL that cannot be requested), "connection" or "error"."""

    status: int | None
    text: str = ""
    latency_ms: float = 0.0
    retry_after: str | None = None
    location: str | None = None
    problem: str = ""
    error: str = ""


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt.

    ``status`` is "delivered", "retry" (try again later, after ``retry_after`` seconds when the
    endpoint said so) or "failed" (permanent: do not retry). ``error`` is "" when delivered and
    otherwise starts with the channel name, e.g. "webhook: HTTP 500".
    """

    status: Literal["delivered", "retry", "failed"]
    http_status: int | None
    retry_after: float | None
    latency_ms: float
    response_excerpt: str
    error: str


RateWindows = tuple[tuple[int, float], ...]  # (messages, seconds) per window


class Notifier(Protocol):
    """What every channel implements; the stages use nothing else."""

    channel: str
    unit: str  # what ``measure`` counts: "bytes", "characters" or "articles"
    takes_messages: bool  # True: articles folded into ``Message``s; False: one event per article
    digest_documents: bool  # True: a digest is one event with its documents (text, HTML …)
    rate_windows: RateWindows  # the platform's send-rate windows; () = no platform limit
    templates: Mapping[str, str]  # msgtype ("" when it has one) -> the template that renders it

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """Build the request for one event; pure: same inputs give the same bytes.

        ValueError when the event cannot become a request (a configuration problem)."""
        ...

    def fits(self, message: Message, target: Target) -> bool:
        """Whether ``message`` rendered for ``target`` goes in one request."""
        ...

    def measure(self, body: Mapping[str, Any]) -> int:
        """The size of a built JSON body in the platform's ``unit``."""
        ...

    def limit_for(self, body: Mapping[str, Any]) -> int | None:
        """The limit ``measure(body)`` is held against; None when there is none."""
        ...

    def classify(self, reply: Reply) -> Outcome:
        """Judge what one POST got back (or why it got nothing); never raises."""
        ...


def article_data(article: Article) -> dict[str, Any]:
    """Return the JSON-ready description of an article that events carry as ``data``.

    ``published_at`` is ISO 8601 with its UTC offset (a naive value is taken as UTC), or None.
    """
    return {
        "id": article.id,
        "source": article.source_name,
        "url": article.url,
        "title": article.title,
        "published_at": format_datetime(article.published_at),
        "author": article.author,
        "summary": article.summary,
        "tags": list(article.tags),
        "images": list(article.images),
        "attachments": [
            {"url": a.url, "title": a.title, "type": a.type} for a in article.attachments
        ],
        "version": article.version,
    }


def format_datetime(value: datetime | None) -> str | None:
    """Return ``value`` as ISO 8601 with an offset; naive values are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def get_notifier(channel: str) -> Notifier:
    """Return the notifier for ``channel``; raise ValueError for an unknown channel."""
    notifier = NOTIFIERS.get(channel)
    if notifier is None:
        raise ValueError(f"notify: unknown channel {channel!r}")
    return notifier


__all__ = [
    "NOTIFIERS",
    "Notifier",
    "Outcome",
    "Outgoing",
    "RateWindows",
    "Reply",
    "Target",
    "article_data",
    "format_datetime",
    "get_notifier",
]

# Imported last: the channel modules import the types defined above.
from worker.notify.dingtalk import DingTalkNotifier  # noqa: E402
from worker.notify.discord import DiscordNotifier  # noqa: E402
from worker.notify.email import EmailNotifier  # noqa: E402
from worker.notify.feishu import FeishuNotifier  # noqa: E402
from worker.notify.slack import SlackNotifier  # noqa: E402
from worker.notify.telegram import TelegramNotifier  # noqa: E402
from worker.notify.webhook import WebhookNotifier  # noqa: E402
from worker.notify.websub import WebSubNotifier  # noqa: E402
from worker.notify.wecom import WeComNotifier  # noqa: E402

NOTIFIERS: dict[str, Notifier] = {
    notifier.channel: notifier
    for notifier in (
        WebhookNotifier(),
        WeComNotifier(),
        DingTalkNotifier(),
        FeishuNotifier(),
        SlackNotifier(),
        DiscordNotifier(),
        TelegramNotifier(),
        EmailNotifier(),
        WebSubNotifier(),
    )
}
