"""Tests for worker.feeds: RSS, Atom and JSON Feed rendering and atomic feed writing."""

from __future__ import annotations

import calendar
import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from worker.feeds import (
    EMPTY_FEED_UPDATED,
    FeedSpec,
    render_atom,
    render_json_feed,
    render_rss,
    sort_articles,
    write_feeds,
)
from worker.files import write_atomic
from worker.models import Article

BASE_URL = "https://herald.example.org"
CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=CST)
SOURCES = ("notices", "policies", "news")
CONTROL_ID = 7
SURROGATE_ID = 11
TIE_IDS = (24, 25)


def make_article(i: int) -> Article:
    """Return article ``i`` of the fixture set (ids 1..25, mixed dates, guids and tags)."""
    hour = (i * 7) % 25
    if i in TIE_IDS:
        hour = 30
    published = None if i % 5 == 0 else T0 + timedelta(hours=hour)
    first_seen = T0 + timedelta(hours=hour, minutes=30)
    title = f"关于第{i}号文件的通知"
    content = f"<p>第{i}段正文：国务院办公厅印发。</p><p><img src='https://ex.gov.cn/{i}.png'></p>"
    summary = f"摘要{i}"
    if i == CONTROL_ID:
        title = "控制\x0b字符标题"
        content = "<p>含有 ]]> 序列\x0b与控制字符</p>"
    if i == SURROGATE_ID:
        summary = "坏\ud800字符\ufffe摘要"
    return Article(
        id=i,
        source_name=SOURCES[i % 2],
        url=f"https://ex.gov.cn/art/{i}.html",
        guid=f"tag:ex.gov.cn,2024:{i}" if i % 3 == 0 else "",
        title=title,
        author="办公厅" if i % 4 == 0 else "",
        published_at=published,
        summary=summary,
        content_html=content,
        text=f"第{i}段正文",
        images=(f"https://ex.gov.cn/{i}.png",),
        version=1,
        first_seen_at=first_seen,
        updated_at=first_seen + timedelta(minutes=i),
        tags=("通知", f"tag{i}") if i % 2 == 0 else (),
    )


ARTICLES = [make_article(i) for i in range(1, 26)]


def expected_order(articles: list[Article]) -> list[int]:
    """Return the ids in the order the feeds must list them."""
    keyed = sorted(articles, key=lambda a: (a.published_at or a.first_seen_at, a.id), reverse=True)
    return [a.id for a in keyed]


def by_id(article_id: int) -> Article:
    return next(a for a in ARTICLES if a.id == article_id)


def expected_entry_id(article: Article) -> str:
    return article.guid or article.url


@pytest.fixture(scope="module")
def spec() -> FeedSpec:
    # Shuffled input: the renderers must sort on their own.
    return FeedSpec(
        key="all", title="herald — all sources", articles=ARTICLES[::2] + ARTICLES[1::2]
    )


def test_fixture_order_has_ties_and_fallbacks() -> None:
    order = expected_order(ARTICLES)
    assert order[:2] == [25, 24]  # same timestamp: higher id first
    assert by_id(25).published_at is None
    assert by_id(24).published_at is not None
    assert len(set(order)) == 25


def test_rss_round_trips_through_feedparser(spec: FeedSpec) -> None:
    data = render_rss(spec, base_url=BASE_URL)
    parsed = feedparser.parse(data)

    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "herald — all sources"
    assert parsed.feed.link == f"{BASE_URL}/feeds/all.xml"
    assert parsed.feed.generator == "herald"
    order = expected_order(ARTICLES)
    assert [entry.id for entry in parsed.entries] == [expected_entry_id(by_id(i)) for i in order]
    for entry, article_id in zip(parsed.entries, order, strict=True):
        article = by_id(article_id)
        assert entry.link == article.url
        if article_id == CONTROL_ID:
            assert entry.title == "控制字符标题"
            assert entry.content[0].value == "<p>含有 ]]> 序列与控制字符</p>"
        else:
            assert entry.title == article.title
            assert f"第{article_id}段正文：国务院办公厅印发。" in entry.content[0].value
            assert f"https://ex.gov.cn/{article_id}.png" in entry.content[0].value
        published = article.published_at or article.first_seen_at
        assert calendar.timegm(entry.published_parsed) == int(published.timestamp())
        assert [tag.term for tag in entry.get("tags", [])] == list(article.tags)
        if article.author:
            assert entry.author == "办公厅"


