"""Subscriber time rules, pure: digest cron schedules and quiet hours, in the subscriber's zone.

``next_fire`` says when a cron schedule next fires after a moment; ``quiet_until`` says whether a
moment falls in quiet hours and when they end. This module does no I/O and keeps no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

if TYPE_CHECKING:
    from worker.subscriber import SubscriberOptions

DEFAULT_SCHEDULE = "0 8 * * *"
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def check_schedule(expr: str) -> str:
    """``expr`` if it is a five-field cron expression; ValueError naming the problem otherwise."""
    if len(expr.split()) != 5:
        raise ValueError(f'expected a five-field cron expression like "0 8 * * 1-5", got {expr!r}')
    try:
        CronSim(expr, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as err:
        raise ValueError(f"invalid cron expression {expr!r}: {err}") from None
    return expr


def next_fire(expr: str, tz: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` at which ``expr`` fires in zone ``tz`` (UTC out)."""
    local = after.astimezone(ZoneInfo(tz)).replace(microsecond=0)
    fire: datetime = next(CronSim(expr, local))
    return fire.astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time, ``start`` ≤ t < ``end``; it may wrap past midnight."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> QuietHours:
    """``"22:00-08:00"`` → QuietHours; ValueError naming the problem otherwise."""
    match = _QUIET.match(text)
    if not match:
        raise ValueError(f'expected "HH:MM-HH:MM" such as "22:00-08:00", got {text!r}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"expected times between 00:00 and 24:00, got {text!r}")
    start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
    if start == end:
        raise ValueError(f"quiet hours start and end at the same time: {text!r}")
    return QuietHours(start, end)


def quiet_until(spec: str, tz: str, now: datetime) -> datetime | None:
    """When the quiet hours holding ``now`` end (UTC); None when ``now`` is not in them."""
    if not spec:
        return None
    quiet = parse_quiet_hours(spec)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= clock < quiet.end
        end_day = local.date()
    else:  # wraps past midnight: 22:00-08:00
        inside = clock >= quiet.start or clock < quiet.end
        end_day = local.date() + timedelta(days=1) if clock >= quiet.start else local.date()
    if not inside:
        return None
    end = datetime.combine(end_day, quiet.end, tzinfo=zone)
    return end.astimezone(UTC)


def held_until(options: SubscriberOptions, now: datetime) -> datetime | None:
    """When a subscriber's quiet hours (its ``quiet_hours`` and ``timezone`` options) end, if
    ``now`` falls in them; None otherwise."""
    return quiet_until(options.quiet_hours, options.timezone, now)
