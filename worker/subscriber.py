"""A subscriber's options, typed: what a channel, a filter, a schedule or a digest reads of it.

One shape from the config file (``SubscriberConfig.options``) through the database (stored as
JSON by ``to_stored``, read back by ``from_stored``) to every stage and notifier; nothing reads
the stored JSON by key. This module must not import other herald modules but ``schedule``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from worker.schedule import DEFAULT_SCHEDULE

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Mentions:
    """Who to mention: only ever from the subscriber's configuration, never from content."""

    mobiles: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    all: bool = False


@dataclass(frozen=True, slots=True)
class SubscriberOptions:
    """Everything about a subscriber beyond its name, channel, URL, secret, mode and sources."""

    chat_id: str = ""
    msgtype: str = ""
    keyword: str = ""
    template: str = ""
    pic_url: str = ""  # the picture of WeCom news and DingTalk feedCard messages
    timezone: str = DEFAULT_TIMEZONE
    tags: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: str = ""
    schedule: str = DEFAULT_SCHEDULE
    quiet_hours: str = ""
    min_items: int = 1
    rate_limit: str = ""
    updates: str = "title"  # which corrections are told: "none", "title" (changed) or "any"
    mail_to: tuple[str, ...] = ()  # e-mail: the recipients (``to``)
    mail_from: str = ""  # e-mail: the sender (``from``)
    mentions: Mentions = field(default_factory=Mentions)

    def to_stored(self) -> dict[str, Any]:
        """The JSON kept in the subscriber's row."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            data[item.name] = list(value) if isinstance(value, tuple) else value
        data["mentions"] = {
            "mobiles": list(self.mentions.mobiles),
            "user_ids": list(self.mentions.user_ids),
            "all": self.mentions.all,
        }
        return data

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> SubscriberOptions:
        """Read the row's JSON back; missing keys take their defaults, unknown ones are left."""
        if not data:
            return cls()
        raw = dict(data)
        mentions = raw.get("mentions") or {}
        return cls(
            chat_id=str(raw.get("chat_id") or ""),
            msgtype=str(raw.get("msgtype") or ""),
            keyword=str(raw.get("keyword") or ""),
            template=str(raw.get("template") or ""),
            pic_url=str(raw.get("pic_url") or ""),
            timezone=str(raw.get("timezone") or DEFAULT_TIMEZONE),
            tags=tuple(str(t) for t in raw.get("tags") or ()),
            include=tuple(str(t) for t in raw.get("include") or ()),
            exclude=tuple(str(t) for t in raw.get("exclude") or ()),
            regex=str(raw.get("regex") or ""),
            schedule=str(raw.get("schedule") or DEFAULT_SCHEDULE),
            quiet_hours=str(raw.get("quiet_hours") or ""),
            min_items=int(raw.get("min_items", 1)),
            rate_limit=str(raw.get("rate_limit") or ""),
            updates=str(raw.get("updates") or "title"),
            mail_to=tuple(str(a) for a in raw.get("mail_to") or ()),
            mail_from=str(raw.get("mail_from") or ""),
            mentions=Mentions(
                tuple(str(m) for m in mentions.get("mobiles") or ()),
                tuple(str(u) for u in mentions.get("user_ids") or ()),
                bool(mentions.get("all", False)),
            ),
        )


@lru_cache(maxsize=4096)
def options_from_json(text: str | None) -> SubscriberOptions:
    """``from_stored`` on the row's JSON text, remembered (the options are frozen): subscribers
    share a few sets of options, and a claim reads hundreds of rows at a time."""
    return SubscriberOptions.from_stored(json.loads(text) if text else None)