def test_rss_guid_is_permalink_only_for_urls(spec: FeedSpec) -> None:
    root = etree.fromstring(render_rss(spec, base_url=BASE_URL))
    guids = {g.text: g.get("isPermaLink") for g in root.iter("guid")}
    assert guids["tag:ex.gov.cn,2024:3"] == "false"
    assert guids["https://ex.gov.cn/art/1.html"] == "true"
    assert len(guids) == 25
    self_link = root.find("channel/{http://www.w3.org/2005/Atom}link")
    assert self_link is not None
    assert self_link.get("href") == f"{BASE_URL}/feeds/all.xml"
    assert self_link.get("rel") == "self"


def test_atom_round_trips_through_feedparser(spec: FeedSpec) -> None:
    data = render_atom(spec, base_url=BASE_URL)
    parsed = feedparser.parse(data)

    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == f"{BASE_URL}/feeds/all.atom"
    assert parsed.feed.generator == "herald"
    self_links = [ln.href for ln in parsed.feed.links if ln.rel == "self"]
    assert self_links == [f"{BASE_URL}/feeds/all.atom"]
    order = expected_order(ARTICLES)
    assert [entry.id for entry in parsed.entries] == [expected_entry_id(by_id(i)) for i in order]
    for entry, article_id in zip(parsed.entries, order, strict=True):
        article = by_id(article_id)
        assert entry.link == article.url
        assert entry.content[0].type == "text/html"
        if article_id == CONTROL_ID:
            assert entry.title == "控制字符标题"
            assert entry.content[0].value == "<p>含有 ]]> 序列与控制字符</p>"
        else:
            assert entry.title == article.title
            assert "国务院办公厅印发" in entry.content[0].value
        assert calendar.timegm(entry.updated_parsed) == int(article.updated_at.timestamp())
        published = article.published_at or article.first_seen_at
        assert calendar.timegm(entry.published_parsed) == int(published.timestamp())
        if article.author:
            assert entry.author == "办公厅"
    assert b'type="html"' in data
    assert b"CDATA" not in data


def test_illegal_xml_characters_are_stripped(spec: FeedSpec) -> None:
    for data in (render_rss(spec, base_url=BASE_URL), render_atom(spec, base_url=BASE_URL)):
        text = data.decode("utf-8")
        assert "\x0b" not in text
        assert "\ufffe" not in text
        assert "坏字符摘要" in text
    items = json.loads(render_json_feed(spec, base_url=BASE_URL))["items"]
    summaries = {item["id"]: item.get("summary") for item in items}
    assert summaries["https://ex.gov.cn/art/11.html"] == "坏字符摘要"


def test_feed_updated_comes_from_articles_not_clock(spec: FeedSpec) -> None:
    newest = max(a.updated_at for a in ARTICLES)
    atom = feedparser.parse(render_atom(spec, base_url=BASE_URL))
    rss = feedparser.parse(render_rss(spec, base_url=BASE_URL))
    assert calendar.timegm(atom.feed.updated_parsed) == int(newest.timestamp())
    assert calendar.timegm(rss.feed.updated_parsed) == int(newest.timestamp())
    assert render_atom(spec, base_url=BASE_URL) == render_atom(spec, base_url=BASE_URL)

    override = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    forced = feedparser.parse(render_atom(spec, base_url=BASE_URL, generated_at=override))
    assert calendar.timegm(forced.feed.updated_parsed) == int(override.timestamp())


def test_json_feed_shape_and_order(spec: FeedSpec) -> None:
    doc = json.loads(render_json_feed(spec, base_url=BASE_URL))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "herald — all sources"
    assert doc["feed_url"] == f"{BASE_URL}/feeds/all.json"
    order = expected_order(ARTICLES)
    assert [item["id"] for item in doc["items"]] == [expected_entry_id(by_id(i)) for i in order]
    for item, article_id in zip(doc["items"], order, strict=True):
        article = by_id(article_id)
        assert item["url"] == article.url
        if article_id != CONTROL_ID:
            assert item["title"] == article.title
            assert item["content_html"] == article.content_html
        published = article.published_at or article.first_seen_at
        assert datetime.fromisoformat(item["date_published"]) == published
        assert datetime.fromisoformat(item["date_modified"]) == article.updated_at
        assert item.get("tags", []) == list(article.tags)
    control = next(i for i in doc["items"] if i["url"].endswith("/7.html"))
    assert control["content_html"] == "<p>含有 ]]> 序列与控制字符</p>"


