"""Retry-After: read one header value safely, and bound a wait by a schedule's longest wait.

Pure functions, no I/O. Whatever a server sends (hundreds of digits, a date in the year 9999,
``NaN``, a negative number) reads as a finite number of seconds or as None. It must not raise
for any header value, nor know any schedule: callers clamp with their own maximum.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_SECONDS = 366 * 86400.0  # longer than any schedule waits: larger values read as this
_MAX_DIGITS = len(str(int(MAX_SECONDS)))


def parse_retry_after(value: str | None, now: datetime | float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable.

    A date in the past gives 0.0; a wait beyond ``MAX_SECONDS`` gives ``MAX_SECONDS``. ``now``
    is a datetime (a naive one is taken as UTC) or Unix seconds; by default the clock.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        if len(text.lstrip("0")) > _MAX_DIGITS:
            return MAX_SECONDS
        return min(float(int(text)), MAX_SECONDS)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if isinstance(now, int | float):
        reference = datetime.fromtimestamp(now, UTC)
    else:
        reference = now or datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return min(max(0.0, (when - reference).total_seconds()), MAX_SECONDS)


def clamp_wait(seconds: float | None, maximum: float) -> float | None:
    """A wait in ``[0, maximum]``; None for no wait given or one that is not a number (NaN).

    An infinite or huge wait becomes ``maximum``, a negative one 0.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    if seconds != seconds:  # NaN (huge ints cannot go through math.isnan)
        return None
    return float(min(max(seconds, 0.0), maximum))
