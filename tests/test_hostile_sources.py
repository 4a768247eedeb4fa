"""Sources that misbehave: broken entries, huge feeds and columns, huge articles.

One bad entry is skipped and counted, its siblings kept; a poll reads at most ``max_items``;
what is stored is capped; and ``herald sources test`` on the hostile feed and the hostile Hanweb
column returns in seconds. Real servers on 127.0.0.1 (``tests/support/hostile_sites.py``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from click.testing import CliRunner
from lxml import etree

from tests.conftest import write_config
from tests.support.hostile_sites import HostileSite, hostile_feed, hostile_hanweb_column
from worker.cli import main
from worker.config import ConfigError, load_config
from worker.embedded import run_once, setup
from worker.poll import poll_source
from worker.runtime import get_runtime
from worker.sources.feed import parse_feed
from worker.store.sources import source_by_name

pytestmark = pytest.mark.timeout(120)

TZ = ZoneInfo("Asia/Shanghai")
DATE = "2022-10-08T10:21:00+08:00"


def json_feed(base: str) -> bytes:
    items = [
        {"id": "1", "url": f"{base}/a/1", "title": "good one", "date_published": DATE},
        {"id": "2", "url": f"{base}/a/2", "title": "bad attachments", "attachments": 5},
        "not an object",
        {"id": "4", "url": f"{base}/a/4", "content_html": '<a href="http://[::1">x</a> text'},
        {"id": "nul", "url": f"{base}/a/\u0000", "title": "a control character in its URL"},
        {
            "id": "5",
            "url": f"{base}/a/5",
            "title": "five",
            "image": "http://[x",
            "date_published": DATE,
        },
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}
    return json.dumps(feed).encode()


def test_a_bad_json_feed_item_is_skipped_and_counted_and_its_siblings_kept() -> None:
    page = parse_feed(json_feed("http://e.test"), "http://e.test/feed.json", tz=TZ)
    assert [item.url for item in page.items] == [
        "http://e.test/a/1",
        "http://e.test/a/4",
        "http://e.test/a/5",
    ]
    assert page.skipped == 2
    assert "http://[::1" not in page.items[1].content_html  # the unusable link is dropped
    assert page.items[2].images == ()


def test_a_broken_enclosure_does_not_drop_the_feed() -> None:
    feed = hostile_feed("http://e.test", items=6, lt=10, every=1_000)
    page = parse_feed(feed, "http://e.test/feed.xml", tz=TZ)
    assert [item.title for item in page.items] == [f"Item {i}" for i in range(6)]
    assert page.skipped == 0


@pytest.fixture()
def hostile() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


def feed_source(name: str, url: str, extra: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nurl = "{url}"\nkind = "feed"\n{extra}\n'


def test_the_poll_report_counts_what_was_skipped(tmp_path: Path, hostile: HostileSite) -> None:
    url = hostile.add("/feed.json", json_feed(hostile.url("")), content_type="application/json")
    config = load_config(write_config(tmp_path, sources=feed_source("bad", url)))
    setup(config)
    rt = get_runtime()
    with rt.session() as session:
        row = source_by_name(session, "bad")
        assert row is not None
        source_id = row.id
    report = poll_source(rt, source_id)
    assert (report.status, report.found, report.skipped, len(report.queued)) == ("ok", 3, 2, 3)


def test_sources_test_shows_the_skipped_entries(tmp_path: Path, hostile: HostileSite) -> None:
    url = hostile.add("/feed.json", json_feed(hostile.url("")), content_type="application/json")
    path = write_config(tmp_path, sources=feed_source("bad", url))
    command = [sys.executable, "-c", "from worker.cli import main; main()"]
    result = subprocess.run(  # a real process: its log reaches the terminal as a user's would
        [*command, "--config", str(path), "sources", "test", "bad", "--articles", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 items" in result.stdout
    assert "bad: skipped 2 entries that could not be read; kept the other 3" in result.stderr


# --- caps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value", "where"),
    [
        ("herald", "max_items", "0", "herald.max_items"),
        ("herald", "max_html_bytes", '"1MiB"', "herald.max_html_bytes"),
        ("herald", "max_title_chars", "-1", "herald.max_title_chars"),
        ("sources", "max_items", '"many"', 'sources["f"].max_items'),
    ],
)
def test_a_bad_cap_names_the_file_and_key(
    tmp_path: Path, section: str, key: str, value: str, where: str
) -> None:
    source = feed_source(
        "f", "http://e.test/feed.xml", f"{key} = {value}" if section == "sources" else ""
    )
    extra = f"{key} = {value}" if section == "herald" else ""
    path = write_config(tmp_path, sources=source, extra_herald=extra)
    expected = f"herald.toml: {where}: expected a whole number"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path)


def test_the_global_cap_applies_to_sources_without_their_own(tmp_path: Path) -> None:
    sources = feed_source("own", "http://e.test/a.xml", "max_items = 7") + feed_source(
        "global", "http://e.test/b.xml"
    )
    config = load_config(write_config(tmp_path, sources=sources, extra_herald="max_items = 40"))
    assert (config.source("own").max_items, config.source("global").max_items) == (7, 40)
    assert load_config(write_config(tmp_path, sources=sources)).source("global").max_items == 500


def test_a_poll_reads_at_most_max_items(tmp_path: Path, hostile: HostileSite) -> None:
    url = hostile.add("/feed.xml", hostile_feed(hostile.url(""), items=50, lt=10, every=1_000))
    path = write_config(tmp_path, sources=feed_source("many", url, "max_items = 12"))
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "test", "many", "--articles", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "12 items" in result.output


def test_stored_html_and_titles_are_capped_cleanly(tmp_path: Path, hostile: HostileSite) -> None:
    paragraph = "<p>第一段：<b>重庆市科协</b>召开推进示范区建设工作会议 &amp; 部署。</p>"
    body = paragraph * (3 * 1024 * 1024 // len(paragraph.encode()))
    title = "长" * 5_000
    feed = (
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>t</title><item><title>{title}</title><link>{hostile.url('/a/1')}</link>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item></channel></rss>"
    )
    url = hostile.add("/big.xml", feed, content_type="application/rss+xml")
    path = write_config(tmp_path, sources=feed_source("big", url))
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        stored_title, html, text = conn.execute(
            "select title, content_html, text from articles"
        ).fetchone()
    assert stored_title == "长" * 1_000
    assert len(html.encode("utf-8")) <= 1024 * 1024
    assert len(html.encode("utf-8")) > 1000 * 1024  # cut near the limit, not far below it
    assert html.endswith("</p>") and html.count("<p>") == html.count("</p>")
    assert html.count("<b>") == html.count("</b>")
    assert lxml.html.fragment_fromstring(html, create_parent="div").text_content().strip()
    assert text.startswith("第一段") and "&amp;" not in text
    etree.parse(str(tmp_path / "feeds" / "sources" / "big.xml"))  # the feed is valid XML


# --- done when: the hostile feed and the hostile column in seconds ---------------------------


def test_sources_test_on_the_hostile_feed_returns_in_seconds(
    tmp_path: Path, hostile: HostileSite
) -> None:
    url = hostile.add(
        "/feed.xml", hostile_feed(hostile.url("")), content_type="application/rss+xml"
    )
    path = write_config(tmp_path, sources=feed_source("hostile", url))
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "test", "hostile", "--articles", "0"]
    )
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "500 items" in result.output
    assert took < 5, f"took {took:.1f} s"


def test_sources_test_on_the_hostile_hanweb_column_returns_in_seconds(
    tmp_path: Path, hostile: HostileSite
) -> None:
    page = hostile_hanweb_column()
    assert 200_000 < len(page) < 300_000
    url = hostile.add("/col/col1/index.html", page)
    hostile.add("/module/web/jpage/dataproxy.jsp", b"<datastore></datastore>")
    sources = f'[[sources]]\nname = "column"\nurl = "{url}"\nkind = "auto"\n'
    path = write_config(tmp_path, sources=sources)
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "test", "column", "--articles", "0"]
    )
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "1 items" in result.output and "科协通知" in result.output
    assert took < 5, f"took {took:.1f} s"


def test_an_unparsable_link_on_a_list_page_keeps_the_list(
    tmp_path: Path, hostile: HostileSite
) -> None:
    rows = "".join(
        f"<li><a href='{href}'>标题{i}</a><span>2022-10-0{i}</span></li>"
        for i, href in enumerate(["/a/1.html", "http://[x", "/a/3.html", "http://[::1"], 1)
    )
    url = hostile.add("/list.html", f"<html><body><ul class='news'>{rows}</ul></body></html>")
    source = (
        f'[[sources]]\nname = "list"\nurl = "{url}"\nkind = "html"\n'
        '[sources.list]\nitem = "ul.news li"\ndate = "span"\n'
    )
    path = write_config(tmp_path, sources=source)
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "test", "list", "--articles", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "2 items" in result.output
