"""The candidate dates of an article page, each scored by what says it is *the* publication
date (``worker.article_dates`` chooses among them): meta tags, JSON-LD ``datePublished``, a
WeChat page's ``var ct``, ``<time datetime>`` and tooltips, labelled and bare dates in the page
text, the date in the URL, a relative date (only when the fetch time is known). A score counts
the label (发布日期 before 成文日期 before 更新时间, also one written after the date), the place
in reading order relative to the title and the body, the element the date sits in
(``worker.date_context``) and its specificity (a date-time beats a day). Impossible candidates
are never yielded: later than the fetch, before 1995, or year-less on a page whose URL does
not prove the year.

This module must not choose a date, the body or the title, or fetch anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

import lxml.html

from worker.article_meta import in_chrome
from worker.date_context import (
    BYLINE_RE,
    LABEL_TAIL_RE,
    OTHER_ITEM_LINE_RE,
    clip,
    context_score,
    line_at,
)
from worker.date_patterns import LABEL_RANK, SUFFIX_LABEL_RANK, SUFFIX_LABEL_RE
from worker.date_sources import MIN_PUBLISHED_YEAR, url_date
from worker.dates import FUTURE_SLACK, find_relative, iter_candidates, parse_date
from worker.links import split
from worker.page_text import PageText
from worker.sanitize import normalize_space

WINDOW_AFTER_TITLE = 400
ABOVE_TITLE = 200
BEFORE_BODY = 300
BODY_TAIL = 200  # the body's closing lines: a signature and its date
MAX_TEXT_CANDIDATES = 300
DATE_META_SCORES = {
    "pubdate": 62.0,
    "article:published_time": 62.0,
    "publishdate": 62.0,
    "publish_date": 62.0,
    "publishtime": 62.0,
    "firstpublishedtime": 62.0,
    "datepublished": 62.0,
    "dcterms.issued": 55.0,
    "dc.date.issued": 55.0,
    "og:release_date": 55.0,
    "datecreated": 40.0,
    "dateupdate": 20.0,  # an update time: read only when nothing says when it was published
}
LABEL_SCORES = {0: 45.0, 1: 30.0, 2: 12.0}
BARE_SCORE = 18.0
TIME_ELEMENT_SCORE = 40.0
JSON_LD_SCORE = 62.0
WECHAT_SCORE = 90.0
URL_SCORE = 28.0
RELATIVE_SCORE = 30.0
TIME_BONUS = 6.0
TOOLTIP_TEXT_CHARS = 20
TOOLTIP_ATTRIBUTES = ("title", "data-tip", "data-tooltip")
TOOLTIP_LABEL_RE = re.compile(  # "发布于 2015-02-14", also after a site's own prefix ("s$t$发布于")
    r"^(?:.{0,8}?(?:发布于|发表于|创建于)|posted on|published on)\s*[:：]?\s*", re.I
)

TIME_IN_TEXT_RE = re.compile(r"\d[:：时]\d")


@dataclass
class Scored:
    """One candidate date while the page is being read."""

    value: datetime
    rule: str
    family: str
    text: str
    score: float
    has_time: bool
    position: int = -1
    label_rank: int | None = None  # a text date's label: 0 publication, 1 generic, 2 update


@dataclass(frozen=True)
class DateContext:
    """What the date picker knows about a page besides its text."""

    tz: tzinfo
    now: datetime
    fetched: bool  # ``now`` is the real fetch time (relative dates may be read)
    url: str
    proven_year: int | None
    anchor: int | None  # where the text under the title begins
    body: tuple[int, int] | None  # the body container's span

    @property
    def limit(self) -> datetime:
        return self.now + FUTURE_SLACK

    @property
    def reference(self) -> datetime:
        """The ``now`` a year-less date is read against: the year the URL proves."""
        if self.proven_year is None:
            return self.now
        return datetime(self.proven_year, 12, 31, 23, 59, tzinfo=self.tz)

    @property
    def own_path(self) -> str:
        """The page's own path, to tell its permalink from links to other items."""
        return split(self.url).path.rstrip("/")

    def wraps_title(self, page: PageText) -> Callable[[lxml.html.HtmlElement], bool]:
        """Whether an element's text holds the title's place (``anchor``)."""
        anchor = self.anchor

        def wraps(element: lxml.html.HtmlElement) -> bool:
            span = page.span(element)
            return anchor is not None and span is not None and span[0] < anchor <= span[1]

        return wraps

    def possible(self, value: datetime) -> bool:
        return value.year >= MIN_PUBLISHED_YEAR and value <= self.limit


