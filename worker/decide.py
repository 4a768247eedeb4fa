"""Pure decisions: canonical URLs, and which discovered items need ingesting.

It does no I/O (after lemon24/reader's Decider): data in, decisions out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from worker.models import Discovered

TRACKING_PARAMS = frozenset({"spm", "fbclid", "gclid", "mc_cid", "mc_eid"})
RECHECK_WINDOW = timedelta(days=7)


def canonical_url(url: str) -> str:
    """The dedup key of a URL, still fetchable: lower-case scheme and host, no default port,
    no fragment, no tracking parameters (``utm_*``, ``spm`` …); the rest kept as written."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    netloc = parts.netloc.rsplit("@", 1)
    host_port = netloc[-1].lower()
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host_port.endswith(default):
        host_port = host_port[: -len(default)]
    host = host_port if len(netloc) == 1 else f"{netloc[0]}@{host_port}"
    kept = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
    return urlunsplit((scheme, host, parts.path or "/", "&".join(kept), ""))


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


class Known(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def linked(self) -> bool: ...  # already listed by the source being polled
    @property
    def read_at(self) -> datetime: ...  # its page last read
    @property
    def listed_title(self) -> str | None: ...  # the title this source's list showed last time


Action = Literal["new", "recheck", "link"]


@dataclass(frozen=True)
class Decision:
    item: Discovered
    action: Action
    known_id: int | None = None


LISTED_TITLE_CHARS = 500  # of a list's title, kept to notice an edit (a hostile list's is long)


def listed_title(title: str) -> str:
    """A list's title as it is kept and compared: whitespace folded, at most 500 characters."""
    return " ".join(title.split())[:LISTED_TITLE_CHARS]


def retitled(listed: str, before: str | None) -> bool:
    """Whether the list now shows another title than it did last time (whitespace aside)."""
    return bool(listed and before) and listed_title(listed) != listed_title(str(before))


def due_for_recheck(found: Known, now: datetime, every: timedelta, window: timedelta) -> bool:
    """First seen within ``window`` and not read for ``every``."""
    return now - found.first_seen_at <= window and now - found.read_at >= every


def plan_ingest(
    items: Sequence[Discovered],
    known: Mapping[str, Known],
    *,
    now: datetime,
    recheck_every: timedelta,
    recheck_window: timedelta = RECHECK_WINDOW,
) -> list[Decision]:
    """New items are ingested; articles another source found first are linked to this one;
    known ones whose listed title changed are read again at once (an edit the list shows), and
    those first seen within the window and not read for ``recheck_every`` are checked for edits
    (a list that changed is no reason to read every page on it again); the rest are left alone.

    Items must already carry canonical URLs.
    """
    decisions: list[Decision] = []
    for item in items:
        found = known.get(item.url) or (known.get(item.guid) if item.guid else None)
        if found is None:
            decisions.append(Decision(item, "new"))
        elif not found.linked:
            decisions.append(Decision(item, "link", found.id))
        elif retitled(item.title, found.listed_title) or due_for_recheck(
            found, now, recheck_every, recheck_window
        ):
            decisions.append(Decision(item, "recheck", found.id))
    return decisions
