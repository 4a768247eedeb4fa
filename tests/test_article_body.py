"""Bodies that never come back empty (``worker.article_body``): each path named with its
confidence, link lists and related-article runs removed, attachments kept."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from worker.extract import ExtractError, extract_article

SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://blog.example.cn/2019/05/04/post.html"
SENTENCES = "".join(f"这是第{i}句正文，讲述了科普月活动的安排和意义。" for i in range(12))


def extract(body: str) -> tuple[str, str, float]:
    html = f"<html><head><title>标题</title></head><body><h1>标题</h1>{body}</body></html>"
    found = extract_article(html, URL, tz=SHANGHAI)
    return found.text, found.body_path, found.body_confidence


def test_a_blog_export_in_no_known_container_still_yields_its_post() -> None:
    """Text in table cells split by <br>: no container, and trafilatura finds nothing."""
    body = f"<table><tr><td>{SENTENCES[:200]}<br>{SENTENCES[200:]}</td></tr></table>"
    text, path, confidence = extract(body)
    assert "这是第0句正文" in text and "这是第11句正文" in text
    assert path in ("densest", "trafilatura", "page")
    assert 0 < confidence < 0.9


def test_a_chinese_article_beats_a_recommendation_feed_of_cards() -> None:
    cards = "".join(
        f"<article class='card'><a href='/r/{i}.html'>推荐阅读第{i}篇：热门文章标题</a>"
        f"<p>摘要{i}</p></article>"
        for i in range(8)
    )
    body = f"<div class='feed'>{cards}</div><div class='main-text'><p>{SENTENCES}</p></div>"
    text, path, _ = extract(body)
    assert "这是第5句正文" in text
    assert "推荐阅读" not in text
    assert path == "densest"


def test_a_container_with_real_text_is_used_and_named() -> None:
    text, path, confidence = extract(f"<div id='js_content'><p>{SENTENCES}</p></div>")
    assert path == "container:#js_content" and confidence == 0.85
    assert text.startswith("这是第0句正文")


def test_related_links_inside_the_body_are_removed_but_attachments_stay() -> None:
    related = "".join(
        f"<b><a href='/news/{i}.html'><font color='blue'>相关新闻第{i}条</font></a></b><br><br>"
        for i in range(5)
    )
    listed = "<ul>" + "".join(f"<li><a href='/x/{i}.html'>延伸阅读{i}</a></li>" for i in range(4))
    attachments = (
        "<p><a href='/f/a.pdf'>附件1：实施方案.pdf</a><br>"
        "<a href='/f/b.docx'>附件2：报名表.docx</a><br><a href='/f/c.xls'>附件3：名单.xls</a></p>"
    )
    body = f"<div id='zoom'><p>{SENTENCES}</p>{attachments}{related}{listed}</ul></div>"
    text, path, _ = extract(body)
    assert path == "container:#zoom"
    assert "相关新闻" not in text and "延伸阅读" not in text
    assert "附件1：实施方案.pdf" in text and "附件3：名单.xls" in text


def test_the_header_lines_a_container_wraps_are_not_body_text() -> None:
    body = (
        "<div class='TRS_Editor'><p>标题</p><p>发布时间：2019-05-04 来源：本站 浏览次数：12</p>"
        f"<p>{SENTENCES}</p></div>"
    )
    text, _, _ = extract(body)
    assert text.startswith("这是第0句正文")


def test_a_page_of_links_only_still_yields_its_text() -> None:
    links = "".join(f"<a href='/p/{i}.html'>栏目链接{i}</a> " for i in range(6))
    text, path, confidence = extract(f"<div>{links}</div>")
    assert "栏目链接" in text
    assert 0 < confidence < 0.9 and path in ("trafilatura", "densest", "page")


@pytest.mark.parametrize("body", ["", "<div>   </div>", "<script>var a = 1;</script>"])
def test_a_page_without_any_text_is_an_extract_error(body: str) -> None:
    html = f"<html><body>{body}</body></html>"
    with pytest.raises(ExtractError):
        extract_article(html, URL, tz=SHANGHAI)


def test_a_container_inside_a_previous_next_block_is_another_articles_excerpt() -> None:
    excerpt = (
        "<article class='prev-next'><div class='article-content'>"
        + "上一篇文章的摘要内容，讲的是另一件事情。" * 5
        + "</div></article>"
    )
    body = f"<div id='articleBody'><p>{SENTENCES}</p></div>{excerpt}"
    text, path, _ = extract(body)
    assert "这是第5句正文" in text and "上一篇文章的摘要" not in text
    assert path != "container:.article-content"


def test_blog_furniture_inside_the_post_is_removed() -> None:
    body = (
        "<div class='entry-content'><p>发布于：2020年11月22日</p>"
        f"<p>{SENTENCES}</p><div class='reward-container'>请我喝杯咖啡 微信支付 支付宝</div>"
        "<p>本文永久链接是：https://blog.example.cn/archives/28/</p>"
        "<div class='post-copyright'>版权声明：本博客文章均采用 CC BY-NC-SA 4.0 协议。</div>"
        "<p>-------------本文结束感谢您的阅读-------------</p></div>"
    )
    text, _, _ = extract(body)
    assert text.startswith("这是第0句正文") and text.endswith(
        "这是第11句正文，讲述了科普月活动的安排和意义。"
    )


def test_closing_notices_disclaimers_and_widgets_are_not_body_text() -> None:
    """A notice box under any class name (本文作者 / 本文链接 / 版权声明), a platform's
    disclaimer and 举报 / 查看原图 buttons go; a paragraph that names one label or opens with
    a 特别声明 of its own stays."""
    kept = "特别声明：本次报名免费，名额有限。"
    mention = "文中引用的版权声明来自原作者。"
    body = (
        f"<div class='entry-content'><p>{SENTENCES}</p><p>{kept}</p><p>{mention}</p>"
        "<p>查看原图 264K</p><div><a href='#'>举报</a> <span>+关注</span></div>"
        "<p>免责声明：本内容来自腾讯平台创作者，不代表腾讯新闻或腾讯网的观点和立场。</p>"
        "<div class='declare'><strong>本文作者：</strong>三水<br><strong>最后更新：</strong>"
        "2023年12月31日<br><strong>本文链接：</strong><a href='/post/1.html'>/post/1.html</a><br>"
        "<strong>版权声明：</strong>本作品采用 CC BY-NC-SA 4.0 许可协议进行许可。</div></div>"
    )
    text, _, _ = extract(body)
    assert text.endswith(f"{kept}\n\n{mention}"), text[-200:]
    assert text.startswith("这是第0句正文")


def test_a_class_that_only_contains_a_furniture_word_is_not_furniture() -> None:
    """ "photo" holds "hot" and "canvas" holds "nav": neither marks a block as another's."""
    inner = f"<div class='article-content'><p>{SENTENCES}</p></div>"
    body = f"<div class='photo-story canvas-wrap'>{inner}</div>"
    _, path, _ = extract(body)
    assert path == "container:.article-content"