def from_metas(meta: dict[str, str], context: DateContext) -> Iterator[Scored]:
    for name, score in DATE_META_SCORES.items():
        raw = meta.get(name, "")
        value = parse_date(raw, context.tz, now=context.reference, yearless=False) if raw else None
        if value is None or not context.possible(value):
            continue
        timed = bool(TIME_IN_TEXT_RE.search(raw))
        yield Scored(value, f"meta:{name}", "meta", clip(raw), score + TIME_BONUS * timed, timed)


def from_script(script_date: tuple[str, str], context: DateContext) -> Iterator[Scored]:
    rule, raw = script_date
    if not raw:
        return
    value = parse_date(raw, context.tz, now=context.reference, yearless=False)
    if value is None or not context.possible(value):
        return
    score = WECHAT_SCORE if rule == "wechat:ct" else JSON_LD_SCORE
    timed = bool(TIME_IN_TEXT_RE.search(raw))
    yield Scored(value, rule, rule, clip(raw), score + TIME_BONUS * timed, timed)


def tooltips(element: lxml.html.HtmlElement) -> Iterator[str]:
    """The tooltip texts of an element (``title``, ``data-tip``, ``data-tooltip``)."""
    for attribute in TOOLTIP_ATTRIBUTES:
        yield (element.get(attribute) or "").strip()


def from_time_elements(
    doc: lxml.html.HtmlElement, page: PageText, context: DateContext
) -> Iterator[Scored]:
    """``<time datetime>``, and the full date in the tooltip of an element that shows a short
    or relative one (``<abbr title="2024年04月22日">1 月前</abbr>``, an answer's
    ``<a data-tip="发布于 2015-02-14">编辑于 2015-02-15</a>``)."""
    wraps_title = context.wraps_title(page)
    for element in doc.iter("time", "abbr", "span", "a"):
        raw = (element.get("datetime") or "").strip() if element.tag == "time" else ""
        if not raw:
            tip = next((tip for tip in tooltips(element) if tip), "")  # most spans have none
            short = tip and len(normalize_space(element.text_content())) <= TOOLTIP_TEXT_CHARS
            raw = tip if short else ""
        raw = TOOLTIP_LABEL_RE.sub("", raw)  # "发布于 2015-02-14 10:21"
        if not raw or not raw[:1].isdigit() or in_chrome(element):
            continue
        value = parse_date(raw, context.tz, now=context.reference, yearless=False)
        if value is None or not context.possible(value):
            continue
        span = page.span(element)
        position = span[0] if span else -1
        score = TIME_ELEMENT_SCORE + place_score(position, context, True)
        score += context_score(element, False, context.own_path, wraps_title)
        timed = bool(TIME_IN_TEXT_RE.search(raw))
        yield Scored(value, "time", "time", clip(raw), score + TIME_BONUS * timed, timed, position)


