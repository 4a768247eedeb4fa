"""The HTML hygiene extraction relies on (worker.sanitize): the tag and attribute allow list,
absolute URLs, lazy images, readable text, summaries cut at boundaries, XML-illegal characters."""

from __future__ import annotations

import pytest

from worker.sanitize import (
    collect_images,
    html_to_text,
    make_summary,
    sanitize_html,
    strip_xml_illegal,
)

URL = "https://www.example.gov.cn/art/2022/10/8/art_1_2.html"


def test_sanitize_html_allow_list_and_absolute_urls() -> None:
    html = (
        '<p class="x" style="color:red">Hi <a href="/a" target="_blank" onclick="x()">a</a>'
        ' <a href="javascript:alert(1)">js</a> <a href="ftp://host/f">ftp</a>'
        ' <a href="mailto:office@example.gov.cn">mail</a></p>'
        '<img src="i.png" onerror="x()" alt="图" width="10" data-x="1">'
        "<iframe src='https://evil.example/'></iframe><form><input name='q'>搜索</form>"
        "<style>p{}</style><script>bad()</script><!-- comment --><font>字</font>"
        '<table><tr><td colspan="2">单元格</td></tr></table>'
    )
    clean = sanitize_html(html, "https://www.example.gov.cn/a/b.html")
    assert clean == (
        '<p>Hi <a href="https://www.example.gov.cn/a" rel="noopener noreferrer">a</a> js ftp'
        ' <a href="mailto:office@example.gov.cn" rel="noopener noreferrer">mail</a></p>'
        '<img src="https://www.example.gov.cn/a/i.png" alt="图" width="10">字'
        '<table><tbody><tr><td colspan="2">单元格</td></tr></tbody></table>'
    )


def test_sanitize_html_promotes_lazy_image_sources() -> None:
    html = '<img src="data:image/gif;base64,R0lGOD" data-original="/p/1.jpg">'
    clean = sanitize_html(html, "https://www.example.gov.cn/a/b.html")
    assert clean == '<img src="https://www.example.gov.cn/p/1.jpg">'
    assert sanitize_html("", "https://www.example.gov.cn/") == ""


def test_html_to_text_separates_paragraphs_and_collapses_whitespace() -> None:
    html = (
        "<div><h2>小标题</h2><p>　　第一段\n  文字&nbsp;继续。</p>"
        "<p>第二段<br>换行</p><ul><li>一</li><li>二</li></ul>"
        "<script>x()</script><p>  </p>尾部</div>"
    )
    assert html_to_text(html) == "小标题\n\n第一段 文字 继续。\n\n第二段\n换行\n\n一\n\n二\n\n尾部"
    assert html_to_text("") == ""


def test_collect_images_absolute_unique_in_order() -> None:
    html = (
        '<img src="b.jpg"><img src="/a.png"><img src="b.jpg"><img src="data:image/png;base64,AA">'
        '<img src="ftp://host/x.jpg"><img alt="none"><img src="https://cdn.example/c.gif">'
    )
    assert collect_images(html, "https://www.example.gov.cn/dir/page.html") == (
        "https://www.example.gov.cn/dir/b.jpg",
        "https://www.example.gov.cn/a.png",
        "https://cdn.example/c.gif",
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("短文本。", 200, "短文本。"),
        ("第一句话说完了。第二句话还没有说完就被截断", 14, "第一句话说完了。…"),
        ("The quick brown fox jumps over the lazy dog again", 20, "The quick brown fox…"),
        ("First sentence here. Second sentence is long enough", 30, "First sentence here.…"),
        ("一二三四五六七八九十一二三四五六七八九十", 10, "一二三四五六七八九十…"),
        ("  多个   空白\n\n段落  ", 200, "多个 空白 段落"),
    ],
)
def test_make_summary_cuts_at_boundaries(text: str, limit: int, expected: str) -> None:
    assert make_summary(text, limit) == expected


def test_strip_xml_illegal_removes_only_illegal_characters() -> None:
    text = "a\x00b\x08c\x0bd\x0ce\x1ff\ufffeg\uffffh\ud800i\tj\nk\rl𠮷镕"
    assert strip_xml_illegal(text) == "abcdefghi\tj\nk\rl𠮷镕"
    assert strip_xml_illegal("\ud842\udfb7") == "𠮷"
