"""Article extraction against golden pages of the Hanweb, JPaaS and TRS families and others; the
HTML hygiene it relies on (worker.sanitize) is tested in tests/test_sanitize.py."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from worker.extract import ExtractError, extract_article
from worker.models import ArticleSelectors, Extracted
from worker.sanitize import (
    make_summary,
)

DATA = Path(__file__).parent / "data" / "extract"
GOLDEN = sorted(path.name.removesuffix(".expected.json") for path in DATA.glob("*.expected.json"))
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2023, 1, 2, 12, 0, tzinfo=SHANGHAI)
URL = "https://www.example.gov.cn/art/2022/10/8/art_1_2.html"


def load_golden(name: str) -> tuple[str, dict[str, Any]]:
    html = (DATA / f"{name}.html").read_text(encoding="utf-8")
    expected = json.loads((DATA / f"{name}.expected.json").read_text(encoding="utf-8"))
    return html, expected


def run_golden(name: str) -> tuple[Extracted, dict[str, Any]]:
    html, expected = load_golden(name)
    selectors = ArticleSelectors(**expected["selectors"]) if "selectors" in expected else None
    fallback_date = expected.get("fallback_date")
    result = extract_article(
        html,
        expected["url"],
        tz=ZoneInfo(expected["tz"]),
        selectors=selectors,
        fallback_title=expected.get("fallback_title", ""),
        fallback_date=datetime.fromisoformat(fallback_date) if fallback_date else None,
        now=NOW,
    )
    return result, expected


def page(body: str, head: str = "") -> str:
    return f"<html><head><title>测试页面</title>{head}</head><body>{body}</body></html>"


def test_golden_set_covers_the_cms_families() -> None:
    assert len(GOLDEN) >= 6
    hanweb, _ = load_golden("hanweb_cast_work_case")
    assert '<meta name="Generator" content="大汉版通"' in hanweb
    assert "Produced By 大汉网络 大汉版通发布系统" in hanweb


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_page_fields(name: str) -> None:
    result, expected = run_golden(name)
    assert result.url == expected["url"]
    assert result.title == expected["title"]
    published = result.published_at.isoformat() if result.published_at else None
    assert published == expected["published"]
    assert result.author == expected["author"]
    assert list(result.images) == expected["images"]


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_page_text(name: str) -> None:
    result, expected = run_golden(name)
    for fragment in expected["text_contains"]:
        assert fragment in result.text, fragment
    for fragment in expected["text_excludes"]:
        assert fragment not in result.text, fragment
    for fragment in expected.get("html_contains", []):
        assert fragment in result.content_html, fragment
    assert result.summary == make_summary(result.text)
    assert 0 < len(result.summary) <= 201


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_body_is_safe_with_absolute_urls(name: str) -> None:
    result, _ = run_golden(name)
    html = result.content_html
    assert "<script" not in html
    assert "<style" not in html
    assert "javascript:" not in html
    assert re.search(r"\son\w+\s*=", html) is None
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    for element, attribute in [(a, "href") for a in fragment.iter("a")] + [
        (img, "src") for img in fragment.iter("img")
    ]:
        assert element.get(attribute, "").startswith(("http://", "https://", "mailto:"))


def test_hanweb_page_keeps_the_whole_seed_article() -> None:
    result, _ = run_golden("hanweb_cast_work_case")
    paragraphs = result.text.split("\n\n")
    assert paragraphs[0] == "“能听懂”“接地气”“作用大”……"
    assert paragraphs[-1].startswith("“我们力争通过5年时间")
    assert len(paragraphs) == 26
    assert result.summary.startswith("“能听懂”“接地气”“作用大”…… 几天前，")
    assert result.summary.endswith("…")


def test_script_event_handler_and_javascript_link_are_removed_from_the_body() -> None:
    html = page(
        '<div id="zoom"><p>正文第一段，<a href="../list/index.html">相对链接</a>，'
        '<a href="javascript:openWin(1)">脚本链接</a>。</p>'
        '<p><img src="pic/a.jpg" onerror="alert(1)" onload="steal()"></p>'
        "<script>document.write('注入内容')</script>"
        '<p onclick="alert(2)" style="color:red">第二段。</p></div>'
    )
    result = extract_article(html, URL, tz=SHANGHAI, now=NOW)
    assert "<script" not in result.content_html
    assert "注入内容" not in result.text
    assert "onerror" not in result.content_html
    assert "onclick" not in result.content_html
    assert "style=" not in result.content_html
    assert "javascript:" not in result.content_html
    assert "脚本链接" not in result.text
    assert '<a href="https://www.example.gov.cn/art/2022/10/list/index.html"' in result.content_html
    assert result.images == ("https://www.example.gov.cn/art/2022/10/8/pic/a.jpg",)
    assert result.text == "正文第一段，相对链接，。\n\n第二段。"


@pytest.mark.parametrize(
    "container",
    [
        '<div id="zoom">{}</div>',
        '<div class="TRS_Editor">{}</div>',
        '<div id="UCAP-CONTENT">{}</div>',
        '<div class="bt_content">{}</div>',
        '<div class="article-content">{}</div>',
        "<article>{}</article>",
    ],
)
def test_known_cms_containers_are_used_as_the_body(container: str) -> None:
    body = container.format("<p>容器里的正文段落。</p>")
    html = page(f'<div class="side"><p>侧栏推荐内容</p></div>{body}<div>页脚文字</div>')
    result = extract_article(html, URL, tz=SHANGHAI, now=NOW)
    assert result.text == "容器里的正文段落。"


def test_configured_body_selector_wins_over_known_containers() -> None:
    html = page('<div id="zoom"><p>旧模板残留</p></div><div class="text"><p>真正文。</p></div>')
    selectors = ArticleSelectors(body=".text")
    result = extract_article(html, URL, tz=SHANGHAI, selectors=selectors, now=NOW)
    assert result.text == "真正文。"


def test_a_selector_that_matches_nothing_falls_back_to_known_containers() -> None:
    html = page('<div id="zoom"><p>正文。</p></div>')
    selectors = ArticleSelectors(body=".missing", title=".missing", date=".missing")
    result = extract_article(html, URL, tz=SHANGHAI, selectors=selectors, now=NOW)
    assert result.text == "正文。"
    assert result.title == "测试页面"


def test_bad_selector_is_an_extract_error() -> None:
    html = page('<div id="zoom"><p>正文。</p></div>')
    with pytest.raises(ExtractError, match=r"^extract: bad CSS selector"):
        extract_article(html, URL, tz=SHANGHAI, selectors=ArticleSelectors(body="div[["))


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<html><head><title>空</title></head><body></body></html>",
        page('<div id="zoom"></div>'),
    ],
)
def test_page_without_a_body_raises_extract_error(html: str) -> None:
    with pytest.raises(ExtractError, match=r"^extract: "):
        extract_article(html, URL, tz=SHANGHAI, now=NOW)


def test_date_line_keeps_source_apart_from_date() -> None:
    html = page(
        "<h1>重庆市科协召开推进示范区建设工作会议</h1>"
        "<div>来源：重庆市科协 发布时间：2022-10-08 10:21 浏览次数：56</div>"
        '<div id="zoom"><p>2020年12月14日，会议召开。</p></div>'
    )
    result = extract_article(html, URL, tz=SHANGHAI, now=NOW)
    assert result.author == "重庆市科协"
    assert result.published_at == datetime(2022, 10, 8, 10, 21, tzinfo=SHANGHAI)
    assert result.title == "重庆市科协召开推进示范区建设工作会议"


def test_the_date_under_the_title_beats_a_meta_of_another_day_and_body_dates_are_never_used() -> (
    None
):
    """A real Hanweb page's PubDate meta said 2021-04-09 10:21 where its 发布时间 line showed
    2021-04-07: the date the page shows wins; a meta on the same day gives it its time."""
    head = '<meta name="PubDate" content="2022-10-09 09:30">'
    html = page(
        '<h1>标题</h1><div>发布时间：2022-10-07</div><div id="zoom"><p>正文。</p></div>', head
    )
    result = extract_article(html, URL, tz=SHANGHAI, now=NOW)
    assert result.published_at == datetime(2022, 10, 7, tzinfo=SHANGHAI)
    assert result.published_evidence is not None
    assert result.published_evidence.rule == "label:发布时间"
    same_day = html.replace("2022-10-09 09:30", "2022-10-07 09:30")
    result = extract_article(same_day, URL, tz=SHANGHAI, now=NOW)
    assert result.published_at == datetime(2022, 10, 7, 9, 30, tzinfo=SHANGHAI)
    body_only = page('<h1>标题</h1><div id="zoom"><p>2020年12月14日，会议召开。</p></div>')
    result = extract_article(body_only, "https://www.example.gov.cn/p/9.html", tz=SHANGHAI, now=NOW)
    assert result.published_at is None


def test_the_url_date_is_the_last_resort() -> None:
    body_only = page('<h1>标题</h1><div id="zoom"><p>2020年12月14日，会议召开。</p></div>')
    result = extract_article(body_only, URL, tz=SHANGHAI, now=NOW)  # /art/2022/10/8/
    assert result.published_at == datetime(2022, 10, 8, tzinfo=SHANGHAI)
    assert result.published_evidence is not None and result.published_evidence.rule == "url"


def test_fallback_date_is_used_when_the_page_has_none() -> None:
    fallback = datetime(2022, 10, 8, tzinfo=SHANGHAI)
    html = page('<h1>标题</h1><div id="zoom"><p>正文。</p></div>')
    result = extract_article(html, URL, tz=SHANGHAI, fallback_date=fallback, now=NOW)
    assert result.published_at == fallback


def test_yearless_date_line_uses_now_for_the_year() -> None:
    html = page('<h1>标题</h1><div>发布时间：12-30</div><div id="zoom"><p>正文。</p></div>')
    result = extract_article(html, URL, tz=SHANGHAI, now=NOW)
    assert result.published_at == datetime(2022, 12, 30, tzinfo=SHANGHAI)


def test_titles_follow_meta_then_h1_then_title_tag_then_fallback() -> None:
    body = '<h1>页面大标题</h1><div id="zoom"><p>正文。</p></div>'
    meta = '<meta name="ArticleTitle" content="元数据标题">'
    assert extract_article(page(body, meta), URL, tz=SHANGHAI).title == "元数据标题"
    og = '<meta property="og:title" content="OG 标题">'
    assert extract_article(page(body, og), URL, tz=SHANGHAI).title == "OG 标题"
    assert extract_article(page(body), URL, tz=SHANGHAI).title == "页面大标题"
    no_h1 = "<html><head><title>关于开展科普日活动的通知_通知公告_某市科协</title></head>"
    no_h1 += '<body><div id="zoom"><p>正文。</p></div></body></html>'
    assert extract_article(no_h1, URL, tz=SHANGHAI).title == "关于开展科普日活动的通知"
    untitled = '<html><body><div id="zoom"><p>正文。</p></div></body></html>'
    result = extract_article(untitled, URL, tz=SHANGHAI, fallback_title="列表页标题")
    assert result.title == "列表页标题"


def test_truncated_list_title_prefers_the_longer_title() -> None:
    body = '<div id="zoom"><p>正文。</p></div>'
    full = page(f"<h1>关于开展2022年全国科普日活动的通知</h1>{body}")
    result = extract_article(full, URL, tz=SHANGHAI, fallback_title="关于开展2022年...")
    assert result.title == "关于开展2022年全国科普日活动的通知"
    generic = page(f"<h1>通知公告</h1>{body}")
    result = extract_article(generic, URL, tz=SHANGHAI, fallback_title="关于开展2022年全国科普…")
    assert result.title == "关于开展2022年全国科普…"
    not_truncated = extract_article(generic, URL, tz=SHANGHAI, fallback_title="列表标题")
    assert not_truncated.title == "通知公告"


def test_cms_vendor_in_meta_author_is_not_an_author() -> None:
    head = '<meta name="Author" content="大汉网络"><meta name="ContentSource" content="中国科协">'
    result = extract_article(page('<div id="zoom"><p>正文。</p></div>', head), URL, tz=SHANGHAI)
    assert result.author == "中国科协"


def test_widgets_inside_the_body_are_removed() -> None:
    html = page(
        '<div id="zoom"><p>正文开始。</p>'
        '<div>【字体：<a href="javascript:doZoom(16)">大</a> <a href="javascript:doZoom(14)">中</a>'
        ' <a href="javascript:doZoom(12)">小</a>】</div>'
        '<p>正文结束。</p><div class="bdsharebuttonbox">分享到：微信 微博</div>'
        "<p>【打印本页】【关闭窗口】</p><p>上一篇：某某通知</p>"
        "<table><tr><td>风险</td><td>中</td></tr></table></div>"
    )
    result = extract_article(html, URL, tz=SHANGHAI)
    assert result.text == "正文开始。\n\n正文结束。\n\n风险 中"


def test_xml_illegal_characters_never_reach_the_result() -> None:
    html = page('<h1>标\x01题</h1><div id="zoom"><p>正\x0b文\ufffe。</p></div>')
    result = extract_article(html, URL, tz=SHANGHAI)
    assert result.title == "标题"
    assert result.text == "正文。"


YEARLESS_PAGE = """<html><head><title>关于开展科普月活动的通知</title></head><body>
<h1>关于开展科普月活动的通知</h1><div class="info">发布时间：10-08 09:30 来源：科协</div>
<div id="zoom"><p>为深入贯彻落实全民科学素质行动规划纲要，现就开展科普月活动有关事项通知如下。</p>
<p>各单位要高度重视，认真组织，确保活动取得实效。</p></div></body></html>"""


def test_a_date_without_its_year_is_never_given_the_current_year() -> None:
    """An old page showing only 10-08 used to become 10-08 of this year."""
    now = datetime(2026, 12, 6, tzinfo=SHANGHAI)
    unproven = extract_article(YEARLESS_PAGE, "https://www.example.gov.cn/p/123.html",
                               tz=SHANGHAI, now=now)  # fmt: skip
    assert unproven.published_at is None
    proven = extract_article(YEARLESS_PAGE, "https://www.example.gov.cn/art/2019/10/8/art_1_9.html",
                             tz=SHANGHAI, now=now)  # fmt: skip
    assert proven.published_at == datetime(2019, 10, 8, 9, 30, tzinfo=SHANGHAI)
    listed = datetime(2019, 10, 8, tzinfo=SHANGHAI)  # a list's day still fills in
    fallback = extract_article(YEARLESS_PAGE, "https://www.example.gov.cn/p/123.html",
                               tz=SHANGHAI, now=now, fallback_date=listed)  # fmt: skip
    assert fallback.published_at == listed


def test_a_date_in_the_future_of_the_fetch_is_no_publication_date() -> None:
    page = YEARLESS_PAGE.replace(
        "发布时间：10-08 09:30", "有效期至：2031-12-31 发布日期：2021-03-05"
    )
    now = datetime(2026, 12, 6, tzinfo=SHANGHAI)
    found = extract_article(page, "https://www.example.gov.cn/p/1.html", tz=SHANGHAI, now=now)
    assert found.published_at is not None and found.published_at.year == 2021
    future_only = YEARLESS_PAGE.replace("发布时间：10-08 09:30", "发布时间：2031-05-01")
    none = extract_article(future_only, "https://www.example.gov.cn/p/1.html", tz=SHANGHAI, now=now)
    assert none.published_at is None


def test_a_feed_entry_title_is_not_replaced_by_the_page_heading() -> None:
    page = (
        "<html><body><h1>t</h1><div id='zoom'><p>" + "正文内容。" * 30 + "</p></div></body></html>"
    )
    url = "https://blog.example.org/post/1.html"
    real = "关于科普月的真实标题"
    from_feed = extract_article(
        page, url, tz=SHANGHAI, now=NOW, fallback_title=real, trust_fallback_title=True
    )
    assert from_feed.title == "关于科普月的真实标题"
    cut = extract_article(page.replace("<h1>t</h1>", "<h1>关于科普月的真实标题全文</h1>"), url,
                          tz=SHANGHAI, now=NOW, fallback_title="关于科普月的真实…",
                          trust_fallback_title=True)  # fmt: skip
    assert cut.title == "关于科普月的真实标题全文"  # a truncated entry title is filled in


def test_an_og_title_cut_short_by_a_quote_loses_to_the_heading() -> None:
    page = (
        '<html><head><meta property="og:title" content="关于印发"十四五"规划的通知"></head>'
        "<body><h1>关于印发“十四五”规划的通知</h1><div id='zoom'><p>"
        + "正文内容。" * 30
        + "</p></div></body></html>"
    )
    found = extract_article(page, "https://www.example.gov.cn/p/2.html", tz=SHANGHAI, now=NOW)
    assert found.title == "关于印发“十四五”规划的通知"


def test_wechat_article_time_comes_from_its_script() -> None:
    page = (
        '<html><body><h1 id="activity-name">科普月启动</h1><em id="publish_time">昨天</em>'
        '<div id="js_content"><p>' + "正文内容。" * 30 + "</p></div>"
        '<script>var ct = "1665216000"; var x = 1;</script></body></html>'
    )
    found = extract_article(page, "https://mp.weixin.qq.com/s/abc", tz=SHANGHAI, now=NOW)
    assert found.published_at == datetime(2022, 10, 8, 16, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("meta", ['name="firstpublishedtime"', 'itemprop="dateUpdate"',
                                  'name="publishtime"'])  # fmt: skip
def test_more_date_metas_are_read(meta: str) -> None:
    page = (
        f'<html><head><meta {meta} content="2021-06-01 10:20:00"></head><body><h1>标题</h1>'
        "<div id='zoom'><p>" + "正文内容。" * 30 + "</p></div></body></html>"
    )
    found = extract_article(page, "https://www.example.com/p/1.html", tz=SHANGHAI, now=NOW)
    assert found.published_at == datetime(2021, 6, 1, 10, 20, tzinfo=SHANGHAI)


def test_a_body_after_a_premature_html_end_tag_is_read() -> None:
    """A Hexo theme writes ``</head></html><body>``: the body must not be lost with it."""
    paragraphs = "".join(
        f"<p>第{i}段：这里是一段足够长的正文内容，用来确认正文被完整读取。</p>" for i in range(6)
    )
    html = (
        "<!DOCTYPE html><html><head><title>一篇文章 | 博客</title></head>\n</html>\n"
        f'<body><article><h1>一篇文章</h1><time datetime="2019-06-29">2019-06-29</time>'
        f"{paragraphs}</article></body></html>"
    )
    page = extract_article(
        html, "https://blog.example.org/2019/06/29/post/", tz=ZoneInfo("Asia/Shanghai")
    )
    assert page.title == "一篇文章"
    assert page.published_at is not None and page.published_at.date().isoformat() == "2019-06-29"
    assert "第0段" in page.text and "第5段" in page.text