def from_text(page: PageText, context: DateContext) -> Iterator[Scored]:
    text = page.text
    found = 0
    wraps_title = context.wraps_title(page)
    for candidate in iter_candidates(
        text,
        context.tz,
        context.reference,
        strict_yearless=True,
        yearless=context.proven_year is not None,
    ):
        value = candidate.value
        if value is None or not context.possible(value):
            continue
        found += 1
        if found > MAX_TEXT_CANDIDATES:
            return
        label = LABEL_TAIL_RE.search(text, max(0, candidate.start - 24), candidate.start)
        rank = LABEL_RANK[label.group("label").lower()] if label else None
        if label is None and not in_body(candidate.start, context):
            label = SUFFIX_LABEL_RE.match(text, candidate.end)  # "于 2020-01-01 10:00 发布"
            rank = SUFFIX_LABEL_RANK[label.group("label")] if label else None
        score = LABEL_SCORES[rank] if rank is not None else BARE_SCORE
        matched = text[candidate.start : candidate.end]
        timed = bool(TIME_IN_TEXT_RE.search(matched))
        score += TIME_BONUS * timed
        if not candidate.has_year:
            score -= 8.0
        line = line_at(text, candidate.start, candidate.end)
        byline = BYLINE_RE.search(line) is not None
        if byline:
            score += 8.0
        if OTHER_ITEM_LINE_RE.search(line):
            score -= 25.0  # "最新推荐文章于 … 发布", "相关阅读", a reply's date
        owner = page.owner_at(candidate.start)
        if owner is not None:
            score += context_score(owner, rank is not None, context.own_path, wraps_title)
        event = rank == 1 and not byline and deep_in_body(candidate.start, context)
        score += place_score(candidate.start, context, (rank is not None or byline) and not event)
        rule = f"label:{label.group('label')}" if label else "text"
        yield Scored(value, rule, "text", clip(line), score, timed, candidate.start, rank)


def from_url(context: DateContext) -> Iterator[Scored]:
    found = url_date(context.url, context.tz)
    if found is not None and context.possible(found[0]):
        yield Scored(found[0], "url", "url", clip(found[1]), URL_SCORE, False)


def from_relative(page: PageText, context: DateContext) -> Iterator[Scored]:
    """``3小时前``, ``昨天 10:20`` under the title, read against the fetch time only."""
    if not context.fetched or context.anchor is None:
        return
    window = page.text[context.anchor : context.anchor + WINDOW_AFTER_TITLE]
    found = find_relative(window, context.now)
    if found is None:
        return
    start, end, value = found
    position = context.anchor + start
    score = RELATIVE_SCORE + place_score(position, context, True)
    yield Scored(value, "relative", "relative", clip(window[start:end]), score, True, position)


def in_body(position: int, context: DateContext) -> bool:
    """Is the position inside the body's span (where "于X日发布" tells of something else)?"""
    return context.body is not None and context.body[0] <= position < context.body[1]


def deep_in_body(position: int, context: DateContext) -> bool:
    """Is the position inside the body, past its opening lines and before its closing ones? A
    generic 时间：/日期： there is an event's (a meeting's, a lesson's), not the article's; at
    the end it may be the notice's own (``日期：2020年1月2日`` under its signature)."""
    if context.body is None:
        return False
    start, end = context.body
    return start + BEFORE_BODY < position < end - BODY_TAIL


def place_score(position: int, context: DateContext, labelled: bool) -> float:
    """Where the date sits: right under the title is best; inside the body (unless labelled or
    on a 来源/作者 line) or after it, bad."""
    score = 0.0
    if context.body is not None and position >= 0:
        start, end = context.body
        if start <= position < end:  # a date in the text is an event's, not the article's
            score -= 8.0 if labelled else 60.0
        elif position >= end:
            score -= 5.0 if labelled else 15.0
        elif context.anchor is not None and start - position <= BEFORE_BODY:
            score += 20.0  # the line that opens the body (an answer's, a post's own date)
    if position < 0:
        return score
    if context.anchor is not None:
        distance = position - context.anchor
        if 0 <= distance <= WINDOW_AFTER_TITLE:
            score += 30.0 * (1 - distance / WINDOW_AFTER_TITLE)
        elif -ABOVE_TITLE <= distance < 0:
            score += 8.0
        else:
            score -= 12.0
    elif context.body is not None and 0 <= context.body[0] - position <= BEFORE_BODY:
        score += 20.0
    return score