@pytest.mark.parametrize(
    ("post", "path"),
    [
        ("<table><tr><td class='t_f' id='postmessage_{n}'>{text}</td></tr></table>", "td.t_f"),
        ("<div class='atl-item'><div class='bbs-content'>{text}</div></div>", ".bbs-content"),
        ("<div class='tpc_content'><div id='read_{n}' class='f14'>{text}</div></div>", None),
        (
            "<div class='l_post'><div class='d_post_content j_d_post_content'>{text}</div></div>",
            ".d_post_content",
        ),
        ("<div class='topic-body'><div class='cooked'>{text}</div></div>", ".topic-body .cooked"),
    ],
    ids=["discuz", "tianya", "phpwind-reply", "tieba", "discourse"],
)
def test_a_threads_body_is_its_first_post(post: str, path: str | None) -> None:
    """Thirty replies after the first post, each longer than it: the first post is the subject."""
    first = post.format(n="tpc" if path is None else 0, text=SENTENCES)
    replies = "".join(
        post.format(n=n, text=f"第{n}楼回复：" + "顶一下，说得很有道理，我也遇到过这样的情况。" * 8)
        for n in range(1, 31)
    )
    text, found, _ = extract(
        f"<div class='thread'>{first.replace('read_tpc', 'read_tpc')}{replies}</div>"
    )
    assert text.startswith("这是第0句正文") and "楼回复" not in text
    assert found == f"container:{path or '#read_tpc'}"


@pytest.mark.parametrize(
    "body_class", ["zh_CN wx_wap_page comment_feature discuss_tab", "single has-sidebar"]
)
def test_the_pages_own_classes_do_not_make_its_container_furniture(body_class: str) -> None:
    """``<body class="comment_feature">`` (WeChat) or ``"has-sidebar"`` (WordPress themes) name
    the page's features: the article's container inside is still its body."""
    html = (
        f"<html><head><title>标题</title></head><body class='{body_class}'><h1>标题</h1>"
        f"<div id='js_content'><section><p>{SENTENCES}</p></section></div>"
        "<div class='recommend'>"
        + "".join(f"<p>推荐文章第{i}篇的长长的摘要文字在这里。</p>" * 3 for i in range(9))
        + "</div>"
        "</body></html>"
    )
    found = extract_article(html, URL, tz=SHANGHAI)
    assert found.body_path == "container:#js_content"
