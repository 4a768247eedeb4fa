"""Configuration: the contract's keys, environment overrides, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import main
from worker.config import ConfigError, load_config, parse_duration

GOOD = """
[herald]
database_url = "sqlite:///data/herald.db"
broker_url = ""
feeds_dir = "feeds"
base_url = "http://localhost:8080"
timezone = "Asia/Shanghai"

[network]
allow = []
user_agent = "herald/0.1"

[[sources]]
name = "notices"
url = "https://www.example.gov.cn/news/index.html"
kind = "html"
interval = "15m"
tags = ["通知"]
[sources.list]
item = "div.news-list div.item"
link = "a"
title = "a"
date = "em"
next = ""
[sources.article]
title = "h1"
date = ".info"
body = "#zoom"

[[subscribers]]
name = "ops-hook"
channel = "webhook"
url = "https://example.org/hooks/herald"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
mode = "instant"
sources = []
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "herald.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_shape_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HERALD_DATABASE_URL", "HERALD_BROKER_URL", "HERALD_FEEDS_DIR", "HERALD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    config = load_config(_write(tmp_path, GOOD))
    assert config.herald.database_url == f"sqlite:///{tmp_path}/data/herald.db"
    assert config.herald.embedded
    assert config.herald.feeds_dir == tmp_path / "feeds"
    source = config.source("notices")
    assert source.interval == 900 and source.tags == ("通知",)
    assert source.list is not None and source.list.item == "div.news-list div.item"
    assert source.article is not None and source.article.body == "#zoom"
    assert config.subscribers[0].channel == "webhook"


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("HERALD_DATABASE_URL", "postgresql://u@db/herald")
    monkeypatch.setenv("HERALD_FEEDS_DIR", "/srv/feeds")
    monkeypatch.setenv("HERALD_BASE_URL", "https://feeds.example.org")
    config = load_config(_write(tmp_path, GOOD))
    assert config.herald.broker_url == "redis://127.0.0.1:6379/3" and not config.herald.embedded
    assert config.herald.database_url == "postgresql://u@db/herald"
    assert config.herald.feeds_dir == Path("/srv/feeds")
    assert config.herald.base_url == "https://feeds.example.org"


def test_init_writes_an_example_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "herald.toml"
    result = CliRunner().invoke(main, ["init", "--path", str(target)])
    assert result.exit_code == 0, result.output
    assert "edit its [[sources]] and [[subscribers]]" in result.output  # not eaten as markup
    config = load_config(target)
    assert [s.name for s in config.sources] == ["notices", "example-feed"]
    again = CliRunner().invoke(main, ["init", "--path", str(target)])
    assert again.exit_code == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "[sources.list]\nitem",
            "[sources.list]\nitme",
            'sources["notices"].list.itme: unknown key',
        ),
        ('interval = "15m"', 'intervall = "15m"', 'sources["notices"].intervall: unknown key'),
        ('interval = "15m"', "interval = true", 'sources["notices"].interval: expected a duration'),
        ('tags = ["通知"]', 'tags = "通知"', 'sources["notices"].tags: expected a list of strings'),
        (
            'kind = "html"',
            'kind = "rss"',
            'sources["notices"].kind: expected one of feed, html, hanweb, jpaas, trs, auto, '
            "got 'rss'",
        ),
        (
            'channel = "webhook"',
            'channel = "pager"',
            'subscribers["ops-hook"].channel: expected one of',
        ),
        (
            'timezone = "Asia/Shanghai"',
            'timezone = "Mars/Base"',
            "herald.timezone: expected an IANA",
        ),
        (
            'url = "https://www.example.gov.cn/news/index.html"',
            'url = "ftp://x"',
            'sources["notices"].url',
        ),
        (
            "sources = []",
            'sources = ["nope"]',
            "subscribers[\"ops-hook\"].sources: no source named 'nope'",
        ),
        ("[network]", "[netwrok]", "netwrok: unknown section"),
        (
            'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"',
            'secret = "whsec_abc"',
            "subscribers[\"ops-hook\"].secret: webhook: secret after 'whsec_' is not valid base64",
        ),
        (
            'item = "div.news-list div.item"',
            'item = "div[["',
            'sources["notices"].list.item: invalid CSS',
        ),
        (
            'body = "#zoom"',
            'body = "#zoom >"',
            'sources["notices"].article.body: invalid CSS selector',
        ),
        (
            'database_url = "sqlite:///data/herald.db"',
            'database_url = "mysql://x/y"',
            "herald.database_url: expected sqlite:///PATH or postgresql://",
        ),
        (
            'database_url = "sqlite:///data/herald.db"',
            'database_url = "sqlite:///:memory:"',
            "herald.database_url: an in-memory SQLite database cannot be shared",
        ),
        ('broker_url = ""', 'broker_url = "kafka://x"', "herald.broker_url: expected"),
        ('kind = "html"', 'kind = "feed"', 'sources["notices"].list: only for kind = "html"'),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_duplicate_source_name(tmp_path: Path) -> None:
    block = GOOD[GOOD.index("[[sources]]") : GOOD.index("[[subscribers]]")]
    path = _write(tmp_path, GOOD + block)
    with pytest.raises(ConfigError, match=r"sources\[1\]\.name: duplicate name 'notices'"):
        load_config(path)


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('kind = "html"', 'kind = "rss"'))
    result = CliRunner().invoke(main, ["--config", str(path), "sources", "list"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and 'sources["notices"].kind' in lines[0] and str(path) in lines[0]


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(_write(tmp_path, "[herald\n"))
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), (45, 45)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_network_allow_entry_names_the_key_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "herald.toml"
    path.write_text('[network]\nallow = ["127.0.0.1", "10.1.2.3/8"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: network.allow: '10.1.2.3/8'")


def test_the_delivery_section_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "herald.toml"
    path.write_text('[delivery]\nretry_schedule = ["5s", "soon"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: delivery.retry_schedule: ")
    path.write_text('[delivery]\nper_endpoint = 1\nbreaker_after = "2h"\n', encoding="utf-8")
    settings = load_config(path).delivery
    assert (settings.per_endpoint, settings.breaker_after) == (1, 7200.0)


def test_an_entry_is_named_by_its_name_else_by_its_position(tmp_path: Path) -> None:
    third = '\n[[sources]]\nname = "third"\nurl = "https://c.example.org/"\nkind = "html"\n'
    bad = _write(tmp_path, GOOD + third.replace('kind = "html"', 'kind = "feed"\ninterval = "x"'))
    with pytest.raises(ConfigError, match=r'sources\["third"\]\.interval: expected a duration'):
        load_config(bad)
    nameless = _write(tmp_path, GOOD + '\n[[sources]]\nurl = "https://c.example.org/"\n')
    with pytest.raises(ConfigError, match=r"sources\[\d\]\.name"):
        load_config(nameless)
