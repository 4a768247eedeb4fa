"""Every feed herald writes validates, whatever the articles hold: the W3C Feed Validation
Service's error rules (``tests.support.feedrules``), the JSON Feed 1.1 schema, and feedparser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.feedrules import check_feed
from tests.test_hostile_properties import article
from worker.feeds import FeedSpec, render_atom, render_json_feed, render_rss
from worker.models import Article, Attachment
from worker.sanitize import sanitize_html

SCHEMA = json.loads((Path(__file__).parent / "data" / "jsonfeed-1.1.schema.json").read_text())
BASE = "https://feeds.example.org"
HUB = "https://hub.example.org/"


def json_feed_errors(data: bytes) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(json.loads(data))]


def assert_valid(spec: FeedSpec, *, hub: str = "") -> None:
    rss = render_rss(spec, base_url=BASE, hub=hub)
    atom = render_atom(spec, base_url=BASE, hub=hub)
    doc = render_json_feed(spec, base_url=BASE, hub=hub)
    assert check_feed(rss) == []
    assert check_feed(atom) == []
    assert json_feed_errors(doc) == []
    for data in (rss, atom):  # feedparser 6 reads no JSON Feed: the schema checks it
        parsed = feedparser.parse(data)
        assert parsed.bozo is False, parsed.get("bozo_exception")
        assert len(parsed.entries) == len(spec.articles)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(
    articles=st.lists(article(), max_size=4),
    offsets=st.lists(st.integers(-100_000, 100_000), min_size=4, max_size=4),
    hub=st.sampled_from(["", HUB]),
)
def test_any_articles_make_valid_feeds_in_every_format(
    articles: list[Article], offsets: list[int], hub: str
) -> None:
    dated = [
        Article(**{**a.__dict__, "id": i,
                   "published_at": datetime(2022, 1, 1, tzinfo=UTC) + timedelta(hours=offsets[i])
                   if i % 2 else None})
        for i, a in enumerate(articles)
    ]  # fmt: skip
    assert_valid(FeedSpec("tags/通知 公告", "herald — #通知 公告", tuple(dated)), hub=hub)


def _article(i: int, **fields: object) -> Article:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    base = dict(
        id=i, source_name="s", url=f"https://www.example.gov.cn/art/{i}.html", guid="",
        title=f"通知 {i}", author="", published_at=now, summary="", content_html="<p>正文</p>",
        text="正文", images=(), version=1, first_seen_at=now, updated_at=now,
    )  # fmt: skip
    return Article(**{**base, **fields})  # type: ignore[arg-type]


def test_links_guids_and_files_that_are_no_uris_are_written_as_uris_or_left_out() -> None:
    articles = (
        _article(1, url="http://www.example.gov.cn/通知/a b.html?x=[1]", guid="same"),
        _article(2, url="javascript:alert(1)", guid="same"),
        _article(3, url="http://例子.中国/x", guid=" urn:uuid:1234 ",
                 images=("http://img.test/a b.png",),
                 attachments=(Attachment("http://www.example.gov.cn/附件.pdf", "附件"),
                              Attachment("ftp://x/y.doc", "gone")),
                 content_html=sanitize_html(  # as the store keeps it
                     '<a href="../a[1].html">rel</a><img src="http://x.test/中.png">', "")),
        _article(4, url="", guid="http://example.org/dup"),
        _article(5, url="", guid="http://example.org/dup"),
    )  # fmt: skip
    spec = FeedSpec("all", "all", articles)
    assert_valid(spec, hub=HUB)
    doc = json.loads(render_json_feed(spec, base_url=BASE))
    by_title = {item["title"]: item for item in doc["items"]}
    assert by_title["通知 1"]["url"] == (
        "http://www.example.gov.cn/%E9%80%9A%E7%9F%A5/a%20b.html?x=%5B1%5D"
    )
    assert "url" not in by_title["通知 2"]
    assert by_title["通知 3"]["url"] == "http://xn--fsqu00a.xn--fiqs8s/x"
    assert by_title["通知 3"]["id"] == "urn:uuid:1234"
    assert [a["url"] for a in by_title["通知 3"]["attachments"]] == [
        "http://www.example.gov.cn/%E9%99%84%E4%BB%B6.pdf"
    ]
    ids = [item["id"] for item in doc["items"]]
    assert len(set(ids)) == len(ids)  # the guid two entries share goes to one of them
    assert "http://example.org/dup" in ids and ("urn:herald:4" in ids) != ("urn:herald:5" in ids)


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (b"<rss version='2.0'><channel><title>t</title><link>http://a.test/</link>"
         b"<description>d</description><item><title>x</title><guid>a b</guid></item></channel>"
         b"</rss>", "a permalink must be a full http URL"),
        (b"<rss version='2.0'><channel><title>t</title><link>http://a.test/]</link>"
         b"<description>d</description></channel></rss>", "not a full http URL"),
        (b"<rss version='2.0'><channel><title>t</title><link>http://a.test/</link>"
         b"<description>d</description><item><title>x</title><pubDate>2024-01-01</pubDate>"
         b"</item></channel></rss>", "not an RFC-822 date-time"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><id>x y</id><title>t</title>"
         b"<updated>2024-01-01T00:00:00Z</updated></feed>", "invalid URI character"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:a</id><title>t</title>"
         b"<updated>2024-01-01T00:00:00Z</updated><entry><id>urn:b</id><title>x</title>"
         b"<updated>2024-01-01</updated></entry></feed>", "missing author"),
    ],
)  # fmt: skip
def test_the_rule_checks_catch_what_the_validator_reports(document: bytes, rule: str) -> None:
    assert any(rule in problem for problem in check_feed(document)), check_feed(document)


@pytest.mark.parametrize(
    "href",
    ["\u3000javascript:alert(1)", " \tjavascript:alert(1)", "java\u200bscript:alert(1)",
     "\x01data:text/html,x", "JaVaScRiPt:alert(1)"],
)  # fmt: skip
def test_the_sanitiser_drops_script_links_however_they_are_padded(href: str) -> None:
    from worker.sanitize import clean

    for html in (f'<a href="{href}">x</a>', f'<img src="{href}">'):
        cleaned = clean(html).lower()
        assert "javascript:" not in cleaned and "data:" not in cleaned, cleaned
