"""An article page's publication date, chosen by evidence (``pick_published``).

Every candidate is collected — the source's date selector, meta tags, JSON-LD
``datePublished``, a WeChat page's ``var ct``, ``<time datetime>``, labelled and bare dates in
the page text, the date in the URL, a relative date (only when the fetch time is known) — and
scored by what says it is *the* publication date: its label (发布日期 before 成文日期 before
更新时间), its place in reading order relative to the title, the element it sits in (a link, a
list item, a comment block or a related-articles list count against it; a class naming a date
counts for it), its specificity (a date-time beats a day) and its agreement with other rules.
Impossible candidates never count: later than the fetch, before 1995, or year-less on a page
whose URL does not prove the year — no year is ever taken from the clock. The winner comes with
its evidence (rule, text, score) so that a wrong pick can be explained. A winner below
``WEAK_SCORE`` is only the page's best guess: a date the list showed overrides it
(``prefer_listed``); below ``MIN_SCORE`` (a date in the body, after it, far from the title)
there is no page date at all. A machine date whose clock time was stamped with the wrong
offset (a local time written as UTC, so that its day in the page's zone is not the day the
page shows under its title, while its written day is) is read in the page's zone.

The candidates and their scores come from ``worker.date_candidates``. This module must not
choose the body or the title, or fetch anything.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

import lxml.html

from worker.article_meta import element_value, select_first
from worker.date_candidates import (
    BARE_SCORE,
    DateContext,
    Scored,
    from_metas,
    from_relative,
    from_script,
    from_text,
    from_time_elements,
    from_url,
)
from worker.date_context import clip
from worker.date_sources import year_proof
from worker.dates import find_date, parse_date, resolve_now
from worker.models import DateEvidence
from worker.page_text import PageText

__all__ = ["WEAK_SCORE", "pick_published", "prefer_listed"]

MIN_SCORE = 0.0  # below: a date the page mentions in passing (in the body, a sidebar)
WEAK_SCORE = 15.0  # below: the page's best guess only, which a list's own date overrides
AGREEMENT_BONUS = 10.0
AGREEMENT_MAX = 2
FAR_DAYS = 2
MACHINE_FAMILIES = ("meta", "json-ld", "time")


def pick_published(
    doc: lxml.html.HtmlElement,
    meta: dict[str, str],
    script_date: tuple[str, str],
    page: PageText,
    *,
    selector: str,
    anchor: int | None,
    body: tuple[int, int] | None,
    tz: tzinfo,
    now: datetime | None,
    url: str,
) -> DateEvidence | None:
    """Choose the publication date of a page and say why (see the module docstring).
    ``script_date`` is ``(rule, value)`` from ``read_script_date``; ``anchor`` is where the text
    under the title begins (``find_title_anchor``) and ``body`` the body's span in ``page``;
    ``now`` is the fetch time (None: a saved page, read now, whose relative dates mean
    nothing)."""
    context = DateContext(
        tz=tz,
        now=resolve_now(tz, now) if now is not None else datetime.now(tz),
        fetched=now is not None,
        url=url,
        proven_year=year_proof(url),
        anchor=anchor,
        body=body,
    )
    if selector:
        chosen = from_selector(doc, selector, context)
        if chosen is not None:
            return chosen
    candidates = [
        *from_metas(meta, context),
        *from_script(script_date, context),
        *from_time_elements(doc, page, context),
        *from_text(page, context),
        *from_url(context),
        *from_relative(page, context),
    ]
    return choose(candidates, context)


def choose(candidates: list[Scored], context: DateContext) -> DateEvidence | None:
    """The best-scored candidate after agreement and disagreement are counted."""
    if not candidates:
        return None
    days: dict[date, set[str]] = {}
    for candidate in candidates:
        days.setdefault(local_day(candidate.value, context.tz), set()).add(candidate.family)
    header_days = [  # dates shown under the title as this page's (not a 成文日期)
        local_day(c.value, context.tz)
        for c in candidates
        if c.family == "text" and c.score >= BARE_SCORE + 10 and c.label_rank in (None, 0)
    ]
    for candidate in candidates:
        day = local_day(candidate.value, context.tz)
        others = len(days[day] - {candidate.family})
        candidate.score += AGREEMENT_BONUS * min(others, AGREEMENT_MAX)
        machine = candidate.family in MACHINE_FAMILIES
        if machine and header_days and all(abs((day - d).days) > FAR_DAYS for d in header_days):
            candidate.score -= 30.0  # far from every date shown under the title
    best = max(candidates, key=lambda c: (c.score, -c.position if c.position >= 0 else 0))
    if best.score < MIN_SCORE:
        return None
    value, note = best.value, ""
    if best.family in MACHINE_FAMILIES and shown_in_wrong_offset(best.value, header_days, context):
        value = best.value.replace(tzinfo=context.tz)
        note = "; its clock time read in the page's zone, where the page shows that day"
    if not best.has_time:
        day = local_day(best.value, context.tz)
        timed = [c for c in candidates if c.has_time and local_day(c.value, context.tz) == day]
        if timed:
            finer = max(timed, key=lambda c: c.score)
            value, note = finer.value, f"; time from {finer.rule}"
    return DateEvidence(value, best.rule + note, best.text, round(best.score, 1))


def shown_in_wrong_offset(value: datetime, shown: list[date], context: DateContext) -> bool:
    """Does a machine date carry a local clock time under the wrong offset? Its day as written
    (``2022-03-17T20:09+00:00``: the 17th) is a day the page shows under its title, while its
    day in the page's zone (the 18th) is not — a generator that stamped local times as UTC."""
    written, local = value.date(), local_day(value, context.tz)
    return written != local and written in shown and local not in shown


def prefer_listed(evidence: DateEvidence | None, listed: datetime | None) -> DateEvidence | None:
    """The page's date, unless it is only a guess (below ``WEAK_SCORE``) and the list showed a
    date: then None, and the list's date stands."""
    if evidence is None or listed is None or evidence.score >= WEAK_SCORE:
        return evidence
    return None


def local_day(value: datetime, tz: tzinfo) -> date:
    return value.astimezone(tz).date()


def from_selector(
    doc: lxml.html.HtmlElement, selector: str, context: DateContext
) -> DateEvidence | None:
    element = select_first(doc, selector)
    if element is None:
        return None
    raw = element_value(element, ("datetime", "content"))
    proven = context.proven_year is not None
    value = parse_date(raw, context.tz, now=context.reference, yearless=False)
    if value is None:
        value = find_date(raw, context.tz, now=context.reference, yearless=proven)
    if value is not None and context.possible(value):
        return DateEvidence(value, "selector", clip(raw), 100.0)
    return None
