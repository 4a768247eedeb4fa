"""A list that gives only the day and an article page that gives the time: the stored article
carries the page's date-time (through a real poll of a site on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.hostile_sites import HostileSite
from worker.config import load_config
from worker.embedded import run_once

LIST = """<html><body><ul class="list">
<li><a href="/art/1.html">关于开展科普月活动的通知</a><span>2022-10-08</span></li>
<li><a href="/art/2.html">科协召开年度工作会议</a><span>2022-10-07</span></li>
</ul></body></html>"""
ARTICLE = """<html><head><meta name="PubDate" content="{stamp}"><title>{title}</title></head>
<body><h1>{title}</h1><div id="zoom"><p>{text}</p></div></body></html>"""


@pytest.fixture
def site() -> Iterator[HostileSite]:
    with HostileSite() as served:
        served.add("/list.html", LIST)
        served.add(
            "/art/1.html",
            ARTICLE.format(
                stamp="2022-10-08 09:30", title="关于开展科普月活动的通知", text="通知正文。" * 30
            ),
        )
        served.add(
            "/art/2.html",
            ARTICLE.format(stamp="", title="科协召开年度工作会议", text="会议正文。" * 30),
        )
        yield served


def test_the_article_pages_time_wins_over_the_lists_day(tmp_path: Path, site: HostileSite) -> None:
    source = (
        f'[[sources]]\nname = "column"\nurl = "{site.url("/list.html")}"\nkind = "html"\n'
        '[sources.list]\nitem = "ul.list li"\nlink = "a"\ndate = "span"\n'
    )
    run_once(load_config(write_config(tmp_path, sources=source)))
    feed = json.loads((tmp_path / "feeds" / "sources" / "column.json").read_text("utf-8"))
    published = {item["title"]: item["date_published"] for item in feed["items"]}
    assert published["关于开展科普月活动的通知"] == "2022-10-08T09:30:00+08:00"
    assert published["科协召开年度工作会议"] == "2022-10-07T00:00:00+08:00"  # the list's day
