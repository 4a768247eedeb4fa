"""Subscriber filters: tags, include, exclude, regex — unit and end to end."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import SECRET, site_source, write_config
from worker.config import ConfigError, load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.filters import wants
from worker.models import Article
from worker.subscriber import SubscriberOptions

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _article(title: str, summary: str = "", tags: tuple[str, ...] = ()) -> Article:
    return Article(1, "s", "u", "", title, "", None, summary, "", "", (), 1, NOW, NOW, tags)


@pytest.mark.parametrize(
    ("options", "article", "expected"),
    [
        ({}, _article("任何标题"), True),
        ({"tags": ["通知"]}, _article("t", tags=("通知",)), True),
        ({"tags": ["通知"]}, _article("t", tags=("动态",)), False),
        ({"include": ["科普"]}, _article("科普月活动"), True),
        ({"include": ["科普"]}, _article("人事任免", "摘要里有科普"), True),
        ({"include": ["科普"]}, _article("人事任免"), False),
        ({"exclude": ["招聘"]}, _article("2022年招聘公告"), False),
        ({"include": ["Python"]}, _article("python 3.13 released"), True),  # case-insensitive
        ({"regex": r"第\d+期"}, _article("简报（第12期）"), True),
        ({"regex": r"第\d+期"}, _article("简报"), False),
    ],
)
def test_wants(options: dict[str, object], article: Article, expected: bool) -> None:
    assert wants(SubscriberOptions.from_stored(options), article) is expected


def test_a_bad_regex_is_a_config_error(tmp_path: Path) -> None:
    sub = (
        '[[subscribers]]\nname = "x"\nchannel = "webhook"\nurl = "http://h/x"\n'
        'regex = "第(\\\\d+"\n'
    )
    with pytest.raises(ConfigError, match=r'subscribers\["x"\]\.regex: invalid regular expression'):
        load_config(write_config(tmp_path, sources="", subscribers=sub))


def test_only_matching_articles_are_sent(tmp_path: Path, site: DemoSite) -> None:
    with WebhookReceiver(secret=SECRET) as hook:
        sub = f"""
[[subscribers]]
name = "only-issue-17"
channel = "webhook"
url = "{hook.url()}"
secret = "{SECRET}"
regex = "第(17|18)期"
exclude = ["第18期"]
"""
        path = write_config(tmp_path, sources=site_source(site, backfill=2), subscribers=sub)
        config = load_config(path)
        run_once(config)
        for _ in range(10):
            site.add_article()
        run_once(config)
        titles = [m.payload["data"]["title"] for m in hook.messages()]
    assert len(titles) == 1 and "第17期" in titles[0]


@pytest.mark.parametrize(("pattern", "logged"), [(r"^(\w+\s?)+$", None), (r"^(a|aa)+$", 1)])
def test_a_catastrophic_regex_is_no_match_within_its_time_limit(
    pattern: str, logged: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    title = "a" * 40 + "!"  # both patterns backtrack exponentially here on Python's re
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="worker.filters"):
        assert wants(SubscriberOptions(regex=pattern), _article(title)) is False
    assert time.monotonic() - started < 2
    timeouts = [r for r in caplog.records if "timed out" in r.getMessage()]
    assert len(timeouts) == len(caplog.records) <= 1  # logged once for this subscriber/article
    if logged is not None:  # (the regex engine sees through the first pattern: no timeout)
        assert len(timeouts) == logged


def test_the_regex_reads_at_most_the_first_10000_characters() -> None:
    article = _article("x" * 20_000 + "needle")
    assert wants(SubscriberOptions(regex="needle"), article) is False
    assert wants(SubscriberOptions(regex="^x{10001}"), _article("x" * 20_000)) is False
    assert wants(SubscriberOptions(regex="x{9999}"), article) is True


def test_the_config_check_uses_the_filter_engine(tmp_path: Path) -> None:
    sub = (
        '[[subscribers]]\nname = "x"\nchannel = "webhook"\nurl = "http://h/x"\n'
        'regex = "\\\\p{Han}{2}通知"\n'
    )
    config = load_config(write_config(tmp_path, sources="", subscribers=sub))
    pattern = config.subscribers[0].options.regex
    assert wants(SubscriberOptions(regex=pattern), _article("科协通知")) is True
    assert wants(SubscriberOptions(regex=pattern), _article("notice 通知")) is False
