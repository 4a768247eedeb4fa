"""Titles (``worker.article_meta``): section names and site names never become titles; a heading
inside the body is a sub-heading."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from worker.extract import extract_article

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "关于开展2022年全国科普日活动的通知"
BODY = "<div id='zoom'><p>" + "各有关单位：现将活动安排通知如下。" * 10 + "</p></div>"


@pytest.mark.parametrize(
    ("head", "shown"),
    [
        (f"<title>新闻动态-{TITLE}</title>", f"<table><tr><td>{TITLE}</td></tr></table>"),
        (f"<title>某某市科协——{TITLE}</title>", f"<div>{TITLE}</div>"),
        (f"<title>{TITLE}_通知公告_某某市科协</title>", f"<p><b>{TITLE}</b></p>"),
        (
            f"<title>{TITLE} @ 科普博客 :: 博客平台 ::</title>",
            f"<h2><a href='/p/1'>{TITLE}</a></h2>",
        ),
        (
            f'<meta name="ArticleTitle" content="某某市人民政府网——{TITLE}">',
            f"<td class='sj_bt'>{TITLE}</td>",
        ),
        (
            f'<meta property="og:title" content="{TITLE}-新华网">',
            f"<div class='h-title'>{TITLE}</div>",
        ),
    ],
    ids=["section-prefix", "site-prefix", "suffixes", "blog-platform", "article-title-meta", "og"],
)
def test_the_title_is_what_the_page_shows_without_site_or_section(head: str, shown: str) -> None:
    logo = "<div class='logo'><h1>某某市科协</h1></div>"
    html = f"<html><head>{head}</head><body>{logo}{shown}{BODY}</body></html>"
    found = extract_article(html, "https://www.example.gov.cn/tzgg/1.html", tz=SHANGHAI)
    assert found.title == TITLE


def test_a_heading_inside_the_body_is_not_the_title() -> None:
    """WeChat editors put h1 in the article text; the title is h2#activity-name."""
    html = (
        f"<html><head><title>{TITLE}</title></head><body>"
        f"<h2 class='rich_media_title' id='activity-name'>{TITLE}</h2>"
        "<div id='js_content'><h1>●上午9时50分许，典礼举行。</h1><p>"
        + "正文段落。" * 30
        + "</p></div></body></html>"
    )
    found = extract_article(html, "https://mp.weixin.qq.com/s/abc", tz=SHANGHAI)
    assert found.title == TITLE
