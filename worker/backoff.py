"""Pure retry arithmetic, the one retry policy: exponential or scheduled delays with jitter,
capped, honouring Retry-After within the cap."""

from __future__ import annotations

import random
from collections.abc import Sequence

from worker.retry_after import clamp_wait

DELIVERY_SCHEDULE: tuple[float, ...] = (
    5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
)  # fmt: skip
SOURCE_BACKOFF_CAP = 86400.0  # a problem source is polled at least daily, whatever it asks


def jittered(seconds: float, rng: random.Random | None = None, spread: float = 0.2) -> float:
    """``seconds`` ± ``spread`` (a fraction), so retries of many items do not arrive together."""
    r = rng or random
    return max(0.0, seconds * (1 + r.uniform(-spread, spread)))


def source_retry_delay(
    interval: float,
    failures: int,
    retry_after: float | None = None,
    *,
    cap: float = SOURCE_BACKOFF_CAP,
    rng: random.Random | None = None,
) -> float:
    """After ``failures`` consecutive failures: interval × 2^(failures-1), jittered, capped;
    a site's ``retry_after`` lengthens it, up to the same cap."""
    base = min(cap, interval * (2 ** max(0, failures - 1)))
    delay = max(jittered(base, rng), clamp_wait(retry_after, cap) or 0.0)
    return min(max(delay, 1.0), cap)


def scheduled_retry_delay(
    attempts: int,
    retry_after: float | None = None,
    *,
    schedule: Sequence[float] = DELIVERY_SCHEDULE,
    spread: float = 0.2,
    rng: random.Random | None = None,
) -> float | None:
    """Delay before attempt ``attempts + 1`` by ``schedule`` (± ``spread``); None once the
    schedule is used up (deliveries and article pages alike).

    A ``retry_after`` lengthens the delay but never beyond the schedule's last step, whatever
    was asked for (``1e300``, ``inf`` or a negative number are read as that cap or 0).
    """
    if attempts < 1 or attempts > len(schedule):
        return None
    delay = jittered(schedule[attempts - 1], rng, spread)
    if retry_after is not None:
        delay = max(delay, clamp_wait(retry_after, max(schedule)) or 0.0)
    return delay
