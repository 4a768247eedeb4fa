"""Titles (``worker.article_meta``): section names and site names never become titles; a heading
inside the body is a sub-heading."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest

from worker.extract import extract_article
from worker.title_site import strip_site_suffix

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


SITE = "某某市水产研究所"
TEXT = "<p>" + "为贯彻落实会议精神，全体职工观看了警示教育片。" * 8 + "</p>"


@pytest.mark.parametrize(
    ("head", "page"),
    [
        (  # <title> is the site's name: it confirms the logo, not the article
            f'<title>{SITE}</title><meta name="SiteName" content="{SITE}">'
            f'<meta name="ArticleTitle" content="{TITLE}（某发〔2024〕36号）">',
            f"<div class='top'><h2>{SITE}</h2></div><div class='wenzhang-title'>{TITLE}</div>"
            f"<div class='content'>{TEXT}</div>",
        ),
        (  # a blog theme: the site's name in <title> and its header, the post's h1 in the post
            f"<title>{SITE}</title>",
            f"<header><div>{SITE}</div></header><article class='post-block'>"
            f"<h1 class='post-title'>{TITLE}</h1><div class='post-entry'>{TEXT}</div></article>",
        ),
        (  # the title in an h5; a share pop-up's span.title at the end
            f"<title>{SITE}</title>",
            f"<div class='news-det'><h5>{TITLE}</h5><div class='lcon'>{TEXT}</div></div>"
            "<div class='share-pop'><span class='title'>分享到微信朋友圈</span></div>",
        ),
        (  # a review counter inside the heading
            f"<title>{TITLE} _《书名》小说在线阅读 - 某某网</title>",
            f"<h1 class='title'>{TITLE}<span class='review'><span>241</span></span></h1>"
            f"<div class='content'>{TEXT}</div>",
        ),
    ],
    ids=["site-name-title-tag", "post-h1-in-container", "h5-and-share-widget", "counter-in-h1"],
)
def test_the_articles_heading_wins_over_the_sites_name(head: str, page: str) -> None:
    html = f"<html><head>{head}</head><body>{page}</body></html>"
    found = extract_article(html, "https://www.example.org/news/1.html", tz=SHANGHAI)
    assert found.title == TITLE


SIDEBAR = "<div class='sidebar'><h1>分类</h1><ul><li>生活</li></ul><h1>标签</h1></div>"


@pytest.mark.parametrize(
    ("head", "page"),
    [
        (  # the site's name links to its front page: a masthead, whatever <title> says
            "<title>木木的博客</title>",
            f"<header><h1 class='site-title'><a href='/'>木木的博客</a></h1></header>"
            f"<article><h2 class='post-title'>{TITLE}</h2>{BODY}</article>",
        ),
        (
            "<title>木木的博客</title>",
            f"<div class='header'><h1><a href='../../index.html'>木木的博客</a></h1></div>"
            f"<div class='post'><h1 class='title'>{TITLE}</h1>{BODY}</div>",
        ),
        (
            "<title>木木的博客 - 记录生活</title>",
            f"<div class='top'><h1><a href='https://mumu.example.com/'>木木的博客</a></h1></div>"
            f"<div class='main'><h2 class='entry-title'>{TITLE}</h2>{BODY}</div>",
        ),
        (  # a sidebar's widget headings come before the post in the markup
            "<title>木木的博客</title>",
            f"{SIDEBAR}<div class='post'><h1 class='post-title'>{TITLE}</h1>{BODY}</div>",
        ),
        ("", f"<aside><h1>分类</h1></aside><div class='post'><h2>{TITLE}</h2>{BODY}</div>"),
        (  # a date inside the heading is not part of the title
            "<title>木木的博客</title>",
            f"<h1 class='post-title'>{TITLE} <small>2020-01-01</small></h1>{BODY}",
        ),
    ],
)
def test_blog_mastheads_widgets_and_dates_are_not_the_title(head: str, page: str) -> None:
    html = f"<html><head>{head}</head><body class='has-sidebar'>{page}</body></html>"
    found = extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI)
    assert found.title == TITLE


def test_a_heading_linking_elsewhere_is_still_a_title() -> None:
    """Only a link to the front page marks a masthead: a post title linking to its own page,
    or to a section, stays a title."""
    for href in ("/p/1.html", "/blog/", "https://mumu.example.com/p/1.html?from=list"):
        page = f"<h2><a href='{href}'>{TITLE}</a></h2>{BODY}"
        html = f"<html><head><title>木木的博客</title></head><body>{page}</body></html>"
        assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == (
            TITLE
        ), href


INFO = "<div class='info'>发布时间：2019-03-08 来源：市科协</div>"


@pytest.mark.parametrize(
    ("head", "page"),
    [
        (  # an old page: the title is a centred line of large bold text
            "<title>某某市科学技术协会</title>",
            f"<p align='center'><strong><font size='5'>{TITLE}</font></strong></p>{INFO}{BODY}",
        ),
        ("", f"<div style='text-align: center'>{TITLE}</div>{INFO}{BODY}"),
        (
            "<title>某某市科学技术协会</title>",
            f"<div class='con'><strong>{TITLE}</strong>{INFO}{BODY}</div>",
        ),
    ],
)
def test_an_emphasised_line_above_the_body_is_the_title_when_nothing_names_one(
    head: str, page: str
) -> None:
    crumbs = "<div class='crumb'>当前位置：<a href='/'>首页</a> &gt; 通知公告</div>"
    html = f"<html><head>{head}</head><body>{crumbs}{page}</body></html>"
    assert extract_article(html, "https://kx.example.gov.cn/a/1.html", tz=SHANGHAI).title == TITLE


def test_a_title_that_links_home_with_no_heading_after_it_is_the_title() -> None:
    """Some exports link every post's title back to the front page; with no title-level
    heading after it, such a heading is the article's, not a masthead."""
    page = (
        "<h1><a href='../../forum/634a.html'>浏览本博文的相关论坛</a></h1>"
        f"<h1><a href='../../index.html' title='回到首页'>{TITLE}</a></h1>{BODY}"
        "<div class='copyright'><h4>版权声明</h4>转载请注明出处。</div>"
    )
    html = f"<html><head><title>{TITLE} - 编程随想的博客</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://b.example.com/2009/02/a.html", tz=SHANGHAI).title == (
        TITLE
    )


