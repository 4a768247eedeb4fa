"""The notification channel registry: targets, built requests, outcomes and notifiers.

A notifier turns one event into one fully built HTTP request (``build``, pure) and sends it
(``send``), reporting an ``Outcome`` that says whether to retry. This module only defines the
shared types and looks notifiers up by channel name; it must not send anything itself, and it
knows nothing about retry schedules or storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import requests

from worker.models import Article


@dataclass(frozen=True)
class Target:
    """One subscriber's endpoint, from configuration."""

    name: str
    channel: str
    url: str
    secret: str = ""
    chat_id: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)  # mentions, msgtype, template, tz …


@dataclass(frozen=True)
class Outgoing:
    """One HTTP POST request, fully built and ready to send."""

    url: str
    body: bytes
    headers: Mapping[str, str]


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


class Notifier(Protocol):
    """What every channel implements."""

    channel: str

    def build(
        self,
        target: Target,
        event_type: str,
        event_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime,
    ) -> Outgoing:
        """Build the request for one event; pure: same inputs give the same bytes."""
        ...

    def send(self, session: requests.Session, request: Outgoing, *, timeout: float) -> Outcome:
        """Send one built request once and classify the reply."""
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


# Imported last: the channel modules import the types defined above.
from worker.notify.webhook import WebhookNotifier  # noqa: E402

NOTIFIERS: dict[str, Notifier] = {"webhook": WebhookNotifier()}

__all__ = [
    "NOTIFIERS",
    "Notifier",
    "Outcome",
    "Outgoing",
    "Target",
    "article_data",
    "format_datetime",
    "get_notifier",
]

from worker.notify.discord import DiscordNotifier  # noqa: E402
from worker.notify.slack import SlackNotifier  # noqa: E402
from worker.notify.telegram import TelegramNotifier  # noqa: E402

NOTIFIERS.update(slack=SlackNotifier(), discord=DiscordNotifier(), telegram=TelegramNotifier())

from worker.notify.dingtalk import DingTalkNotifier  # noqa: E402
from worker.notify.feishu import FeishuNotifier  # noqa: E402
from worker.notify.wecom import WeComNotifier  # noqa: E402

NOTIFIERS.update(wecom=WeComNotifier(), dingtalk=DingTalkNotifier(), feishu=FeishuNotifier())

from worker.notify import dingtalk, discord, feishu, slack, telegram, wecom  # noqa: E402

# How each chat platform's reply maps to delivered / retry after N s / failed, for senders
# other than the notifiers' own ``send`` (the concurrent sender).
REPLY_CLASSIFIERS = {
    module.CHANNEL: module.classify_reply
    for module in (wecom, dingtalk, feishu, slack, discord, telegram)
}
