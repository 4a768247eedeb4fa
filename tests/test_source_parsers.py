"""Feed and HTML list parsers: golden documents in tests/data/sources/ → Discovered items."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.models import ListSelectors
from worker.sources.base import ListPage, SourceError
from worker.sources.feed import parse_feed
from worker.sources.html import parse_list

DATA = Path(__file__).parent / "data" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMN_URL = "https://www.cast.org.cn/gzdt/index.html"
COLUMN_SELECTORS = ListSelectors(
    item="div.news-list div.item", link="a", title="a", date="em", next="div.page a.next"
)


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


# --- HTML list pages ---------------------------------------------------------------------


def parse_column(selectors: ListSelectors = COLUMN_SELECTORS, url: str = COLUMN_URL) -> ListPage:
    html = read("column.html").decode("utf-8")
    return parse_list(html, url, selectors, tz=SHANGHAI, now=datetime(2022, 10, 9, tzinfo=SHANGHAI))


def test_column_items_urls_titles_dates() -> None:
    page = parse_column()
    assert [(item.url, item.title) for item in page.items] == [
        (
            "https://www.cast.org.cn/art/2022/10/8/art_1_5678.html",
            "关于深化科技社团改革推动学会高质量发展的若干意见（征求意见稿）",
        ),
        ("https://www.cast.org.cn/art/2022/10/7/art_1_5677.html", "科协系统学习贯彻会议精神"),
        ("https://gg.cast.org.cn/art/2022/9/30/art_1_5670.html", "国庆假期值班安排表（全文）"),
        ("https://www.cast.org.cn/art/2022/9/27/art_1_5660.html", "没有日期的条目"),
    ]
    dates = [item.published_at for item in page.items]
    assert dates == [
        datetime(2022, 10, 8, tzinfo=SHANGHAI),
        datetime(2022, 10, 7, tzinfo=SHANGHAI),
        datetime(2022, 9, 30, tzinfo=SHANGHAI),
        None,
    ]
    assert page.items[0].published_at is not None
    assert page.items[0].published_at.utcoffset() == timedelta(hours=8)
    assert page.next_url == "https://www.cast.org.cn/gzdt/index_2.html"


def test_column_title_defaults_to_link_and_year_is_inferred() -> None:
    html = (
        '<ul class="list"><li><a href="t20221008_1.html" title="完整的标题全文">完整的标题...</a>'
        "<span>[10-08]</span></li><li><a href='t20220102_2.html'>一月的通知</a>"
        "<span>【01-02】</span></li></ul>"
    )
    selectors = ListSelectors(item="ul.list li", date="span")
    page = parse_list(
        html,
        "http://www.example.gov.cn/tzgg/",
        selectors,
        tz=SHANGHAI,
        now=datetime(2023, 1, 5, tzinfo=SHANGHAI),
    )
    assert [(item.url, item.title, item.published_at) for item in page.items] == [
        (
            "http://www.example.gov.cn/tzgg/t20221008_1.html",
            "完整的标题全文",
            datetime(2022, 10, 8, tzinfo=SHANGHAI),
        ),
        (
            "http://www.example.gov.cn/tzgg/t20220102_2.html",
            "一月的通知",
            datetime(2023, 1, 2, tzinfo=SHANGHAI),
        ),
    ]


def test_item_that_is_itself_the_link() -> None:
    html = (
        '<base href="https://www.example.gov.cn/zwgk/"><ul><li><a href="a1.html">甲</a></li>'
        '<li><a href="mailto:x@example.gov.cn">邮件</a></li><li><a href="#">空</a></li>'
        '<li><a href="sub/a2.html#p3">乙</a></li></ul>'
    )
    for link in ("", "a", "span.nothing"):
        page = parse_list(
            html,
            "https://www.example.gov.cn/",
            ListSelectors(item="ul li a", link=link),
            tz=SHANGHAI,
        )
        assert [(item.url, item.title) for item in page.items] == [
            ("https://www.example.gov.cn/zwgk/a1.html", "甲"),
            ("https://www.example.gov.cn/zwgk/sub/a2.html", "乙"),
        ], link


def test_next_link_to_the_same_page_or_javascript_is_ignored() -> None:
    selectors = ListSelectors(item="div.news-list div.item", next="div.page a.prev")
    assert (
        parse_column(selectors, url="https://www.cast.org.cn/gzdt/index.html#list").next_url == ""
    )
    html = (
        '<div class="item"><a href="a.html">x</a></div>'
        '<a class="next" href="javascript:go(2)">下一页</a>'
    )
    page = parse_list(html, COLUMN_URL, ListSelectors(item="div.item", next="a.next"), tz=SHANGHAI)
    assert page.next_url == ""
    assert [item.url for item in page.items] == ["https://www.cast.org.cn/gzdt/a.html"]


@pytest.mark.parametrize(
    "selectors",
    [
        ListSelectors(item="div.news-list >> div"),
        ListSelectors(item="div.item", link="a[href"),
        ListSelectors(item="div.item", next="a:nosuchpseudo"),
        ListSelectors(item="  "),
    ],
)
def test_invalid_selector_is_a_config_error(selectors: ListSelectors) -> None:
    with pytest.raises(SourceError) as caught:
        parse_column(selectors)
    assert caught.value.reason == "config"
    assert str(caught.value).startswith("html: invalid selector")


def test_no_match_gives_an_empty_page() -> None:
    page = parse_column(ListSelectors(item="table.articles tr", next="a.no-such-link"))
    assert page == ListPage(items=[], next_url="")
    assert parse_list("", COLUMN_URL, COLUMN_SELECTORS, tz=SHANGHAI) == ListPage(items=[])


def test_xhtml_declaration_is_tolerated() -> None:
    html = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html><body><div class="item"><a href="/x.html">标题</a></div></body></html>'
    )
    page = parse_list(html, COLUMN_URL, ListSelectors(item="div.item"), tz=SHANGHAI)
    assert [(item.url, item.title) for item in page.items] == [
        ("https://www.cast.org.cn/x.html", "标题")
    ]


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


def test_a_list_after_a_premature_html_end_tag_is_read() -> None:
    """Some themes close ``</html>`` after the head; browsers read on, and so must herald."""
    html = (
        "<html><head><title>栏目</title></head></html>\n<body><ul>"
        '<li class="item"><a href="/a/1.html">第一条</a><span>2022-10-08</span></li>'
        '<li class="item"><a href="/a/2.html">第二条</a><span>2022-10-07</span></li>'
        "</ul></body></html>"
    )
    page = parse_list(html, COLUMN_URL, ListSelectors(item="li.item", date="span"), tz=SHANGHAI)
    assert [item.title for item in page.items] == ["第一条", "第二条"]
