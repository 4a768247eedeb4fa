"""Cron schedules and quiet hours in the subscriber's zone, and their config errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import write_config
from worker.config import ConfigError, load_config
from worker.schedule import next_fire, parse_quiet_hours, quiet_until


def test_next_fire_reads_the_schedule_in_the_subscribers_zone() -> None:
    friday_evening = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    fire = next_fire("0 8 * * 1-5", "Asia/Shanghai", friday_evening)
    assert fire == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # Monday 08:00 +08:00
    tuesday = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert next_fire("0 8 * * 1-5", "Asia/Shanghai", fire) == tuesday
    # New York leaves daylight saving on 2026-11-01: 08:00 is 12:00 UTC before, 13:00 after
    assert next_fire("0 8 * * *", "America/New_York", datetime(2026, 10, 31, 13, tzinfo=UTC)) == (
        datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    )


def test_quiet_hours_wrap_midnight_and_end_in_the_zone() -> None:
    tz = "Asia/Shanghai"
    late = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 local
    assert quiet_until("22:00-08:00", tz, late) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    early = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 05:00 local next day
    assert quiet_until("22:00-08:00", tz, early) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    noon = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    assert quiet_until("22:00-08:00", tz, noon) is None
    assert quiet_until("12:00-13:00", tz, noon) == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert quiet_until("", tz, noon) is None
    for bad in ("22-08", "25:00-08:00", "08:00-08:00", "8:00"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('schedule = "0 8 * *"', "schedule", "five-field cron"),
        ('schedule = "0 25 * * *"', "schedule", "invalid cron"),
        ('quiet_hours = "22:00"', "quiet_hours", "HH:MM-HH:MM"),
        ("min_items = -1", "min_items", "≥ 0"),
        ('mode = "weekly"', "mode", "instant, digest, both"),
    ],
)
def test_digest_settings_mistakes_name_the_file_and_key(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    block = f'[[subscribers]]\nname = "s"\nchannel = "wecom"\nurl = "https://a.test/"\n{line}\n'
    path = write_config(tmp_path, sources="", subscribers=block)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f'{path}: subscribers["s"].{key}: ')
    assert expected in str(caught.value)
