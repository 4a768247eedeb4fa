"""Each CMS family from just a URL: `sources detect` names it, and `run --once` with
kind = "auto" ingests every article of a multi-page column with its full title, day and body."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import write_config
from tests.support.cms_sites import CmsSite, HanwebSite, JpaasSite, TrsSite
from worker.cli import main
from worker.config import load_config
from worker.embedded import run_once

BEIJING = ZoneInfo("Asia/Shanghai")
FAMILIES = {"hanweb": HanwebSite, "jpaas": JpaasSite, "trs": TrsSite}


@pytest.fixture(params=sorted(FAMILIES))
def cms(request: pytest.FixtureRequest) -> Iterator[tuple[str, CmsSite]]:
    family = request.param
    options = {"per_page": 5} if family == "hanweb" else {}  # several dataproxy groups
    site = FAMILIES[family](articles=47, encoding="gb18030", declared_charset="gb2312", **options)
    site.start()
    yield family, site
    site.stop()


def _auto_source(url: str, *, backfill: int) -> str:
    return f"""
[[sources]]
name = "column"
url = "{url}"
kind = "auto"
backfill = {backfill}
"""


@pytest.mark.usefixtures("allow_loopback")
def test_detect_names_the_family(cms: tuple[str, CmsSite]) -> None:
    family, site = cms
    result = CliRunner().invoke(main, ["sources", "detect", site.list_url, "--pages", "2"])
    assert result.exit_code == 0, result.output
    assert f"family: {family}" in result.output
    assert f'kind = "{family}"' in result.output  # a config block ready to paste
    first = site.expected()[0]
    assert first["title"] in result.output and first["date"] in result.output


def test_auto_ingests_every_article_with_full_title_day_and_body(
    tmp_path: Path, cms: tuple[str, CmsSite]
) -> None:
    family, site = cms
    path = write_config(tmp_path, sources=_auto_source(site.list_url, backfill=20))
    run_once(load_config(path))

    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = conn.execute("select url, title, published_at, text from articles").fetchall()
        kind = conn.execute("select detected_kind, status from sources").fetchone()
    assert kind == (family, "ok")
    stored = {url: (title, published, text) for url, title, published, text in rows}
    expected = {e["url"]: e for e in site.expected()}
    assert set(stored) == set(expected)
    for url, want in expected.items():
        title, published, text = stored[url]
        assert title == want["title"], url
        stored_utc = datetime.fromisoformat(published).replace(tzinfo=UTC)
        assert stored_utc.astimezone(BEIJING).date().isoformat() == want["date"], url
        assert len(text) > 500 and "打印本页" not in text and "关闭窗口" not in text, url


def test_blocked_and_redesigned_columns_show_in_status(tmp_path: Path) -> None:
    with TrsSite(articles=12) as site:
        path = write_config(tmp_path, sources=_auto_source(site.list_url, backfill=1))
        config = load_config(path)
        run_once(config)
        site.layout = "redesign"
        site.add_article()
        run_once(config)
        out = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "250"})
        assert "column: degraded — list layout changed" in out.output
        site.anti_bot = 521
        with sqlite3.connect(tmp_path / "herald.db") as conn:
            conn.execute("update sources set etag = '', last_modified = ''")
        run_once(config)
        out = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "250"})
        assert "column: blocked — blocked by a JavaScript cookie challenge (HTTP 521)" in out.output


def test_attachments_reach_the_feeds_as_enclosures(tmp_path: Path) -> None:
    import feedparser

    with HanwebSite(articles=8) as site:
        path = write_config(tmp_path, sources=_auto_source(site.list_url, backfill=1))
        run_once(load_config(path))
        feeds = tmp_path / "feeds"
        rss = feedparser.parse((feeds / "all.xml").read_bytes())
        atom = feedparser.parse((feeds / "all.atom").read_bytes())
        json_feed = __import__("json").loads((feeds / "all.json").read_text("utf-8"))
    with_rss = [e for e in rss.entries if e.get("enclosures")]
    assert with_rss, "no article carried its attachment into RSS"
    enclosure = with_rss[0].enclosures[0]
    assert enclosure.href.startswith("http://127.0.0.1:") and ".pdf" in enclosure.href
    assert enclosure.type == "application/pdf"
    assert len([e for e in atom.entries if e.get("enclosures")]) == len(with_rss)
    items = [i for i in json_feed["items"] if i.get("attachments")]
    assert len(items) == len(with_rss)
    assert items[0]["attachments"][0]["mime_type"] == "application/pdf"
