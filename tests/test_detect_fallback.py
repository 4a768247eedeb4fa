"""Detection that does not give up: a page whose CMS markers lead to a reader that finds nothing
falls back to the next reader, then to the densest dated link block; nothing is offered that
yields no entries, and `sources test` says so when a source yields none."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import write_config
from worker.cli import main
from worker.config import load_config, parse_config
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.sources.probe import suggest_expect_new_within


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})


def _block(output: str) -> str:
    return output[output.index("[[sources]]") :]


def test_detect_finds_the_demo_column_behind_its_hanweb_generator_tag(
    allow_loopback: Path, site: DemoSite
) -> None:
    result = _cli("sources", "detect", site.list_url, "--name", "demo", "--pages", "2")
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 0, output  # type: ignore[attr-defined]
    assert "family: html" in output and "hanweb markers, but its reader found no entries" in output
    assert "list: 15 entries on 2 page(s), 15 dated" in output
    config = parse_config(tomllib.loads(_block(output)))
    (source,) = config.sources
    assert source.kind == "html" and source.list is not None
    assert source.list.item == DemoSite.LIST_SELECTORS["item"]
    assert source.expect_new_within == 2 * 86400  # a daily column: silent for two days is news


def test_the_suggested_silence_follows_the_columns_rhythm() -> None:
    day = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    weekly = [day - timedelta(days=7 * i) for i in range(6)]
    assert suggest_expect_new_within(weekly) == "14d"
    uneven = [day, day - timedelta(days=3), day - timedelta(days=40), day - timedelta(days=41)]
    assert suggest_expect_new_within(uneven) == "74d"
    assert suggest_expect_new_within([day, day, day - timedelta(hours=5)]) == ""  # two times
    hourly = [day - timedelta(hours=i) for i in range(5)]
    assert suggest_expect_new_within(hourly) == "1d"
    assert suggest_expect_new_within([day - timedelta(days=300 * i) for i in range(3)]) == "366d"


def test_kind_auto_reads_the_demo_column(tmp_path: Path, site: DemoSite) -> None:
    source = f'[[sources]]\nname = "demo"\nurl = "{site.list_url}"\nkind = "auto"\nbackfill = 2\n'
    path = write_config(tmp_path, sources=source)
    run_once(load_config(path))
    feed = (tmp_path / "feeds" / "sources" / "demo.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") == 15
    tested = _cli("--config", str(path), "sources", "test", "demo", "--articles", "1")
    assert tested.exit_code == 0 and "15 items" in tested.output  # type: ignore[attr-defined]


def test_nothing_is_offered_and_sources_test_fails_when_no_entries_are_found(
    tmp_path: Path, site: DemoSite
) -> None:
    empty = f"""
[[sources]]
name = "nothing"
url = "{site.list_url}"
kind = "html"
[sources.list]
item = "div.no-such-list li"
"""
    path = write_config(tmp_path, sources=empty)
    tested = _cli("--config", str(path), "sources", "test", "nothing")
    assert tested.exit_code == 1  # type: ignore[attr-defined]
    assert "no items:" in tested.output and "html reader found no entries" in tested.output  # type: ignore[attr-defined]
    detected = _cli(
        "--config", str(path), "sources", "detect", site.article_url(site.articles[0].id)
    )
    assert detected.exit_code == 1  # type: ignore[attr-defined]
    assert "[[sources]]" not in detected.output  # type: ignore[attr-defined]
