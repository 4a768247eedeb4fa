"""HTML list page parsers: golden column pages in tests/data/sources/ and small pages →
Discovered items (URLs, titles, dates, the next page), and selector mistakes as config errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.models import ListSelectors
from worker.sources.base import ListPage, SourceError
from worker.sources.html import parse_list

DATA = Path(__file__).parent / "data" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMN_URL = "https://www.cast.org.cn/gzdt/index.html"
COLUMN_SELECTORS = ListSelectors(
    item="div.news-list div.item", link="a", title="a", date="em", next="div.page a.next"
)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


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
