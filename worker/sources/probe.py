"""``herald sources detect URL``: look at a page and say how herald would read it.

Fetches the page (and one article; headless Chromium renders it when the fetcher's fallback
says so: a challenge, or a scripted list that reads as empty), recognises the CMS family, a
feed or a generic list, and reads a couple of list pages with the same readers a poll uses;
suggests ``expect_new_within`` from the column's own publishing rhythm. It must not store anything.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from worker.config import SourceConfig
from worker.extract import KNOWN_BODY_SELECTORS
from worker.fetch import Fetcher, FetchError
from worker.models import Discovered, ListSelectors
from worker.sources.base import SourceError
from worker.sources.crawl import ReadContext, recognise
from worker.sources.detect import detect_family

MIN_BODY_CHARS = 80
MIN_RHYTHM_DATES = 3


@dataclass(frozen=True)
class Probe:
    url: str
    kind: str  # hanweb | jpaas | trs | feed | html | "" (nothing recognised)
    evidence: list[str]
    items: list[Discovered] = field(default_factory=list)
    pages: int = 0
    selectors: ListSelectors | None = None
    body_selector: str = ""
    feed_url: str = ""


def probe_source(fetcher: Fetcher, url: str, *, tz: tzinfo, now: datetime, pages: int = 2) -> Probe:
    """Recognise and read ``url`` the way ``kind = "auto"`` does (``crawl.recognise``); a page
    where nothing yields entries is a Probe with no kind. Raises FetchError."""
    first = fetcher.get(url)
    ctx = ReadContext(fetcher, SourceConfig(name="probe", url=url, kind="auto"), tz, now, pages)
    try:
        found = recognise(first, ctx)
    except SourceError as err:
        if fetcher.render is None or not fetcher.render.wants_render(first, 0):
            return Probe(url, "", [*detect_family(first.text, first.url)[1], str(err)])
        first = fetcher.render.render(fetcher, url, "no entries, page has script")
        try:
            found = recognise(first, ctx)
        except SourceError as again:
            return Probe(url, "", [*detect_family(first.text, first.url)[1], str(again)])
    listing = found.listing
    evidence = [*found.evidence]
    if fetcher.render is not None and fetcher.render.records:
        evidence.insert(0, "read in headless Chromium: " + "; ".join(
            f"{record.why}, {record.report}" for record in fetcher.render.records
        ))  # fmt: skip
    probe = Probe(url, listing.kind, evidence, listing.items, listing.pages,
                  found.selectors, feed_url=found.feed_url)  # fmt: skip
    return _with_body(fetcher, probe) if listing.kind != "feed" else probe


def _with_body(fetcher: Fetcher, probe: Probe) -> Probe:
    """Name the body container of the first article, when it is one herald knows."""
    if not probe.items:
        return probe
    try:
        page = fetcher.get(probe.items[0].url)
    except FetchError:
        return probe
    try:
        root = lxml.html.fromstring(page.text)
    except (ValueError, lxml.etree.ParserError):
        return probe
    for selector in KNOWN_BODY_SELECTORS:
        found = root.cssselect(selector)
        if found and len(found[0].text_content().strip()) >= MIN_BODY_CHARS:
            return replace(probe, body_selector=selector)
    return probe


def source_values(found: Probe, name: str) -> dict[str, Any]:
    """The ``[[sources]]`` table a detected source is configured with (as ``describe_config``
    prints it): name, URL, family, and the list and body selectors when they were guessed."""
    values: dict[str, Any] = {"name": name, "url": found.feed_url or found.url, "kind": found.kind}
    if found.selectors is not None:
        values["list"] = {
            key: getattr(found.selectors, key)
            for key in ("item", "link", "title", "date", "next")
            if getattr(found.selectors, key)
        }
    rhythm = suggest_expect_new_within([i.published_at for i in found.items if i.published_at])
    if rhythm:
        values["expect_new_within"] = rhythm
    if found.kind == "html" and found.body_selector:
        values["article"] = {"body": found.body_selector}
    return values


def suggest_expect_new_within(dates: list[datetime]) -> str:
    """How long a silence would be unusual for a column, from its own rhythm: twice the longest
    gap between its listed publications, in whole days (1 to 366); "" below three dates."""
    times = sorted(set(dates), reverse=True)
    if len(times) < MIN_RHYTHM_DATES:
        return ""
    longest = max(newer - older for newer, older in itertools.pairwise(times))
    days = math.ceil(2 * longest.total_seconds() / 86400)
    return f"{min(max(days, 1), 366)}d"


def suggest_name(url: str) -> str:
    """A source name from the URL: host and last path words, as a slug."""
    parts = urlsplit(url)
    words = [parts.hostname or "site", *[p for p in parts.path.split("/") if p][-2:]]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words).lower()).strip("-")
    slug = re.sub(r"-(index|html?|shtml|jsp)(?=-|$)", "", slug)
    return (slug or "source")[:64].strip("-")
