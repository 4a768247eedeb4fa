"""Pure decisions: canonical URLs, and which discovered items need ingesting.

It does no I/O (after lemon24/reader's Decider): data in, decisions out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.models import Discovered

TRACKING_PARAMS = frozenset(
    {"spm", "from", "fbclid", "gclid", "mc_cid", "mc_eid", "share_token", "isappinstalled"}
)
RECHECK_WINDOW = timedelta(days=7)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, drop default ports, fragments and tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


class Known(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def linked(self) -> bool: ...  # already listed by the source being polled


Action = Literal["new", "recheck", "link"]


@dataclass(frozen=True)
class Decision:
    item: Discovered
    action: Action
    known_id: int | None = None


def plan_ingest(
    items: Sequence[Discovered],
    known: Mapping[str, Known],
    *,
    now: datetime,
    recheck_window: timedelta = RECHECK_WINDOW,
) -> list[Decision]:
    """New items are ingested; articles another source found first are linked to this one;
    known ones first seen within the window are checked for edits; older ones are left alone.

    Items must already carry canonical URLs.
    """
    decisions: list[Decision] = []
    for item in items:
        found = known.get(item.url) or (known.get(item.guid) if item.guid else None)
        if found is None:
            decisions.append(Decision(item, "new"))
        elif not found.linked:
            decisions.append(Decision(item, "link", found.id))
        elif now - found.first_seen_at <= recheck_window:
            decisions.append(Decision(item, "recheck", found.id))
    return decisions
