"""Date parsing for article pages, list items and feeds: plain regexes, no I/O.

``parse_date`` reads one date string (a list item's date span, a meta tag's content);
``find_date`` searches free text and prefers a date written after a label such as
``发布时间：`` or ``Published``. Naive results are localised to the source's timezone;
explicit offsets are kept. A day is never invented: a year alone or a year and month
alone give ``None``, as do impossible dates. Every pattern runs in linear time on any text
(no two quantifiers compete for the same characters; free text is searched whole, so a
page of 100,000 ``mon`` or of dates followed by long runs of spaces must cost milliseconds).
This module must not fetch anything, read files or use heavyweight date libraries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from worker.date_patterns import (
    CN_MONTHS,
    FULL_PATTERNS,
    LABEL_RANK,
    LABEL_RE,
    MONTHS,
    RELATIVE_DAYS,
    RELATIVE_RE,
    YEARLESS_CN_RE,
    YEARLESS_DASH_RE,
    YEARLESS_EN_RE,
    YEARLESS_STRICT_DASH_RE,
)

__all__ = ["FUTURE_SLACK", "find_date", "find_relative", "iter_candidates", "parse_date"]

MIN_YEAR = 1900
MAX_YEAR = 2199
FUTURE_SLACK = timedelta(days=2)
YEAR_SEARCH_SPAN = 8


@dataclass(frozen=True)
class Candidate:
    """A date found at ``start``..``end`` of a text; ``value`` is None when impossible;
    ``has_year`` when the text wrote its year (``18-03-08`` does, ``03-08`` does not)."""

    start: int
    end: int
    value: datetime | None
    has_year: bool = True


def parse_date(
    text: str, tz: tzinfo, *, now: datetime | None = None, yearless: bool = True
) -> datetime | None:
    """Read one date string (any supported format) or return None. A missing year is inferred
    from ``now``; with ``yearless=False`` a date without its year is not read at all."""
    cleaned = text.strip()
    if not cleaned:
        return None
    iso = parse_iso(cleaned, tz)
    if iso is not None:
        return iso
    reference = resolve_now(tz, now)
    for candidate in iter_candidates(
        cleaned, tz, reference, strict_yearless=False, yearless=yearless
    ):
        return candidate.value
    return None


def find_date(
    text: str,
    tz: tzinfo,
    *,
    now: datetime | None = None,
    require_label: bool = False,
    yearless: bool = True,
) -> datetime | None:
    """Find the most likely publication date in free text.

    A date right after a label (``发布时间：``, ``Published``…) wins, publication labels
    before generic ones before "updated"; otherwise the first full date in the text, then
    a yearless ``MM-DD`` / ``M月D日`` (year inferred from ``now``; not at all with
    ``yearless=False``). With ``require_label`` only labelled dates count.
    """
    if not text:
        return None
    reference = resolve_now(tz, now)
    labelled = find_labelled(text, tz, reference, yearless=yearless)
    if labelled is not None or require_label:
        return labelled
    without_year: datetime | None = None
    for candidate in iter_candidates(text, tz, reference, strict_yearless=True, yearless=yearless):
        if candidate.value is None:
            continue
        if candidate.has_year:
            return candidate.value
        if without_year is None:
            without_year = candidate.value
    return without_year


def find_labelled(
    text: str, tz: tzinfo, now: datetime, *, yearless: bool = True
) -> datetime | None:
    """Return the date after the best-ranked label, or None."""
    best: tuple[int, int, datetime] | None = None
    for match in LABEL_RE.finditer(text):
        rank = LABEL_RANK[match.group("label").lower()]
        if best is not None and rank >= best[0]:
            continue
        value = read_date_at(text, match.end(), tz, now, yearless=yearless)
        if value is not None:
            best = (rank, match.start(), value)
    return None if best is None else best[2]


def read_date_at(
    text: str, pos: int, tz: tzinfo, now: datetime, *, yearless: bool = True
) -> datetime | None:
    """Return the date that starts exactly at ``pos`` of ``text``, or None."""
    window = text[pos : pos + 64]
    for candidate in iter_candidates(window, tz, now, strict_yearless=False, yearless=yearless):
        return candidate.value if candidate.start == 0 else None
    return None


def iter_candidates(
    text: str, tz: tzinfo, now: datetime, *, strict_yearless: bool, yearless: bool = True
) -> Iterator[Candidate]:
    """Yield non-overlapping dates of ``text`` in reading order (longest match first); dates
    without a year only when ``yearless``."""
    found: list[tuple[int, int, re.Match[str], bool]] = []
    for pattern in FULL_PATTERNS:
        found.extend((m.start(), m.end(), m, True) for m in pattern.finditer(text))
    dash = YEARLESS_STRICT_DASH_RE if strict_yearless else YEARLESS_DASH_RE
    for pattern in (dash, YEARLESS_CN_RE, YEARLESS_EN_RE) if yearless else ():
        found.extend((m.start(), m.end(), m, False) for m in pattern.finditer(text))
    found.sort(key=lambda item: (item[0], -(item[1] - item[0])))
    taken_until = -1
    for start, end, match, has_year in found:
        if start < taken_until:
            continue
        taken_until = end
        value = build_full(match, tz) if has_year else build_yearless(match, tz, now)
        yield Candidate(start, end, value, has_year)


def build_full(match: re.Match[str], tz: tzinfo) -> datetime | None:
    """Turn a match with year, month and day into an aware datetime (None if impossible)."""
    groups = match.groupdict()
    if groups.get("m1"):  # the short form with one-digit month or day
        groups.update(m=groups["m1"], d=groups["d1"], hh=groups["hh1"], mi=groups["mi1"])
    if groups.get("a"):  # 9/13/2022: month first unless the first number cannot be a month
        first, second = groups["a"], groups["b"]
        month_first = int(first or 0) <= 12
        groups.update(m=first if month_first else second, d=second if month_first else first)
    month = month_number(groups)
    year = int(groups["y"]) if groups.get("y") else short_year(int(groups["y2"] or 0))
    if month is None or not MIN_YEAR <= year <= MAX_YEAR:
        return None
    naive = make_datetime(year, month, int(groups["d"]), groups)
    if naive is None:
        return None
    offset = parse_offset(groups.get("tz"))
    return naive.replace(tzinfo=offset if offset is not None else tz)


def short_year(two_digits: int) -> int:
    """``18`` → 2018, ``98`` → 1998: a two-digit year lies in the last hundred years."""
    this_year = datetime.now(UTC).year
    year = 2000 + two_digits
    return year if year <= this_year + 1 else year - 100


def find_relative(text: str, now: datetime) -> tuple[int, int, datetime] | None:
    """The first relative date of ``text`` (``3小时前``, ``昨天 10:20``, ``前天``) as a moment
    before ``now`` (the fetch time), with its span; None when there is none."""
    match = RELATIVE_RE.search(text)
    if match is None:
        return None
    if match.group("word"):
        day = now - timedelta(days=RELATIVE_DAYS[match.group("word")])
        hour, minute = int(match.group("hh") or 0), int(match.group("mi") or 0)
        if hour > 23 or minute > 59:
            return None
        value = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
    else:
        amount = int(match.group("n"))
        unit = {"分钟": timedelta(minutes=1), "小时": timedelta(hours=1), "天": timedelta(days=1)}
        value = (now - amount * unit[match.group("unit")]).replace(second=0, microsecond=0)
    return match.start(), match.end(), value


def build_yearless(match: re.Match[str], tz: tzinfo, now: datetime) -> datetime | None:
    """Infer the year: the latest one that puts the date at most two days after ``now``."""
    groups = match.groupdict()
    month, day = month_number(groups) or 0, int(groups["d"] or 0)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    limit = now + FUTURE_SLACK
    for year in range(now.year + 1, now.year - YEAR_SEARCH_SPAN, -1):
        naive = make_datetime(year, month, day, groups)
        if naive is not None and naive.replace(tzinfo=tz) <= limit:
            return naive.replace(tzinfo=tz)
    return None


def make_datetime(
    year: int, month: int, day: int, groups: dict[str, str | None]
) -> datetime | None:
    """Build a naive datetime from date parts and optional time groups (None if impossible)."""
    hour = int(groups.get("hh") or 0)
    minute = int(groups.get("mi") or 0)
    second = int(groups.get("ss") or 0)
    meridiem = (groups.get("ampm") or "").lower()[:1]
    if meridiem and not 1 <= hour <= 12:
        return None
    if meridiem == "p" and hour != 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def month_number(groups: dict[str, str | None]) -> int | None:
    """Read the month from a numeric ``m`` group, a Chinese ``cmon`` or an English ``mon``
    name."""
    if groups.get("m"):
        return int(groups["m"] or 0)
    if groups.get("cmon"):
        return CN_MONTHS[groups["cmon"] or ""]
    name = (groups.get("mon") or "")[:3].lower()
    return MONTHS.get(name)


def parse_offset(raw: str | None) -> tzinfo | None:
    """Turn ``Z``, ``GMT``, ``+08:00`` or ``-0500`` into a fixed offset; None when absent."""
    if not raw:
        return None
    token = raw.upper()
    if token in ("Z", "UTC", "GMT", "UT"):
        return UTC
    digits = token[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if token[0] == "-" else delta)


def parse_iso(text: str, tz: tzinfo) -> datetime | None:
    """Parse a complete ISO 8601 date-time string; a naive one is localised to ``tz``."""
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", text
    ):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def resolve_now(tz: tzinfo, now: datetime | None) -> datetime:
    """Return ``now`` as an aware datetime in ``tz`` (the current time when not given)."""
    if now is None:
        return datetime.now(tz)
    return now if now.tzinfo is not None else now.replace(tzinfo=tz)
