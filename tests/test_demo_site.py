"""Tests for ``worker.demo.site``: the local Hanweb-style demo column, over real HTTP; and what
``herald demo`` tells its user."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
import requests

from worker.demo.pages import TINY_JPEG, truncate_title
from worker.demo.site import DemoSite

LIST = DemoSite.LIST_SELECTORS
ARTICLE = DemoSite.ARTICLE_SELECTORS


@pytest.fixture
def site() -> Iterator[DemoSite]:
    demo = DemoSite(articles=25, page_size=10)
    demo.start()
    yield demo
    demo.stop()


def parse_list(text: str) -> list[tuple[str, str, str, str]]:
    """(href, title attribute, link text, date text) for each list item."""
    root = lxml.html.fromstring(text)
    rows = []
    for item in root.cssselect(LIST["item"]):
        link = item.cssselect(LIST["link"])[0]
        rows.append(
            (
                link.get("href"),
                link.get("title"),
                link.text_content(),
                item.cssselect(LIST["date"])[0].text_content(),
            )
        )
    return rows


def next_link(page_url: str, text: str) -> str | None:
    found = lxml.html.fromstring(text).cssselect(LIST["next"])
    return urljoin(page_url, found[0].get("href")) if found else None


def rss_items(content: bytes) -> list[ET.Element]:
    return ET.fromstring(content).findall("./channel/item")


def test_list_page_one_shows_newest_page_size_items_with_full_titles(
    site: DemoSite, http: requests.Session
) -> None:
    response = http.get(site.list_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<meta name="Generator" content="大汉版通">' in response.text
    assert "Produced By 大汉网络 大汉版通发布系统" in response.text
    for label in ("首页", "工作案例", "十年之路", "视频回顾", "媒体聚焦", "案例总览"):
        assert label in response.text
    rows = parse_list(response.text)
    newest = site.articles[:10]
    assert len(rows) == 10
    assert [title for _, title, _, _ in rows] == [a.title for a in newest]
    assert [href for href, _, _, _ in rows] == [
        urlsplit(site.article_url(a.id)).path for a in newest
    ]
    assert rows[0][3] == "2022-10-08"
    assert rows[1][3] == "2022-10-07"
    long_rows = [row for row in rows if len(row[1]) > 30]
    assert long_rows, "some titles must be long enough to be truncated"
    for _, title, text, _ in long_rows:
        assert text == title[:30] + "..."
        assert text != title
    for _, title, text, _ in rows:
        assert text == truncate_title(title)


def test_next_links_visit_every_article_exactly_once(
    site: DemoSite, http: requests.Session
) -> None:
    url: str | None = site.list_url
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = http.get(url, timeout=5)
        assert response.status_code == 200
        seen.extend(urljoin(url, href) for href, _, _, _ in parse_list(response.text))
        url = next_link(url, response.text)
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25
    assert seen == [site.article_url(a.id) for a in site.articles]
    assert http.get(site.base_url + "/col/col1/index_4.html", timeout=5).status_code == 404


def test_article_page_has_title_date_body_and_images(
    site: DemoSite, http: requests.Session
) -> None:
    article = site.articles[3]
    url = site.article_url(article.id)
    assert urlsplit(url).path == f"/art/2022/10/5/art_1_{article.id}.html"
    response = http.get(url, timeout=5)
    assert response.status_code == 200
    root = lxml.html.fromstring(response.text)
    assert root.cssselect(ARTICLE["title"])[0].text_content() == article.title
    info = root.cssselect(ARTICLE["date"])[0].text_content()
    assert info.startswith("发布时间：2022-10-05")
    assert "【字体：" in response.text and "【打印本页】" in response.text
    body = root.cssselect(ARTICLE["body"])[0]
    texts = [p.text_content() for p in body.cssselect("p") if p.text_content()]
    for paragraph in article.paragraphs:
        assert paragraph in texts
    assert any(f"第{article.id}期" in text for text in texts)
    bold = [strong.text_content() for strong in body.cssselect("p > strong")]
    assert {"拉开大幕", "研判形势", "重庆市科协召开推进示范区建设工作会议"} <= set(bold)
    sources = [img.get("src") for img in body.cssselect("img")]
    assert sources == article.images
    assert len(sources) == 2
    assert all(src.startswith("./img/") and src.endswith(".jpeg") for src in sources)
    image = http.get(urljoin(url, sources[0]), timeout=5)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.content == TINY_JPEG
    assert image.content[:2] == b"\xff\xd8" and image.content[-2:] == b"\xff\xd9"


def test_bodies_differ_between_articles_and_are_deterministic(http: requests.Session) -> None:
    with DemoSite(articles=5) as one, DemoSite(articles=5) as two:
        first = http.get(one.article_url(3), timeout=5)
        again = http.get(two.article_url(3), timeout=5)
        other = http.get(one.article_url(4), timeout=5)
    assert first.content == again.content
    assert first.headers["ETag"] == again.headers["ETag"]
    assert one.articles[1].paragraphs[0] != one.articles[2].paragraphs[0]
    assert first.content != other.content


def test_unknown_paths_are_404(site: DemoSite, http: requests.Session) -> None:
    wrong_date = site.article_url(5).replace("/art/2022/", "/art/2021/")
    for url in (
        site.base_url + "/nope.html",
        site.base_url + "/col/col1/index_1.html",
        site.base_url + "/col/col9/index.html",
        site.base_url + "/art/2022/10/8/art_1_999.html",
        wrong_date,
    ):
        assert http.get(url, timeout=5).status_code == 404, url
    assert site.requests_log[-1] == ("GET", urlsplit(wrong_date).path, 404)


def test_conditional_get_answers_304(site: DemoSite, http: requests.Session) -> None:
    for url in (site.list_url, site.article_url(7), site.feed_url):
        first = http.get(url, timeout=5)
        etag = first.headers["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        modified = first.headers["Last-Modified"]
        again = http.get(url, headers={"If-None-Match": etag}, timeout=5)
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == etag
        since = http.get(url, headers={"If-Modified-Since": modified}, timeout=5)
        assert since.status_code == 304
        stale = http.get(url, headers={"If-None-Match": '"other"'}, timeout=5)
        assert stale.status_code == 200
        older = http.get(
            url, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, timeout=5
        )
        assert older.status_code == 200
    article_modified = parsedate_to_datetime(
        http.get(site.article_url(7), timeout=5).headers["Last-Modified"]
    )
    assert article_modified == site.get_article(7).published
    assert site.hits("/col/col1/index.html") == 5
    assert sum(1 for _, _, status in site.requests_log if status == 304) == 6


def test_add_article_appears_first_on_page_one_and_in_rss(
    site: DemoSite, http: requests.Session
) -> None:
    before = http.get(site.list_url, timeout=5)
    added = site.add_article("重庆市科协举办科技社团改革现场推进会")
    assert added.id == 26
    assert added.published == datetime(2022, 10, 9, 9, 30, tzinfo=added.published.tzinfo)
    assert site.articles[0] is added
    after = http.get(site.list_url, headers={"If-None-Match": before.headers["ETag"]}, timeout=5)
    assert after.status_code == 200
    rows = parse_list(after.text)
    assert len(rows) == 10
    assert rows[0][1] == "重庆市科协举办科技社团改革现场推进会"
    assert rows[0][0] == "/art/2022/10/9/art_1_26.html"
    assert rows[0][3] == "2022-10-09"
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == added.published
    feed = http.get(site.feed_url, timeout=5)
    items = rss_items(feed.content)
    assert len(items) == 10
    assert items[0].findtext("title") == "重庆市科协举办科技社团改革现场推进会"
    assert items[0].findtext("link") == site.article_url(26)
    assert http.get(site.article_url(26), timeout=5).status_code == 200


def test_edit_article_changes_body_and_etag(site: DemoSite, http: requests.Session) -> None:
    url = site.article_url(10)
    before = http.get(url, timeout=5)
    site.edit_article(10, "更正：本文第三段数据已更新。")
    after = http.get(url, headers={"If-None-Match": before.headers["ETag"]}, timeout=5)
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "更正：本文第三段数据已更新。" in after.text
    assert "更正：本文第三段数据已更新。" not in before.text
    assert parsedate_to_datetime(after.headers["Last-Modified"]) > parsedate_to_datetime(
        before.headers["Last-Modified"]
    )
    stale_since = http.get(
        url, headers={"If-Modified-Since": before.headers["Last-Modified"]}, timeout=5
    )
    assert stale_since.status_code == 200
    site.edit_article(10, "再次更正。")
    third = http.get(url, headers={"If-Modified-Since": after.headers["Last-Modified"]}, timeout=5)
    assert third.status_code == 200
    assert "再次更正。" in third.text
    with pytest.raises(KeyError, match="demo: no article 999"):
        site.edit_article(999, "x")


def test_gb18030_pages_mislabelled_as_gb2312(http: requests.Session) -> None:
    with DemoSite(articles=12, encoding="gb18030", declared_charset="gb2312") as demo:
        pages = [http.get(demo.list_url, timeout=5), http.get(demo.article_url(3), timeout=5)]
    for response in pages:
        assert response.headers["Content-Type"] == "text/html; charset=gb2312"
        text = response.content.decode("gb18030")
        assert '<meta charset="gb2312">' in text
        assert "镕" in text and "𠮷" in text
        assert "大汉版通" in text
        with pytest.raises(UnicodeDecodeError):
            response.content.decode("gb2312")
        with pytest.raises(UnicodeDecodeError):
            response.content.decode("gbk")
        with pytest.raises(UnicodeDecodeError):
            response.content.decode("utf-8")


def test_rss_feed_is_valid_rss2_with_newest_articles(
    site: DemoSite, http: requests.Session
) -> None:
    response = http.get(site.feed_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = rss_items(response.content)
    assert len(items) == 10
    for item, article in zip(items, site.articles, strict=False):
        assert item.findtext("title") == article.title
        assert item.findtext("link") == site.article_url(article.id)
        assert item.findtext("guid") == site.article_url(article.id)
        assert parsedate_to_datetime(item.findtext("pubDate") or "") == article.published
        assert (item.findtext("pubDate") or "").endswith("+0800")
        assert item.findtext("description") == article.paragraphs[0]
    assert items[0].findtext("pubDate") == "Sat, 08 Oct 2022 09:30:00 +0800"


def test_large_site_builds_fast_and_pages_to_the_end(http: requests.Session) -> None:
    started = time.perf_counter()
    demo = DemoSite(articles=2000, page_size=10, start_date=date(2024, 1, 31))
    assert time.perf_counter() - started < 1.0
    assert len({a.title for a in demo.articles}) == 2000
    assert demo.articles[-1].id == 1
    with demo:
        last = http.get(demo.base_url + "/col/col1/index_200.html", timeout=5)
        assert last.status_code == 200
        rows = parse_list(last.text)
        assert [href for href, _, _, _ in rows][-1] == urlsplit(demo.article_url(1)).path
        assert next_link(demo.list_url, last.text) is None
        assert http.get(demo.base_url + "/col/col1/index_201.html", timeout=5).status_code == 404
        newest = http.get(demo.article_url(2000), timeout=5)
        assert "发布时间：2024-01-31" in newest.text


def test_latency_delays_each_request(http: requests.Session) -> None:
    with DemoSite(articles=3, latency=0.2) as demo:
        started = time.perf_counter()
        assert http.get(demo.list_url, timeout=5).status_code == 200
        assert time.perf_counter() - started >= 0.2


def test_concurrent_requests_and_additions_are_all_logged() -> None:
    with DemoSite(articles=30) as demo:

        def crawl(n: int) -> list[int]:
            with requests.Session() as session:
                return [
                    session.get(demo.list_url, timeout=5).status_code,
                    session.get(demo.article_url(1 + n % 30), timeout=5).status_code,
                    session.get(demo.feed_url, timeout=5).status_code,
                ]

        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(crawl, n) for n in range(40)]
            added = [demo.add_article() for _ in range(5)]
            statuses = [status for future in futures for status in future.result()]
        assert statuses == [200] * 120
        assert len(demo.requests_log) == 120
        assert demo.hits("/col/col1/rss.xml") == 40
        assert [a.id for a in demo.articles[:5]] == [35, 34, 33, 32, 31]
        assert [a.id for a in added] == [31, 32, 33, 34, 35]
        assert len({a.title for a in demo.articles}) == 35


def test_the_demo_says_what_its_first_poll_imported(tmp_path: Path) -> None:
    """The first poll imports silently (nothing is pushed): the demo says so and counts it."""
    run = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--dir", str(tmp_path / "demo"),
         "--articles", "12", "--seconds", "8", "--every", "100"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "First poll: herald imports the 12 articles already on the site" in run.stdout
    assert "imported 12 article(s) from the site" in run.stdout, run.stdout + run.stderr
    assert "demo: 12 article(s) stored, 0 webhook(s) received" in run.stdout