@pytest.mark.parametrize(
    ("head", "page"),
    [
        (  # og:title repeats the site's name on every page (a theme's default)
            "<title>木木的博客</title><meta property='og:title' content='木木的博客'>"
            "<meta property='og:site_name' content='木木的博客'>",
            f"<header><h1>木木的博客</h1></header><article><h2 class='post-title'>{TITLE}</h2>"
            f"{BODY}</article>",
        ),
        (  # a heading whose class names the site is a masthead, as one linking home is
            "<title>木木的博客</title>",
            f"<header><h1 class='site-title'>木木的博客</h1></header>"
            f"<article><h2 class='post-title'>{TITLE}</h2>{BODY}</article>",
        ),
        (
            "<title>木木的博客</title>",
            "<div id='logo'><h1>木木的博客</h1></div>"
            f"<div class='post'><h3>{TITLE}</h3>{BODY}</div>",
        ),
    ],
    ids=["og-title-is-the-site", "site-title-class", "logo-id"],
)
def test_the_sites_own_name_is_not_the_title(head: str, page: str) -> None:
    html = f"<html><head>{head}</head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_markdown_sections_in_the_body_are_not_the_title() -> None:
    """A post body written in Markdown holds several h1 sections; the post's own title, shown
    in no heading, is the part of ``<title>`` the page shows, not the first section."""
    section = "<p>" + "为贯彻落实会议精神，全体职工观看了警示教育片。" * 8 + "</p>"
    page = (
        "<header><h1><a href='/'>木木的博客</a></h1></header><div class='post'>"
        f"<div class='post-head'><span>{TITLE}</span></div>"
        f"<div class='post-body'><h1>背景</h1>{section}<h1>总结</h1>{section}</div></div>"
    )
    html = f"<html><head><title>{TITLE} | 木木的博客</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_a_full_width_bar_inside_the_title_is_kept_when_a_spaced_separator_ends_it() -> None:
    title = "读书笔记｜人类简史"
    html = f"<html><head><title>{title} - 木木的博客</title></head><body>{BODY}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == title


