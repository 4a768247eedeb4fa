"""What a chat subscriber receives, as plain data: a heading and a list of entries.

Events in the ledger (``article.created``, ``article.updated``, ``source.health``, digests)
become a ``Message``; each channel renders a ``Message`` in its own format. ``split_message``
packs entries into as few messages as the channel's size limit allows, never cutting inside an
entry. This module does no I/O and knows no channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from worker.subscriber import Mentions

Kind = Literal["instant", "digest", "alert", "test"]
ELLIPSIS = "…"
MIN_SUMMARY = 20


@dataclass(frozen=True)
class Entry:
    """One article as a message shows it. ``published`` is already formatted for the reader."""

    title: str
    url: str
    source: str = ""
    published: str = ""
    summary: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Message:
    kind: Kind
    heading: str
    entries: tuple[Entry, ...] = ()
    note: str = ""  # free text of an alert or test message
    link: str = ""  # e.g. the digest's archive page
    part: int = 1
    parts: int = 1
    mentions: Mentions = field(default_factory=Mentions)

    @property
    def title(self) -> str:
        """The heading with the part number when the message was split: ``标题 (1/3)``."""
        return f"{self.heading} ({self.part}/{self.parts})" if self.parts > 1 else self.heading

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        mentions = data.get("mentions") or {}
        return cls(
            kind=data.get("kind", "instant"),
            heading=str(data.get("heading", "")),
            entries=tuple(
                Entry(**{**e, "tags": tuple(e.get("tags") or ())}) for e in data.get("entries", ())
            ),
            note=str(data.get("note", "")),
            link=str(data.get("link", "")),
            part=int(data.get("part", 1)),
            parts=int(data.get("parts", 1)),
            mentions=Mentions(
                tuple(mentions.get("mobiles", ())),
                tuple(mentions.get("user_ids", ())),
                bool(mentions.get("all", False)),
            ),
        )


def entry_from_article(data: Mapping[str, Any], tz: str = "Asia/Shanghai") -> Entry:
    """An ``article.created`` event's data as an entry, its date in the reader's zone."""
    published = ""
    if data.get("published_at"):
        moment = datetime.fromisoformat(str(data["published_at"])).astimezone(ZoneInfo(tz))
        published = (
            moment.strftime("%Y-%m-%d")
            if moment.hour == moment.minute == 0
            else (moment.strftime("%Y-%m-%d %H:%M"))
        )
    return Entry(
        title=str(data.get("title", "")),
        url=str(data.get("url", "")),
        source=str(data.get("source", "")),
        published=published,
        summary=str(data.get("summary", "")),
        tags=tuple(data.get("tags") or ()),
    )


def message_from_event(
    event_type: str, data: Mapping[str, Any], *, tz: str = "Asia/Shanghai"
) -> Message:
    """Any ledger event as a message: chat payloads are messages, events are converted."""
    if event_type.startswith("message."):
        return Message.from_dict(data)
    if event_type == "article.created":
        entry = entry_from_article(data, tz)
        return Message("instant", entry.source or "herald", (entry,))
    if event_type == "article.updated":  # a correction: the note says what changed
        entry = replace(entry_from_article(data, tz), summary=str(data.get("note", "")))
        return Message("instant", f"更正：{entry.source or 'herald'}", (entry,))
    if event_type == "source.health":
        note = f"{data.get('source')}: {data.get('previous_status')} → {data.get('status')}"
        if data.get("reason"):
            note += f" — {data.get('reason')}"
        return Message("alert", f"herald: source {data.get('status')}", note=note)
    if event_type == "subscriber.suspended":
        note = f"{data.get('subscriber')}: suspended — {data.get('reason')}"
        return Message("alert", "herald: subscriber suspended", note=note)
    return Message("alert", f"herald: {event_type}", note=str(dict(data)))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (never inside a character)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def split_message(message: Message, fits: Callable[[Message], bool]) -> list[Message]:
    """Pack ``message``'s entries into as few messages as ``fits`` allows, in order.

    An entry too long on its own is shortened (summary, then title) keeping its link; parts
    are numbered ``(1/3)`` in their titles. ``fits`` measures a rendered message the way the
    platform counts (bytes or characters).
    """
    if not message.entries:
        return [message]
    groups: list[list[Entry]] = []
    for entry in message.entries:
        if groups and fits(_with(message, [*groups[-1], entry], len(groups) + 1)):
            groups[-1].append(entry)
            continue
        groups.append([_fit_alone(message, entry, fits, len(groups) + 1)])
    total = len(groups)
    return [
        replace(message, entries=tuple(group), part=index, parts=total)
        for index, group in enumerate(groups, 1)
    ]


def _with(message: Message, entries: Sequence[Entry], parts: int) -> Message:
    # measured as part n of n+1 so the "(n/m)" suffix is accounted for
    return replace(message, entries=tuple(entries), part=parts, parts=max(parts, 2))


def _fit_alone(message: Message, entry: Entry, fits: Callable[[Message], bool], n: int) -> Entry:
    if fits(_with(message, [entry], n)):
        return entry
    summary = entry.summary
    while len(summary) > MIN_SUMMARY:
        summary = shorten(summary, len(summary) // 2)
        candidate = replace(entry, summary=summary)
        if fits(_with(message, [candidate], n)):
            return candidate
    candidate = replace(entry, summary="")
    title = candidate.title
    while len(title) > MIN_SUMMARY and not fits(_with(message, [candidate], n)):
        title = shorten(title, len(title) * 3 // 4)
        candidate = replace(candidate, title=title)
    return candidate
