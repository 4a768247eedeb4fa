"""Feed parsers (RSS, Atom, RDF, JSON Feed): golden documents in tests/data/sources/ → Discovered
items; HTML list pages are in tests/test_list_parsers.py."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.sources.base import ListPage, SourceError
from worker.sources.feed import parse_feed

DATA = Path(__file__).parent / "data" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- feeds -------------------------------------------------------------------------------


def test_rss20_chinese_items_in_document_order() -> None:
    page = parse_feed(
        read("rss20_zh.xml"),
        "https://www.cast.org.cn/col/col79/rss.xml",
        tz=SHANGHAI,
        content_type="application/rss+xml; charset=utf-8",
    )
    assert [item.url for item in page.items] == [
        "https://www.cast.org.cn/art/2022/10/8/art_79_5678.html",
        "https://www.cast.org.cn/art/2022/10/7/art_79_5677.html",
        "https://www.cast.org.cn/art/2022/10/6/art_79_5676.html",
        "https://www.cast.org.cn/art/2022/9/30/art_79_5670.html",
    ]
    assert page.next_url == "https://www.cast.org.cn/col/col79/rss.xml?page=2"


def test_rss20_first_item_fields() -> None:
    first = parse_feed(
        read("rss20_zh.xml"), "https://www.cast.org.cn/col/col79/rss.xml", tz=SHANGHAI
    ).items[0]
    assert first.title == "关于印发《2022年科协工作要点》的通知 & 附件"
    assert first.published_at == utc(2022, 10, 8, 2, 30)
    assert first.published_at.utcoffset() == timedelta(hours=8)  # as the feed wrote it
    assert first.guid == "cast-5678"
    assert first.author == "办公厅"
    assert first.summary == "各省、自治区、直辖市科协： 现将《要点》印发给你们。"
    assert first.content_html.startswith("<p>各省、自治区、直辖市科协：</p>")
    assert "请结合实际认真贯彻落实" in first.content_html
    assert 'src="https://www.cast.org.cn/picture/0/a1.jpeg"' in first.content_html
    assert first.images == (
        "https://www.cast.org.cn/picture/0/cover.jpeg",
        "https://img.cast.org.cn/2022/photo.png",
    )


def test_rss20_relative_link_guid_fallback_and_local_dates() -> None:
    items = parse_feed(
        read("rss20_zh.xml"), "https://www.cast.org.cn/col/col79/rss.xml", tz=SHANGHAI
    ).items
    zoneless, guid_only, chinese_date = items[1], items[2], items[3]
    # "2022-10-07 09:00:00" carries no zone: Beijing wall time.
    assert zoneless.published_at == utc(2022, 10, 7, 1, 0)
    assert zoneless.summary == "科技志愿服务 走进基层"
    assert zoneless.content_html == "科技志愿服务<br />走进基层"
    assert zoneless.guid == ""
    assert zoneless.images == ()
    # No <link>: the guid is a URL, so it is the item's URL; "CST" is China time here.
    assert guid_only.guid == guid_only.url
    assert guid_only.published_at == utc(2022, 10, 6, 8, 0)
    # "2022年9月30日 17:45", which feedparser alone misreads.
    assert chinese_date.published_at == utc(2022, 9, 30, 9, 45)


def test_cst_is_us_central_outside_china() -> None:
    doc = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<link>https://example.com/a</link><pubDate>Thu, 06 Oct 2022 16:00:00 CST</pubDate>"
        b"</item></channel></rss>"
    )
    page = parse_feed(doc, "https://example.com/rss", tz=ZoneInfo("America/Chicago"))
    assert page.items[0].published_at == utc(2022, 10, 6, 22, 0)


def test_atom_entries() -> None:
    page = parse_feed(
        read("atom.xml"),
        "https://gg.cast.org.cn/feeds/atom.xml",
        tz=SHANGHAI,
        content_type="application/atom+xml",
    )
    first, second = page.items
    assert first.url == "https://gg.cast.org.cn/art/2022/10/8/art_1_1001.html"
    assert first.title == "深化改革 <典型案例> 之一"
    assert first.published_at == utc(2022, 10, 8, 1, 30)
    assert first.guid == "tag:gg.cast.org.cn,2022:art-1001"
    assert first.author == "王小明"
    assert first.summary == "这是摘要 <不是标签>"
    assert first.content_html == (
        '<p>正文第一段</p><p><img src="https://gg.cast.org.cn/feeds/img/a.jpeg" /></p>'
    )
    assert second.url == "https://gg.cast.org.cn/art/2022/10/7/art_1_1000.html"
    assert second.published_at == utc(2022, 10, 7, 1, 2, 3)
    assert second.author == "中国科协改革办"
    assert second.summary == "只有摘要"
    assert second.content_html == "<p>只有<b>摘要</b></p>"
    assert page.next_url == "https://gg.cast.org.cn/feeds/atom.xml?page=2"


def test_rdf_items() -> None:
    page = parse_feed(read("rdf.xml"), "https://www.example.org.cn/rss.rdf", tz=SHANGHAI)
    assert [(item.title, item.published_at, item.author) for item in page.items] == [
        ("关于召开2022年学术年会的通知", utc(2022, 10, 8, 6, 0), "学术部"),
        ("会员缴费提醒", utc(2022, 10, 4, 16, 0), ""),
    ]
    assert page.items[0].url == "https://www.example.org.cn/tzgg/202210/t20221008_123456.html"
    assert page.items[0].summary == "年会将于11月在北京召开。"
    assert page.next_url == ""


def test_json_feed_11() -> None:
    page = parse_feed(
        read("jsonfeed11.json"),
        "https://www.kepuchina.cn/feed.json",
        tz=SHANGHAI,
        content_type="application/feed+json",
    )
    assert [item.url for item in page.items] == [
        "https://www.kepuchina.cn/article/2022/10/08/1008.html",
        "https://www.kepuchina.cn/article/2022/10/07/1007.html",
    ]
    first, second = page.items
    assert first.title == "秋季流感预防 <指南>"
    assert first.guid == "kp-2022-1008"
    assert first.published_at == utc(2022, 10, 8, 0, 0)
    assert first.summary == "秋季是流感高发季节"
    assert first.content_html == (
        '<p>秋季是流感高发季节。</p><img src="https://www.kepuchina.cn/img/flu.png">'
    )
    assert first.author == "李华, 张伟"
    assert first.images == (
        "https://www.kepuchina.cn/img/flu-cover.png",
        "https://www.kepuchina.cn/img/flu-chart.jpg",
    )
    assert second.content_html == "<p>第一段 &lt;不是标签&gt;</p><p>第二段</p>"
    assert second.published_at == utc(2022, 10, 7, 2, 0)
    assert second.author == "科普中国"
    assert page.next_url == "https://www.kepuchina.cn/feed.json?page=2"


def test_json_that_is_not_a_json_feed() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(b'{"code": 0, "data": {"html": "<li></li>"}}', "https://x.cn/api", tz=SHANGHAI)
    assert caught.value.reason == "not_a_feed"
    assert str(caught.value).startswith("feed: ")


def test_broken_json_feed_is_malformed() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            "https://x.cn/f",
            tz=SHANGHAI,
        )
    assert caught.value.reason == "malformed"


def test_malformed_xml() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(read("malformed.xml"), "https://x.cn/m.xml", tz=SHANGHAI)
    assert caught.value.reason == "malformed"
    assert str(caught.value).startswith("feed: malformed document at https://x.cn/m.xml: ")
    assert "mismatched tag" in str(caught.value)


def test_empty_body_is_malformed() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(b"  \n", "https://x.cn/rss.xml", tz=SHANGHAI)
    assert caught.value.reason == "malformed"


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(
            read("not_a_feed.html"),
            "https://www.cast.org.cn/",
            tz=SHANGHAI,
            content_type="text/html",
        )
    assert caught.value.reason == "not_a_feed"
    assert str(caught.value).startswith("feed: ")


def test_bozo_feed_with_undefined_entities_still_gives_items() -> None:
    page = parse_feed(read("bozo_entity.xml"), "https://www.example.gov.cn/rss.xml", tz=SHANGHAI)
    assert [(item.title, item.published_at) for item in page.items] == [
        ("政策解读 — 稳经济一揽子措施", utc(2022, 10, 8, 2, 0)),
        ("第二条", None),
    ]


def test_gb2312_label_decoded_as_gb18030() -> None:
    page = parse_feed(
        read("rss_gb2312_label.xml"),
        "http://www.example.gov.cn/rss.xml",
        tz=SHANGHAI,
        content_type="text/xml; charset=gb2312",
    )
    assert [item.title for item in page.items] == ["朱镕基同志生平展在京开幕"]


def test_valid_feed_without_items_is_empty_not_an_error() -> None:
    doc = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    # text/xml without charset makes feedparser flag a harmless encoding override.
    page = parse_feed(doc, "https://x.cn/rss.xml", tz=SHANGHAI, content_type="text/xml")
    assert page == ListPage(items=[], next_url="")


class CountingHandler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b'<rss version="2.0"><channel><item><link>http://x/</link></item></channel></rss>'
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture()
def counting_server() -> Iterator[str]:
    CountingHandler.hits = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def test_parse_feed_never_fetches(counting_server: str) -> None:
    # Content that is itself a URL would be fetched by feedparser.parse(str).
    with pytest.raises(SourceError):
        parse_feed(counting_server.encode(), counting_server, tz=SHANGHAI)
    doc = b'<rss version="2.0"><channel><item><link>next.html</link></item></channel></rss>'
    page = parse_feed(doc, counting_server, tz=SHANGHAI)
    assert [item.url for item in page.items] == [counting_server.replace("feed.xml", "next.html")]
    assert CountingHandler.hits == 0


@pytest.mark.parametrize("kind", ["rss", "atom", "rdf"])
def test_a_huge_feed_is_read_only_as_far_as_the_limit(kind: str) -> None:
    """10,000 entries, 20 read: the document is cut after the entries herald reads."""
    rows = []
    for i in range(10_000):
        link = f"https://example.org/a/{i}.html"
        if kind == "atom":
            rows.append(
                f"<entry><title>第{i}篇</title><link href='{link}'/><id>{link}</id></entry>"
            )
        else:
            about = f" rdf:about='{link}'" if kind == "rdf" else ""
            rows.append(
                f"<item{about}><title>第{i}篇 <![CDATA[</item>]]></title><link>{link}</link></item>"
            )
    entries = "".join(rows)
    atom = "http://www.w3.org/2005/Atom"
    document = {
        "rss": f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{entries}"
        "</channel></rss>",
        "atom": f"<?xml version='1.0'?><feed xmlns='{atom}'><title>t</title>{entries}</feed>",
        "rdf": "<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
        f" xmlns='http://purl.org/rss/1.0/'><channel rdf:about='https://example.org/'><title>t</title>"
        f"</channel>{entries}</rdf:RDF>",
    }[kind].encode()
    started = datetime.now(UTC)
    page = parse_feed(document, "https://example.org/feed.xml", tz=UTC, limit=20)
    assert datetime.now(UTC) - started < timedelta(seconds=2)
    assert [item.url for item in page.items] == [
        f"https://example.org/a/{i}.html" for i in range(20)
    ]