def test_invisible_characters_are_not_part_of_the_title() -> None:
    """A CMS that pastes a zero-width space before the title in <title> and the heading."""
    html = (
        f"<html><head><title>\u200b{TITLE}_某某网</title></head><body>"
        f"<h1>\u200b{TITLE}\ufeff</h1>{BODY}</body></html>"
    )
    assert extract_article(html, "https://www.example.com/a/1.html", tz=SHANGHAI).title == TITLE


def test_the_heading_marked_as_the_headline_is_the_title() -> None:
    """Microdata (``itemprop="headline"``, as Hexo, Jekyll and WordPress themes write it) names
    the post's title when neither ``<title>`` nor a meta confirms a heading."""
    page = (
        "<div class='top'><h1>木木的博客</h1><p>记录生活</p></div>"
        f"<article itemscope><h2 class='entry' itemprop='name headline'>{TITLE}</h2>{BODY}"
        "</article>"
    )
    html = f"<html><head><title>木木的博客 - 记录生活</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


@pytest.mark.parametrize(
    "head",
    [
        f"<title>{TITLE} - 木木的博客</title>"
        f"<meta property='og:title' content='{TITLE} - 木木的博客'>",
        f"<title>木木的博客 &raquo; Blog Archive &raquo; {TITLE}</title>",
        f"<title>{TITLE} · 木木的博客</title>",
        f"<title>{TITLE} :: 木木的博客</title>",
        f"<title>木木的博客 | {TITLE}</title><meta property='og:site_name' content='木木的博客'>",
    ],
    ids=["og-copies-title", "chevrons", "middle-dot", "double-colon", "site-name-first"],
)
def test_the_sites_name_is_cut_from_title_whichever_separator_it_uses(head: str) -> None:
    html = f"<html><head>{head}</head><body><div class='post'>{BODY}</div></body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_the_posts_marked_heading_wins_over_a_different_seo_title() -> None:
    """An SEO plugin's own title in og:title and <title> ("如何…（最新教程）") is not what the
    page shows; the post's marked heading (h1.post-title) is."""
    seo = "如何在服务器上部署应用（2020 最新教程）"
    head = f"<title>{seo} - 木木的博客</title><meta property='og:title' content='{seo}'>"
    page = (
        "<header><div class='logo'><a href='/'>木木的博客</a></div></header>"
        f"<article><h1 class='post-title'>{TITLE}</h1>{BODY}</article>"
    )
    html = f"<html><head>{head}</head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_a_post_cover_called_brand_is_no_masthead() -> None:
    """Hexo matery puts the post's own h1 in ``div.brand`` on its cover; the sections after it
    must not make it a masthead."""
    section = "<p>" + "为贯彻落实会议精神，全体职工观看了警示教育片。" * 8 + "</p>"
    page = (
        "<div class='post-cover'><div class='brand'>"
        f"<h1 class='description center-align'>{TITLE}</h1></div></div>"
        f"<div id='articleContent'>{section}<h2>背景</h2>{section}<h2>总结</h2>{section}</div>"
    )
    html = f"<html><head><title>木木的博客</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_a_traditional_date_line_above_the_body_is_not_the_title() -> None:
    title = "颱風動態：中央氣象局發布海上警報"
    page = (
        f"<p align='center'><strong><font size='5'>{title}</font></strong></p>"
        "<p align='center'><b>發布時間：2016-05-04 來源：中央社</b></p>"
        "<div id='zoom'><p>" + "颱風持續接近，各地應嚴加防範，注意安全。" * 10 + "</p></div>"
    )
    html = f"<html><head><title>某某新聞網</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://news.example.tw/a/1.html", tz=SHANGHAI).title == title


@pytest.mark.parametrize(
    "heading",
    [
        f"<h1 id='x'>{TITLE}<a class='headerlink' href='#x' title='Permanent link'>&para;</a></h1>",
        f"<h1 id='x'><a class='anchor' href='#x'>#</a>{TITLE}</h1>",
    ],
    ids=["mkdocs-pilcrow", "hugo-hash"],
)
def test_a_permalink_mark_in_the_heading_is_not_part_of_the_title(heading: str) -> None:
    html = (
        f"<html><head><title>{TITLE} - 木木的笔记</title></head><body>{heading}{BODY}</body></html>"
    )
    assert extract_article(html, "https://mumu.example.com/notes/x/", tz=SHANGHAI).title == TITLE