def test_empty_feed_is_valid() -> None:
    empty = FeedSpec(key="sources/news", title="news", articles=())
    rss = feedparser.parse(render_rss(empty, base_url=BASE_URL))
    atom = feedparser.parse(render_atom(empty, base_url=BASE_URL))
    assert rss.bozo is False and atom.bozo is False
    assert rss.entries == [] and atom.entries == []
    assert rss.feed.title == "news"
    assert calendar.timegm(atom.feed.updated_parsed) == int(EMPTY_FEED_UPDATED.timestamp())
    doc = json.loads(render_json_feed(empty, base_url=BASE_URL))
    assert doc["items"] == []
    assert doc["feed_url"] == f"{BASE_URL}/feeds/sources/news.json"


def feed_specs(articles: list[Article], names: list[str]) -> list[FeedSpec]:
    """The "all" feed and one per source, as the publish stage lays them out."""
    ordered = sort_articles(articles)
    specs = [FeedSpec("all", "herald — all sources", tuple(ordered))]
    for name in names:
        own = tuple(a for a in ordered if a.source_name == name)
        specs.append(FeedSpec(f"sources/{name}", name, own))
    return specs


def test_write_feeds_names_and_skips_unchanged(tmp_path: Path) -> None:
    feeds_dir = tmp_path / "feeds"
    specs = feed_specs(ARTICLES, ["notices", "policies", "news"])
    changed = write_feeds(specs, feeds_dir, base_url=BASE_URL)

    names = sorted(p.relative_to(feeds_dir).as_posix() for p in changed)
    expected = sorted(
        f"{key}.{ext}"
        for key in ("all", "sources/notices", "sources/policies", "sources/news")
        for ext in ("xml", "atom", "json")
    )
    assert names == expected
    assert (
        sorted(p.relative_to(feeds_dir).as_posix() for p in feeds_dir.rglob("*") if p.is_file())
        == expected
    )
    assert feedparser.parse((feeds_dir / "sources/news.xml").read_bytes()).bozo is False
    assert json.loads((feeds_dir / "all.json").read_bytes())["items"][0]["id"] == (
        expected_entry_id(by_id(25))
    )

    past = 1_600_000_000
    for path in changed:
        os.utime(path, (past, past))
    again = write_feeds(
        feed_specs(ARTICLES, ["notices", "policies", "news"]), feeds_dir, base_url=BASE_URL
    )
    assert again == []
    assert all(p.stat().st_mtime == past for p in changed)

    newer = by_id(25).updated_at + timedelta(hours=1)
    touched = [*ARTICLES[:-1], replace(by_id(25), title="更新后的标题", updated_at=newer)]
    third = write_feeds(
        feed_specs(touched, ["notices", "policies", "news"]), feeds_dir, base_url=BASE_URL
    )
    source_25 = by_id(25).source_name
    assert sorted(p.relative_to(feeds_dir).as_posix() for p in third) == sorted(
        f"{key}.{ext}" for key in ("all", f"sources/{source_25}") for ext in ("xml", "atom", "json")
    )
    assert "更新后的标题" in (feeds_dir / "all.atom").read_text(encoding="utf-8")


def test_write_atomic_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "feed.xml"
    assert write_atomic(target, b"one") is True
    assert target.read_bytes() == b"one"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644

    os.utime(target, (1_600_000_000, 1_600_000_000))
    assert write_atomic(target, b"one") is False
    assert target.stat().st_mtime == 1_600_000_000

    target.chmod(0o640)
    assert write_atomic(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["feed.xml"]


def test_write_feeds_rejects_keys_outside_feeds_dir(tmp_path: Path) -> None:
    bad = FeedSpec(key="sources/../../etc/x", title="x", articles=())
    with pytest.raises(ValueError, match="feed: invalid feed key"):
        write_feeds([bad], tmp_path / "feeds", base_url=BASE_URL)
    assert not (tmp_path / "etc").exists()


def test_write_atomic_removes_temp_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.xml"]


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = replace(
        by_id(1),
        published_at=datetime(2024, 6, 1, 12, 0),
        first_seen_at=datetime(2024, 6, 1, 13, 0),
        updated_at=datetime(2024, 6, 1, 14, 0),
    )
    parsed = feedparser.parse(
        render_atom(FeedSpec("all", "t", [naive, by_id(2)]), base_url=BASE_URL)
    )
    assert parsed.bozo is False
    assert [e.id for e in parsed.entries] == [naive.url, by_id(2).url]
    expected = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert calendar.timegm(parsed.entries[0].published_parsed) == int(expected.timestamp())
