"""The platforms' send windows, counted from past attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.ratelimit import wait_before_send

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_twenty_a_minute() -> None:
    sent = [NOW - timedelta(seconds=59 - i) for i in range(19)]
    assert wait_before_send("wecom", sent, NOW) == 0  # the 20th may go
    sent.append(NOW - timedelta(seconds=1))
    wait = wait_before_send("wecom", sent, NOW)
    assert 0.9 < wait < 1.2  # the oldest of the 20 leaves the window in about a second


def test_two_windows_and_unknown_channels() -> None:
    burst = [NOW - timedelta(milliseconds=100 * i) for i in range(5)]
    assert wait_before_send("feishu", sorted(burst), NOW) > 0  # 5 per second
    assert wait_before_send("feishu", sorted(burst[:4]), NOW) == 0
    assert wait_before_send("webhook", burst * 100, NOW) == 0
