"""Pacing: the platforms' send windows counted from past sends, and a batch planned by them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from worker.notify import get_notifier
from worker.ratebucket import LocalBucket
from worker.ratelimit import IN_BATCH_WAIT, plan_sends, wait_before_send
from worker.store.deliveries import ClaimedDelivery
from worker.subscriber import SubscriberOptions

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
WECOM = get_notifier("wecom").rate_windows
FEISHU = get_notifier("feishu").rate_windows


def test_twenty_a_minute() -> None:
    sent = [NOW - timedelta(seconds=59 - i) for i in range(19)]
    assert wait_before_send(WECOM, sent, NOW) == 0  # the 20th may go
    sent.append(NOW - timedelta(seconds=1))
    wait = wait_before_send(WECOM, sent, NOW)
    assert 0.9 < wait < 1.2  # the oldest of the 20 leaves the window in about a second


def test_two_windows_and_no_windows() -> None:
    burst = [NOW - timedelta(milliseconds=100 * i) for i in range(5)]
    assert wait_before_send(FEISHU, sorted(burst), NOW) > 0  # 5 per second
    assert wait_before_send(FEISHU, sorted(burst[:4]), NOW) == 0
    assert wait_before_send(get_notifier("webhook").rate_windows, burst * 100, NOW) == 0


def _row(i: int, channel: str, subscriber: int, **options: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        i, f"msg_{i}", "message.instant", {}, 1, f"s{subscriber}", channel,
        f"http://127.0.0.1/{subscriber}", "", SubscriberOptions(**options), subscriber, f"k{i}",
    )  # fmt: skip


def test_a_batch_waits_on_its_lane_for_short_windows_and_gives_back_long_ones() -> None:
    slack = get_notifier("slack").rate_windows  # one a second
    rows = [_row(i, "slack", 1) for i in range(15)] + [_row(100, "webhook", 2)]
    plan = plan_sends(
        rows, {"slack": slack}, {1: [NOW - timedelta(seconds=0.5)]}, LocalBucket(), NOW
    )
    offsets = [offset for row, offset in plan.go if row.channel == "slack"]
    assert offsets == sorted(offsets) and offsets[0] > 0.5  # the last send was half a second ago
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(offsets))
    assert max(offsets) <= IN_BATCH_WAIT
    assert [i for i, _ in plan.back] == [
        r.id for r in rows[len(offsets) : 15]
    ]  # the rest, in order
    assert (rows[-1], 0.0) in plan.go  # a webhook row is not paced by anyone's window


def test_a_subscribers_rate_limit_gives_rows_back() -> None:
    rows = [_row(i, "webhook", 3, rate_limit="2/s") for i in range(5)]
    plan = plan_sends(rows, {}, {}, LocalBucket(), NOW)
    assert len(plan.go) == 2 and [i for i, _ in plan.back] == [2, 3, 4]
    assert all(0 < wait <= 0.5 for _, wait in plan.back)
