"""CMS family detection, feed discovery, the generic list heuristic and config output.

Pages in tests/data/detect/ are shaped like the real ones: Hanweb classic (datastore column
page, article page), Hanweb JPaaS, TRS WCM (index and article), a WordPress blog, and three
plain news-list layouts with menus, sidebars and footers around the list.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from worker.config import parse_config
from worker.models import ListSelectors
from worker.sources.detect import (
    CONVINCING,
    describe_config,
    detect_family,
    find_feed_links,
    find_markers,
    score_markers,
)
from worker.sources.guess import GuessedList, guess_list
from worker.sources.html import parse_list

DATA = Path(__file__).parent / "data" / "detect"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 10, 9, 12, 0, tzinfo=SHANGHAI)

HANWEB_COLUMN_URL = "https://www.kx.example.gov.cn/col/col1234/index.html"
HANWEB_ARTICLE_URL = "https://www.kx.example.gov.cn/art/2022/10/8/art_1234_5678.html"
JPAAS_URL = "https://www.cast.org.cn/col/col79/index.html"
TRS_INDEX_URL = "http://www.kjt.example.gov.cn/xwzx/tzgg/index.html"
TRS_ARTICLE_URL = "http://www.kjt.example.gov.cn/xwzx/tzgg/202210/t20221008_123456.html"
UL_URL = "https://www.xh.example.org.cn/tzgg/index.html"
TABLE_URL = "http://www.kx.example.gov.cn/html/tzgg/index.html"
DIV_URL = "https://www.kp.example.org.cn/kpdt/index.html"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def day(year: int, month: int, date: int) -> datetime:
    return datetime(year, month, date, tzinfo=SHANGHAI)


def guess(name: str, url: str) -> GuessedList:
    found = guess_list(read(name), url, tz=SHANGHAI, now=NOW)
    assert found is not None
    return found


def assert_reproduced(name: str, url: str, found: GuessedList) -> None:
    """parse_list with the guessed selectors reads exactly the guessed items."""
    listing = parse_list(read(name), url, found.selectors, tz=SHANGHAI, now=NOW)
    assert listing.items == found.items


# --- CMS families ------------------------------------------------------------------------


def test_hanweb_column_page_is_recognised_by_its_datastore() -> None:
    family, evidence = detect_family(read("hanweb_column.html"), HANWEB_COLUMN_URL)
    assert family == "hanweb"
    assert evidence[:2] == [
        'script type="text/xml" with <datastore>',
        "dataproxy.jsp in <nextgroup>",
    ]
    assert set(evidence[2:]) == {
        "URL /col/col1234/index.html",
        'meta Generator "大汉版通"',
        'meta Author "大汉网络"',
        "links like /art/2022/10/8/art_1234_5678.html",
        "Produced By 大汉网络",
        "scripts under /module/jslib/",
    }


def test_hanweb_column_list_is_not_visible_to_css_selectors() -> None:
    # The items sit in CDATA inside <script type="text/xml">: the generic heuristic sees none.
    assert guess_list(read("hanweb_column.html"), HANWEB_COLUMN_URL, tz=SHANGHAI, now=NOW) is None


def test_hanweb_article_page_is_recognised_by_url_and_generator() -> None:
    # The page also carries the government metas TRS pages use; Hanweb still wins.
    assert detect_family(read("hanweb_article.html"), HANWEB_ARTICLE_URL) == (
        "hanweb",
        [
            "URL /art/2022/10/8/art_1234_5678.html",
            'meta Generator "大汉版通"',
            '<meta name="ArticleTitle">',
            '<meta name="ContentSource">',
        ],
    )


def test_generator_meta_alone_is_not_convincing() -> None:
    family, evidence = detect_family(
        read("hanweb_article.html"), "https://mirror.example.org/page.html"
    )
    assert family is None
    assert evidence == [
        'meta Generator "大汉版通"',
        '<meta name="ArticleTitle">',
        '<meta name="ContentSource">',
    ]


def test_jpaas_wins_over_the_hanweb_marks_it_also_carries() -> None:
    html = read("jpaas_column.html")
    scores = score_markers(find_markers(html, JPAAS_URL))
    assert scores["hanweb"] >= CONVINCING  # on its own, the page would pass for classic Hanweb
    family, evidence = detect_family(html, JPAAS_URL)
    assert family == "jpaas"
    assert evidence[:2] == ['script parsetype="bulidstatic"', "jpaas-publish-server API"]
    assert 'meta Generator "大汉版通"' in evidence[2:]
    assert "URL /col/col79/index.html" in evidence[2:]


def test_trs_index_page_is_recognised_by_its_paging_call_and_links() -> None:
    # The inline createPageHTML definition comes first in the page; the call is what is shown.
    assert detect_family(read("trs_index.html"), TRS_INDEX_URL) == (
        "trs",
        ['createPageHTML(5, 0, "index", "html")', "links like ./202210/t20221008_123456.html"],
    )


def test_trs_article_page_is_recognised_by_editor_url_and_metas() -> None:
    assert detect_family(read("trs_article.html"), TRS_ARTICLE_URL) == (
        "trs",
        [
            "TRS_Editor",
            "URL /xwzx/tzgg/202210/t20221008_123456.html",
            "links like ../202209/t20220930_123401.html",
            '<meta name="ArticleTitle">',
            '<meta name="ContentSource">',
        ],
    )


def test_government_metas_alone_do_not_make_a_trs_page() -> None:
    html = (
        '<html><head><meta name="ArticleTitle" content="通知"><meta name="ContentSource" '
        'content="办公室"><meta name="PubDate" content="2022-10-08"></head><body></body></html>'
    )
    assert detect_family(html, "https://www.example.gov.cn/a/b.html") == (
        None,
        ['<meta name="ArticleTitle">', '<meta name="ContentSource">'],
    )


def test_wordpress_blog_has_no_family_and_one_feed() -> None:
    html = read("wordpress_blog.html")
    assert detect_family(html, "https://blog.example.org/") == (None, [])
    assert find_feed_links(html, "https://blog.example.org/") == ["https://blog.example.org/feed/"]


def test_feed_links_are_absolute_typed_and_in_order() -> None:
    html = """<html><head>
    <base href="https://news.example.org/zh/">
    <link rel="alternate" type="application/atom+xml" href="atom.xml">
    <link rel="stylesheet" type="text/css" href="site.css">
    <link rel="alternate" hreflang="en" type="text/html" href="/en/">
    <link rel="Alternate" type="application/rss+xml; charset=utf-8" href="/rss.xml">
    <link rel="alternate" type="application/json" href="/wp-json/wp/v2/posts/42">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="alternate" type="application/rss+xml" href="atom.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    </head><body><link rel="alternate" type="application/json" href="//cdn.example.org/f.json">
    </body></html>"""
    assert find_feed_links(html, "https://news.example.org/zh/index.html") == [
        "https://news.example.org/zh/atom.xml",
        "https://news.example.org/rss.xml",
        "https://news.example.org/zh/feed.json",
        "https://cdn.example.org/f.json",
    ]


# --- the generic list heuristic ----------------------------------------------------------


def test_guess_ul_list_with_span_dates() -> None:
    found = guess("list_ul_span.html", UL_URL)
    assert found.selectors == ListSelectors(
        item="div.news-list li", link="a", title="a", date="span", next="a.next"
    )
    assert len(found.items) == 8
    assert [item.title for item in found.items[:3]] == [
        "关于召开中国某某学会第十一次全国会员代表大会的通知",  # from the title attribute
        "关于推荐2023年度学会科学技术奖候选人的通知",
        "2022年学术年会会议日程（第二轮通知）",
    ]
    assert found.items[0].url == "https://www.xh.example.org.cn/tzgg/2022/1008/c101.html"
    assert found.items[-1].title == "学会秘书处办公地址变更公告"  # the li with class "last"
    assert [item.published_at for item in found.items] == [
        day(2022, 10, 8),
        day(2022, 10, 7),
        day(2022, 9, 30),
        day(2022, 9, 28),
        day(2022, 9, 21),
        day(2022, 9, 15),
        day(2022, 9, 9),
        day(2022, 9, 1),
    ]
    assert_reproduced("list_ul_span.html", UL_URL, found)
    listing = parse_list(read("list_ul_span.html"), UL_URL, found.selectors, tz=SHANGHAI, now=NOW)
    assert listing.next_url == "https://www.xh.example.org.cn/tzgg/index_2.html"


def test_guess_table_rows_with_date_column() -> None:
    found = guess("list_table.html", TABLE_URL)
    assert found.selectors == ListSelectors(
        item="table.list tr",
        link="a",
        title="a",
        date="td:last-child",
        next='div#pager a:contains("下页")',
    )
    assert [(item.title, item.published_at) for item in found.items] == [
        ("关于开展2022年全国科普日活动总结表彰的通知", day(2022, 10, 8)),
        ("市科协关于国庆节放假安排的通知", day(2022, 9, 30)),
        ("关于举办第八届青少年科技创新大赛的通知", day(2022, 9, 26)),
        ("关于推荐市级学会优秀学术论文的通知", day(2022, 9, 19)),
        ("市科协机关2022年度公开招聘工作人员公告", day(2022, 9, 9)),
    ]
    assert found.items[0].url == "http://www.kx.example.gov.cn/html/tzgg/2022/10/202210081021.html"
    assert_reproduced("list_table.html", TABLE_URL, found)
    listing = parse_list(read("list_table.html"), TABLE_URL, found.selectors, tz=SHANGHAI, now=NOW)
    assert listing.next_url == "http://www.kx.example.gov.cn/html/tzgg/index_2.html"


def test_guess_div_items_with_chinese_dates_beats_menus_sidebar_and_footer() -> None:
    # Around the list: a 14-link menu, a 12-item dated sidebar of topic index pages (it would
    # outscore the list on size alone) and a footer of links to other sites. None may win.
    found = guess("list_div_item.html", DIV_URL)
    assert found.selectors == ListSelectors(
        item="div.news-list div.item", link="a", title="a", date="em", next=""
    )
    assert [(item.title, item.published_at) for item in found.items] == [
        ("全省科普日主场活动在省科技馆举行 万余名群众走进科学殿堂", day(2022, 10, 8)),
        ("“科技列车”开进山区县 专家送技术到田间地头", day(2022, 10, 5)),
        ("青少年航天科普讲座走进二十所中小学", day(2022, 9, 29)),
        ("省科协发布十大科普图书推荐书目", day(2022, 9, 22)),
        ("应急科普进社区：防灾减灾知识宣传周启动", day(2022, 9, 16)),
        ("科普志愿者队伍新增注册志愿者三千余人", day(2022, 9, 2)),
    ]
    assert found.items[1].url == "https://www.kp.example.org.cn/kpdt/2022-10/05/content_8996.html"
    assert_reproduced("list_div_item.html", DIV_URL, found)


def test_guess_plain_list_on_a_trs_index_page() -> None:
    found = guess("trs_index.html", TRS_INDEX_URL)
    assert found.selectors == ListSelectors(
        item="ul.list li", link="a", title="a", date="span", next=""
    )
    assert [item.url for item in found.items][::4] == [
        "http://www.kjt.example.gov.cn/xwzx/tzgg/202210/t20221008_123456.html",
        "http://www.kjt.example.gov.cn/xwzx/tzgg/202209/t20220926_123370.html",
    ]
    assert_reproduced("trs_index.html", TRS_INDEX_URL, found)


def test_page_without_a_list_gives_none() -> None:
    # Two dated "related" links are not a list; the menu has no dates.
    assert guess_list(read("no_list.html"), UL_URL, tz=SHANGHAI, now=NOW) is None
    assert guess_list("", UL_URL, tz=SHANGHAI, now=NOW) is None


def test_guess_prefers_same_site_links_over_a_longer_list_to_other_sites() -> None:
    others = "".join(
        f'<li><a href="https://site{n}.example.net/news/{n}.html">兄弟单位新闻标题第{n}条内容较长</a>'
        f"<span>2022-10-0{n}</span></li>"
        for n in range(1, 8)
    )
    ours = "".join(
        f'<li><a href="/news/{n}.html">本站新闻第{n}条</a><span>2022-09-2{n}</span></li>'
        for n in range(1, 4)
    )
    html = f'<html><body><ul class="ours">{ours}</ul><ul class="others">{others}</ul></body></html>'
    found = guess_list(html, "https://www.example.org.cn/", tz=SHANGHAI, now=NOW)
    assert found is not None
    assert found.selectors.item == "ul.ours li"
    assert [item.url for item in found.items] == [
        f"https://www.example.org.cn/news/{n}.html" for n in range(1, 4)
    ]


def test_guess_picks_the_title_link_over_a_category_link() -> None:
    rows = "".join(
        f'<p><a class="cat" href="/col/tz/">[通知]</a><a class="t" href="/b/{n}.html">'
        f"另一种列表的第{n}条标题</a><span>[10-0{n}]</span></p>"
        for n in range(1, 5)
    )
    html = f'<html><body><div class="lst">{rows}</div><a href="?page=2">Next ›</a></body></html>'
    found = guess_list(html, "https://x.example.com/list.html", tz=SHANGHAI, now=NOW)
    assert found is not None
    assert found.selectors == ListSelectors(
        item="div.lst p", link="a.t", title="a.t", date="span", next='a:contains("Next ›")'
    )
    assert [item.url for item in found.items] == [
        f"https://x.example.com/b/{n}.html" for n in range(1, 5)
    ]
    assert [item.published_at for item in found.items] == [day(2022, 10, n) for n in range(1, 5)]
    listing = parse_list(html, "https://x.example.com/list.html", found.selectors, tz=SHANGHAI)
    assert listing.next_url == "https://x.example.com/list.html?page=2"


def test_guess_reads_a_date_written_in_the_item_itself() -> None:
    html = (
        '<html><body><ul id="list">'
        '<li><a href="/a/1.html">第一篇文章的完整标题</a> 2022-10-08</li>'
        '<li><a href="/a/2.html">第二篇文章的完整标题</a> 2022年10月7日</li>'
        '<li><a href="/a/3.html">第三篇文章的完整标题</a> (2022-10-06)</li>'
        "</ul></body></html>"
    )
    found = guess_list(html, "https://x.example.com/", tz=SHANGHAI, now=NOW)
    assert found is not None
    # The item's own tag as date selector: parse_list matches the item itself.
    assert found.selectors == ListSelectors(item="ul#list li", link="a", title="a", date="li")
    assert [item.published_at for item in found.items] == [
        day(2022, 10, 8),
        day(2022, 10, 7),
        day(2022, 10, 6),
    ]
    assert parse_list(html, "https://x.example.com/", found.selectors, tz=SHANGHAI).items == (
        found.items
    )


# --- config output -----------------------------------------------------------------------


def test_describe_config_round_trips_awkward_values() -> None:
    selectors = ListSelectors(
        item='div[class="news list"] li',
        link="a",
        title="a",
        date="td:last-child",
        next='div.page a:contains("下一页")',
    )
    url = 'https://www.example.gov.cn/col/"quoted"\\path\\index.html?a=1&b=「二」'
    text = describe_config({
        "name": '科协 工作案例\t"甲"\n', "url": url, "kind": "auto",
        "list": {k: getattr(selectors, k) for k in ("item", "link", "title", "date", "next")},
        "article": {"body": "#zoom, .bt_content"},
    })  # fmt: skip
    assert tomllib.loads(text) == {
        "sources": [
            {
                "name": '科协 工作案例\t"甲"\n',
                "url": url,
                "kind": "auto",
                "list": {
                    "item": 'div[class="news list"] li',
                    "link": "a",
                    "title": "a",
                    "date": "td:last-child",
                    "next": 'div.page a:contains("下一页")',
                },
                "article": {"body": "#zoom, .bt_content"},
            }
        ]
    }
    assert "科协 工作案例" in text  # Chinese kept readable, not \u-escaped


def test_describe_config_without_selectors_is_a_bare_source() -> None:
    text = describe_config(
        {"name": "cast-news", "url": "https://www.cast.org.cn/col/col79/index.html",
         "kind": "jpaas"}
    )  # fmt: skip
    assert text.startswith("[[sources]]\n")
    assert tomllib.loads(text) == {
        "sources": [
            {
                "name": "cast-news",
                "url": "https://www.cast.org.cn/col/col79/index.html",
                "kind": "jpaas",
            }
        ]
    }


def test_guessed_block_is_a_valid_herald_source() -> None:
    found = guess("list_table.html", TABLE_URL)
    assert found.selectors is not None
    values = {"name": "kx-notices", "url": TABLE_URL, "kind": "html",
              "list": {k: getattr(found.selectors, k) for k in ("item", "link", "title", "date",
                                                               "next")},
              "article": {"body": "#zoom"}}  # fmt: skip
    text = describe_config(values)
    config = parse_config(tomllib.loads(text))
    source = config.sources[0]
    assert (source.name, source.url, source.kind) == ("kx-notices", TABLE_URL, "html")
    assert source.list == found.selectors
    assert source.article is not None and source.article.body == "#zoom"
    listing = parse_list(read("list_table.html"), TABLE_URL, source.list, tz=SHANGHAI, now=NOW)
    assert listing.items == found.items
