"""Pure source-health judgements: is a poll's result ok, degraded, blocked or failing, and why;
is a healthy source stale (nothing new for longer than its ``expect_new_within``).

Also the list-layout fingerprint that tells a redesign apart from a quiet day. It does no I/O.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urldefrag

import lxml.etree
import lxml.html

from worker.challenge import CHALLENGE_STATUSES, has_markers
from worker.links import make_absolute

Status = Literal["ok", "stale", "degraded", "blocked", "failing"]
PROBLEMS = ("stale", "degraded", "blocked", "failing")
MIN_DATED_SHARE = 0.5


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str = ""


def assess_poll(
    *, items: int, dated: int, fingerprint: str, previous_items: int, previous_fingerprint: str
) -> Verdict:
    """A successful fetch can still be a problem: no items, few dates, or a changed layout."""
    if items == 0:
        before = f" (the previous poll found {previous_items})" if previous_items else ""
        return Verdict("degraded", f"found no items on the list{before}")
    if dated / items < MIN_DATED_SHARE:
        return Verdict("degraded", f"only {dated} of {items} items have a date it can read")
    if previous_fingerprint and fingerprint and previous_fingerprint != fingerprint:
        return Verdict(
            "degraded", f"list layout changed (fingerprint {previous_fingerprint} → {fingerprint})"
        )
    return Verdict("ok")


def assess_failure(message: str, status: int | None, body_excerpt: str) -> Verdict:
    """A failed fetch or parse: ``blocked`` for an anti-bot challenge, else ``failing``."""
    challenged = has_markers(body_excerpt)
    if status in CHALLENGE_STATUSES or (status in (403, 429, 503) and challenged):
        kind = "a JavaScript cookie challenge" if challenged else "an anti-bot answer"
        return Verdict("blocked", f"blocked by {kind} (HTTP {status}): {message}")
    return Verdict("failing", message)


def assess_staleness(
    expect_within: float, newest: datetime | None, watched_since: datetime, now: datetime
) -> Verdict:
    """``stale`` when the newest article (its publication, else first-seen time) is older than
    ``expect_within`` seconds, or when none has come in that long since herald began watching;
    else ``ok``. ``expect_within`` of 0 means no expectation."""
    if not expect_within:
        return Verdict("ok")
    limit = timedelta(seconds=expect_within)
    since = newest if newest is not None else watched_since
    if now - since <= limit:
        return Verdict("ok")
    expected = f"expected within {describe_span(limit)}"
    if newest is None:
        return Verdict("stale", f"no article in {describe_span(now - since)} ({expected})")
    return Verdict(
        "stale", f"no new article since {newest:%Y-%m-%d}, {describe_span(now - since)} ago "
        f"({expected})"
    )  # fmt: skip


def describe_span(span: timedelta) -> str:
    """``16 d``, ``5 h``, ``20 min``: the largest whole unit."""
    seconds = span.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def layout_fingerprint(html: str, page_url: str, item_urls: Iterable[str]) -> str:
    """A short hash of the markup path that holds the list's links ("" when none is found).

    Built from tags and classes (not ids or text) of the links' three nearest ancestors, so new
    articles keep it and a redesign changes it.
    """
    wanted = {urldefrag(u).url for u in item_urls}
    if not wanted or not html.strip():
        return ""
    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ""
    shapes: Counter[str] = Counter()
    for link in root.iter("a"):
        href = link.get("href")
        if href and make_absolute(href, page_url, keep_fragment=False) in wanted:
            shapes[_ancestor_shape(link)] += 1
    if not shapes:
        return ""
    shape = shapes.most_common(1)[0][0]
    return hashlib.sha1(shape.encode("utf-8")).hexdigest()[:12]


def _ancestor_shape(element: lxml.html.HtmlElement, depth: int = 3) -> str:
    parts: list[str] = []
    node = element.getparent()
    while node is not None and len(parts) < depth:
        classes = ".".join(sorted(c for c in (node.get("class") or "").split() if c))
        parts.append(f"{node.tag}.{classes}" if classes else str(node.tag))
        node = node.getparent()
    return "/".join(parts)
