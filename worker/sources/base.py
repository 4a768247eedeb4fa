"""What every source parser returns: one list page of discovered items, or a SourceError.

Holds the shared result and error types, the per-entry guard every reader uses (``read_each``)
and small text and URL helpers. It must not fetch anything, touch the database, or import any
parser.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from worker.models import Discovered
from worker.sanitize import html_to_text, normalize_space

log = logging.getLogger(__name__)
Entry = TypeVar("Entry")
Read = TypeVar("Read")


class SourceError(Exception):
    """A source document could not be read.

    The message starts with the source kind (``"feed: …"``, ``"html: …"``); ``reason`` is a
    short machine-readable cause such as ``"parse"``, ``"malformed"``, ``"not_a_feed"`` or
    ``"config"``, for source health reporting.
    """

    def __init__(self, message: str, *, reason: str = "parse") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ListPage:
    """The items found on one list page or feed, in document order.

    ``next_url`` is the absolute URL of the next list page, or ``""`` when there is none;
    ``skipped`` counts the entries that could not be read (see ``read_each``).
    """

    items: list[Discovered]
    next_url: str = ""
    skipped: int = 0


def read_each(
    entries: Iterable[Entry], read: Callable[[Entry], Read | None], *, limit: int = 0
) -> tuple[list[Read], int]:
    """Read every entry on its own: one that raises is skipped and counted, its siblings kept.

    ``read`` returns None for an entry that is simply not an item (no usable link); that is
    not counted. With ``limit`` reading stops once that many items are read.
    """
    items: list[Read] = []
    skipped = 0
    for entry in entries:
        if limit and len(items) >= limit:
            break
        try:
            item = read(entry)
        except Exception as err:  # a hostile entry must not drop its siblings
            skipped += 1
            log.debug("skipped an entry that cannot be read: %s: %s", type(err).__name__, err)
            continue
        if item is not None:
            items.append(item)
    return items, skipped


def strip_markup(text: str) -> str:
    """Turn an HTML snippet into plain text: drop tags, decode entities, collapse whitespace.

    Block-level tags become spaces so paragraphs do not run together; inline tags vanish so
    Chinese text is not split by stray spaces. Parsed with lxml (``html_to_text``), in linear
    time whatever the snippet holds (20,000 ``<`` or unclosed ``<script>`` included).
    """
    return normalize_space(html_to_text(text))