def test_entities_a_generator_escaped_twice_are_read() -> None:
    """``<title>Python &amp;quot;装饰器&amp;quot;</title>`` shows ``&quot;`` in a browser tab,
    but the title is ``Python "装饰器"``."""
    title = 'Python "装饰器" 详解'
    head = (
        "<title>Python &amp;quot;装饰器&amp;quot; 详解 | 木木的博客</title>"
        "<meta property='og:title' content='Python &amp;quot;装饰器&amp;quot; 详解'>"
    )
    html = f"<html><head>{head}</head><body><div class='post'>{BODY}</div></body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == title


@pytest.mark.parametrize(
    "after",
    [
        "<div id='comments' class='comments-area'>"
        f"<h2 class='comments-title'>3 条评论：“{TITLE}”</h2></div>",
        "<div class='recommend'><h2 class='section-title'>相关推荐阅读</h2></div>",
        "<div class='next'><h2 class='entry-title'>"
        "<a href='/p/2.html'>下一篇：另一篇文章</a></h2></div>",
        "<div class='related-posts'><h3 itemprop='headline'>另一篇文章的标题</h3></div>",
    ],
    ids=["wordpress-comments", "recommended", "next-post", "related-headline"],
)
def test_headings_about_other_items_do_not_displace_the_articles_h1(after: str) -> None:
    html = (
        "<html><head><title>木木的博客</title></head><body>"
        f"<h1>{TITLE}</h1>{BODY}{after}</body></html>"
    )
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_a_site_named_as_its_article_still_gives_that_title() -> None:
    """A CMS that copies the page's title into og:site_name: the title is not lost."""
    head = f"<title>{TITLE}</title><meta property='og:site_name' content='{TITLE}'>"
    text = "<div class='c'><p>" + "各有关单位：现将活动安排通知如下。" * 10 + "</p></div>"
    html = f"<html><head>{head}</head><body><h1>{TITLE}</h1>{text}</body></html>"
    assert extract_article(html, "https://www.example.org/a/1.html", tz=SHANGHAI).title == TITLE


def test_the_title_element_is_no_microdata_headline() -> None:
    head = "<title itemprop='name headline'>木木的博客 - 记录生活</title>"
    page = f"<div class='post'><h2>{TITLE}</h2>{BODY}</div>"
    html = f"<html><head>{head}</head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


@pytest.mark.parametrize(
    ("title", "site"),
    [("人民网评：让安全生产落到实处", "人民网"), ("Python Tips for Beginners", "Python Tips")],
)
def test_a_site_name_that_begins_the_title_without_a_separator_is_kept(
    title: str, site: str
) -> None:
    head = f"<title>{title}</title><meta property='og:site_name' content='{site}'>"
    html = f"<html><head>{head}</head><body><div class='c'>{BODY}</div></body></html>"
    assert extract_article(html, "https://www.example.org/a/1.html", tz=SHANGHAI).title == title


def test_entities_written_as_text_stay_in_the_title() -> None:
    title = "HTML 中 &nbsp; 和 &lt;br&gt; 的用法"
    html = (
        "<html><head><title>HTML 中 &amp;nbsp; 和 &amp;lt;br&amp;gt; 的用法 - 木木的博客</title>"
        f"</head><body><div class='c'>{BODY}</div></body></html>"
    )
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == title


def test_markdown_sections_defer_to_a_title_cut_at_a_middle_dot() -> None:
    section = "<p>" + "为贯彻落实会议精神，全体职工观看了警示教育片。" * 8 + "</p>"
    page = (
        f"<div class='post-head'><span>{TITLE}</span></div>"
        f"<div class='post-body'><h1>背景</h1>{section}<h1>总结</h1>{section}</div>"
    )
    html = f"<html><head><title>{TITLE} · 木木的博客</title></head><body>{page}</body></html>"
    assert extract_article(html, "https://mumu.example.com/p/1.html", tz=SHANGHAI).title == TITLE


def test_site_separators_are_found_in_linear_time_on_runs_of_spaces() -> None:
    spaces = " " * 20000
    started = time.perf_counter()
    strip_site_suffix(f"a{spaces}b{spaces}-{spaces}|_{spaces}»{spaces}::{spaces}c")
    assert time.perf_counter() - started < 1.0
