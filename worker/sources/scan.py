"""Find ``<tag …>…</tag>`` blocks and CDATA sections in raw text, in one left-to-right pass.

Hanweb keeps its list as XML inside a ``<script>``: ``<datastore><record><![CDATA[…]]></record>``.
A pattern such as ``<record[^>]*>(.*?)</record>`` rescans the rest of the text from every
opener, so a page of 30,000 unclosed ``<record>`` costs minutes. Here every search resumes
where the previous one stopped, and a missing closer ends the scan (no later block could close
either), so the cost is linear in the text. Tags match case-insensitively, as HTML does.

Pure functions of the text: this module must not parse HTML, fetch or decode anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

CDATA_OPEN = "<![CDATA["
CDATA_CLOSE = "]]>"


@dataclass(frozen=True)
class Block:
    """One ``<tag …>inner</tag>``: ``start``/``end`` bound the whole block in the text."""

    start: int
    end: int
    inner: str


@lru_cache(maxsize=32)
def _opener(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{re.escape(tag)}\b", re.IGNORECASE)  # a literal, then a boundary


@lru_cache(maxsize=32)
def _closer(tag: str) -> re.Pattern[str]:
    # "\s*>" cannot backtrack into anything: a failed try at one "</tag" costs its spaces once
    return re.compile(rf"</{re.escape(tag)}\s*>", re.IGNORECASE)


def iter_blocks(text: str, tag: str, *, open_ended: bool = False) -> Iterator[Block]:
    """Every ``<tag …>…</tag>`` of ``text`` in order; nested openers belong to the first block.

    With ``open_ended`` a last block without its closer runs to the end of the text (how
    Hanweb's ``<datastore>`` may be cut); otherwise it is not a block.
    """
    opener, closer = _opener(tag), _closer(tag)
    position = 0
    while (found := opener.search(text, position)) is not None:
        head_end = text.find(">", found.end())
        if head_end < 0:
            return  # no ">" anywhere after: no later block has a complete head either
        closing = closer.search(text, head_end + 1)
        if closing is None:
            if open_ended:
                yield Block(found.start(), len(text), text[head_end + 1 :])
            return  # no closer anywhere after: no later block could close either
        yield Block(found.start(), closing.end(), text[head_end + 1 : closing.start()])
        position = closing.end()


def find_block(text: str, tag: str) -> Block | None:
    """The first complete ``<tag …>…</tag>`` of ``text``, or None."""
    return next(iter_blocks(text, tag), None)


def without_blocks(text: str, tag: str) -> str:
    """``text`` with every complete ``<tag …>…</tag>`` removed."""
    pieces, position = [], 0
    for block in iter_blocks(text, tag):
        pieces.append(text[position : block.start])
        position = block.end
    pieces.append(text[position:])
    return "".join(pieces)


def cdata_sections(text: str) -> list[str]:
    """The contents of every complete ``<![CDATA[…]]>`` section, in order."""
    sections: list[str] = []
    position = 0
    while (start := text.find(CDATA_OPEN, position)) >= 0:
        end = text.find(CDATA_CLOSE, start + len(CDATA_OPEN))
        if end < 0:
            break
        sections.append(text[start + len(CDATA_OPEN) : end])
        position = end + len(CDATA_CLOSE)
    return sections
