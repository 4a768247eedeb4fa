"""Publication dates chosen by evidence (``worker.article_dates``): the classes of page where a
first-match reader went wrong, each as a small page, and the evidence ``herald extract --json``
shows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from click.testing import CliRunner

from worker.cli import main
from worker.dates import find_date, find_relative
from worker.extract import extract_article
from worker.page_text import find_title_anchor, read_page_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLE = "关于开展科普月活动的通知"
URL = "https://www.example.gov.cn/xwdt/123.html"
BODY = (
    '<div class="content"><p>'
    + "正文内容，会议于2015年3月2日召开。" * 10
    + "</p><p>"
    + "第二段正文。" * 20
    + "</p></div>"
)
WANT = "2016-05-04"


def page(body: str) -> str:
    return (
        f"<html><head><title>{TITLE}_新闻动态_某某市科协</title></head><body>{body}</body></html>"
    )


def day_of(html: str, url: str = URL, now: datetime | None = None) -> str | None:
    found = extract_article(html, url, tz=SHANGHAI, now=now).published_at
    return found.astimezone(SHANGHAI).date().isoformat() if found else None


@pytest.mark.parametrize(
    "body",
    [
        f"<h1>{TITLE}</h1><div class='info'><span>2016-05-04 23:16</span>"
        "<span>来源：本站</span></div>",
        f"<table><tr><td class='title'>{TITLE}</td></tr>"
        "<tr><td>2016-05-04 10:00:00</td></tr></table>",
        f"<h2>{TITLE}</h2><nobr>2016年05月04日 10:00</nobr>",
        f"<h1>{TITLE}</h1><p>2016年5月4日（星期三）</p>",
        f"<h1>{TITLE}</h1><div>2016年05月04日 10:21（来源：人民日报）</div>",
        f"<h1>{TITLE}</h1><div class='share'>分享</div><div id='pubtime'>2016-05-04</div>",
        f"<h1>{TITLE}</h1><div>作者：张三 2016-5-4</div>",
        f"<h1>{TITLE}</h1><div>16-05-04 10:00</div>",
        f"<h1>{TITLE}</h1><div class='date'><span>2016</span><span>05-04</span></div>",
        f"<div class='tit'>{TITLE}</div><div class='sj'>2016/05/04</div>",
        f"<h1>{TITLE}</h1><div class='meta'><span class='time'><i></i>16.05.04</span></div>",
    ],
    ids=[
        "bare-date-time-in-span",
        "td-under-title",
        "nobr",
        "parenthesised-weekday",
        "parenthesised-source",
        "element-named-pubtime",
        "one-digit-month-after-author",
        "two-digit-year",
        "year-and-day-in-two-elements",
        "title-in-a-div",
        "dotted-two-digit-year",
    ],
)
def test_a_date_plainly_shown_under_the_title_is_found(body: str) -> None:
    assert day_of(page(body + BODY)) == WANT


@pytest.mark.parametrize(
    "body",
    [
        f"<h1>{TITLE}</h1><div>发布时间：2016-05-04</div>{BODY}"
        "<div class='comment'><p>网友 2021-01-01 12:00 说：好</p></div>",
        "<div class='related'><ul><li><a href='/a'>" + TITLE + "</a> 2012-01-01</li></ul></div>"
        f"<h1>{TITLE}</h1><div>2016-05-04</div>{BODY}",
        f"<h1>{TITLE}</h1><div>2016-05-04 09:00</div>{BODY}"
        f"<div class='xgwz'><a href='/x'>{TITLE}</a><span>2012-01-01</span></div>",
        f"<div class='sidebar'><p>2021-02-03 热点</p></div><h1>{TITLE}</h1><p>2016-05-04</p>{BODY}",
        f"<div class='top'>今天是2021年12月5日 星期日</div><h1>{TITLE}</h1>"
        f"<div>2016-05-04 来源：本站</div>{BODY}",
        f"<h1>{TITLE}</h1><table><tr><td>成文日期：2016-04-28</td>"
        f"<td>发布日期：2016-05-04</td></tr></table>{BODY}",
        "<div class='left'><table>"
        + "".join(
            f"<tr><td><span class='leader'>·</span></td><td><a href='../1036/{n}.htm' "
            f"title='【光明日报】另一篇文章'>【光明日报】另一篇…</a></td>"
            "<td class='timestyle1'>2018/06/22</td></tr>"
            for n in range(5)
        )
        + "</table></div><div class='right_news'><div>您的位置：<a href='../../'>首页</a> &gt; "
        f"培训&gt;</div><table><tr><td class='titlestyle2'>{TITLE}</td></tr>"
        "<tr><td><span class='timestyle2'>2016-05-04 17:46</span> <span>宣传部</span></td></tr>"
        f"</table>{BODY}</div>",
        f"<div class='nav'><span>正在浏览：</span><span class='title-text'>{TITLE}</span></div>"
        f"<div class='page no-right'><div class='content-article'><h1>{TITLE}</h1>"
        "<div class='author'><p>某某日报</p><p><span>2016-05-04 06:16</span><span>发布于北京</span>"
        f"</p></div>{BODY}</div></div>",
    ],
    ids=[
        "comment-after",
        "related-item-with-the-title-before",
        "related-item-with-the-title-after",
        "sidebar-first",
        "today-in-the-page-header",
        "发布日期-over-成文日期",
        "a-list-of-other-items-just-before-the-title",
        "title-date-and-body-in-one-container-inside-a-no-right-layout",
    ],
)
def test_other_dates_on_the_page_lose_to_the_one_beside_the_title(body: str) -> None:
    assert day_of(page(body)) == WANT


def test_a_wrong_meta_far_from_the_shown_date_loses() -> None:
    html = page(f"<h1>{TITLE}</h1><div>发布时间：2016-05-04</div>{BODY}").replace(
        "</title>", '</title><meta name="PubDate" content="2024-01-01 08:00">'
    )
    assert day_of(html) == WANT


def test_relative_dates_need_the_fetch_time() -> None:
    html = page(f"<h1>{TITLE}</h1><div>3小时前 来源：本站</div>{BODY}")
    fetched = datetime(2024, 5, 4, 15, 0, tzinfo=SHANGHAI)
    assert day_of(html, now=fetched) == "2024-05-04"
    assert day_of(html) is None  # a saved page: "3小时前" of when?
    yesterday = html.replace("3小时前", "昨天 10:20")
    found = extract_article(yesterday, URL, tz=SHANGHAI, now=fetched)
    assert found.published_at == datetime(2024, 5, 3, 10, 20, tzinfo=SHANGHAI)
    assert found.published_evidence is not None
    assert found.published_evidence.rule == "relative"


def test_relative_phrases() -> None:
    now = datetime(2024, 5, 4, 15, 30, tzinfo=SHANGHAI)
    assert find_relative("发布于 5分钟前", now) == (
        4,
        8,
        datetime(2024, 5, 4, 15, 25, tzinfo=SHANGHAI),
    )
    assert find_relative("前天", now) == (0, 2, datetime(2024, 5, 2, 0, 0, tzinfo=SHANGHAI))
    assert find_relative("2天前", now) == (0, 3, now.replace(second=0) - timedelta(days=2))
    assert find_relative("刚才", now) is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("18-03-08 23:16", datetime(2018, 3, 8, 23, 16, tzinfo=SHANGHAI)),
        ("99-12-31", datetime(1999, 12, 31, tzinfo=SHANGHAI)),
        ("2018\n03-08 10:00", datetime(2018, 3, 8, 10, 0, tzinfo=SHANGHAI)),
        ("2018年\n3月8日", datetime(2018, 3, 8, tzinfo=SHANGHAI)),
        ("Dec 28 Sat 2013 00:28", datetime(2013, 12, 28, 0, 28, tzinfo=SHANGHAI)),
        ("18.04.29", datetime(2018, 4, 29, tzinfo=SHANGHAI)),
        ("21\n2024年02月", datetime(2024, 2, 21, tzinfo=SHANGHAI)),
        ("2024-02\n21", datetime(2024, 2, 21, tzinfo=SHANGHAI)),
        ("2024年02月\n21 次", None),
        ("18.04.29 10:20", datetime(2018, 4, 29, 10, 20, tzinfo=SHANGHAI)),
        ("v2.45.27", None),
        ("192.168.10.12", None),
        ("10.12.15.3", None),
        ("2018-03-08", datetime(2018, 3, 8, tzinfo=SHANGHAI)),
        ("电话 0571-87654321", None),
    ],
)
def test_two_digit_and_split_years(text: str, want: datetime | None) -> None:
    assert find_date(text, SHANGHAI, yearless=False) == want


def test_an_english_date_without_its_year_needs_the_url_to_prove_it() -> None:
    html = (
        "<html><body><h1>Museum attack</h1><p class='byline'>March 18 at 3:57 PM</p>"
        "<div class='story'><p>" + "Gunmen stormed the museum. " * 20 + "</p></div></body></html>"
    )
    eastern = ZoneInfo("America/New_York")
    proven = extract_article(html, "https://news.example/world/2015/03/18/x.html", tz=eastern)
    assert proven.published_at == datetime(2015, 3, 18, 15, 57, tzinfo=eastern)
    unproven = extract_article(html, "https://news.example/world/x.html", tz=eastern)
    assert unproven.published_at is None


def test_extract_json_says_why_the_date_was_chosen(tmp_path: Path) -> None:
    html = page(f"<h1>{TITLE}</h1><div>来源：本站 发布日期：2016-05-04 09:30</div>{BODY}")
    saved = tmp_path / "page.html"
    saved.write_text(html, encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(saved), "--json", "--base-url", URL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["published"] == "2016-05-04T09:30:00+08:00"
    assert data["published_evidence"]["rule"] == "label:发布日期"
    assert "2016-05-04 09:30" in data["published_evidence"]["text"]
    assert data["body_path"] == "densest"  # a Chinese block that stands out: no known container
    assert 0 < data["body_confidence"] <= 1


def test_a_date_in_the_pages_own_permalink_counts_a_link_to_another_item_does_not() -> None:
    url = "https://www.zhihu.com/question/1/answer/2"
    own = "<a href='//www.zhihu.com/question/1/answer/2'>编辑于 2016-05-04 15:45</a>"
    other = "<a href='/question/1/answer/3'>编辑于 2012-01-01 10:00</a>"
    html = page(f"<h1>{TITLE}</h1>{BODY}<div class='meta'>{own}</div><div>{other}</div>")
    assert day_of(html, url=url) == WANT


def test_a_full_date_in_a_tooltip_beats_the_relative_one_shown() -> None:
    for attribute in ("title", "data-tip", "data-tooltip"):
        shown = f"<span class='time' {attribute}='发布于 2016-05-04 10:21'>3 年前</span>"
        html = page(f"<h1>{TITLE}</h1><div>{shown}</div>{BODY}")
        assert day_of(html) == WANT, attribute


def test_an_answers_date_before_its_text_beats_the_next_answers_after_it() -> None:
    """A question page: each answer's date opens it; the next answer's follows this one's text."""
    url = "https://www.zhihu.com/question/1"
    first = (
        "<div class='ContentItem-time'><a data-tooltip='发布于 2016-05-04 21:28'"
        " href='/question/1/answer/2'>编辑于 2016-05-04 21:33</a></div>"
    )
    text = "<div class='QuestionAnswer-content'><p>" + "回答正文，讲清楚原理。" * 30 + "</p></div>"
    second = (
        "<div class='ContentItem-time'><a href='/question/1/answer/3'>发布于 2016-05-05 11:26"
        "</a></div>"
    )
    html = page(f"<h1>{TITLE}</h1><div class='q'>问题描述</div>" + "<p>" + "说明。" * 150
                + f"</p><div class='List-item'>{first}{text}</div><div class='List-item'>{second}"
                + "<p>" + "另一个回答。" * 40 + "</p></div>")  # fmt: skip
    assert day_of(html, url=url) == WANT


def test_an_answers_publication_tooltip_beats_its_edit_date() -> None:
    """A question page: the answer's link shows when it was edited, its tooltip (behind the
    site's own prefix) when it was published; the link is to a part of this page."""
    url = "https://www.zhihu.com/question/1"
    answer = (
        "<a class='answer-date-link' data-tip='s$t$发布于 2016-05-04'"
        " href='/question/1/answer/2'>编辑于 2016-06-20</a>"
    )
    html = page(f"<h1>{TITLE}</h1>{BODY}<div class='meta-panel'>{answer}</div>")
    assert day_of(html, url=url) == WANT


def test_a_pubdate_meta_days_after_the_document_date_is_not_far_from_the_shown_date() -> None:
    """An information table shows only 成文日期 (signed); the page was published days later."""
    html = page(
        f"<table><tr><td>成文日期：2016-04-28</td></tr></table><h1>{TITLE}</h1>{BODY}"
    ).replace("</title>", '</title><meta name="PubDate" content="2016-05-04 09:00">')
    assert day_of(html) == WANT


def test_the_title_anchor_is_the_heading_not_a_bar_whose_class_names_a_title() -> None:
    doc = lxml.html.fromstring(
        f"<html><body><div class='nav'>正在浏览：<span class='title-text'>{TITLE}</span></div>"
        f"<div class='article'><h1>{TITLE}</h1><p>2016-05-04</p></div></body></html>"
    )
    page = read_page_text(doc.body)
    anchor = find_title_anchor(page, TITLE, None)
    assert anchor is not None
    assert page.owner_at(anchor - 1).tag == "h1"


def test_a_date_in_the_articles_own_footer_counts() -> None:
    """HTML5 blog themes (WordPress twentyfifteen/twentysixteen …) put "Posted on <time>" in the
    article's ``<footer class="entry-footer">``; the site's footer is still chrome."""
    html = page(
        f'<div id="page"><main><article class="post"><header class="entry-header">'
        f'<h1 class="entry-title">{TITLE}</h1></header><div class="entry-content">'
        + "<p>"
        + "这是一篇博客文章的正文，记录了一次科普活动的经过。" * 8
        + "</p>" * 1
        + '</div><footer class="entry-footer"><span class="posted-on"><a href="'
        f'{URL}" rel="bookmark"><time class="entry-date published" datetime="2016-05-04T10:20:'
        '00+08:00">2016年5月4日</time></a></span><span class="byline">作者 小明</span></footer>'
        '</article></main><aside class="widget-area"><h2>近期文章</h2><ul><li><a href="/1.html">'
        '另一篇</a></li></ul></aside><footer class="site-footer">© 2019 某某博客 '
        '<time datetime="2019-01-01">2019</time></footer></div>'
    )
    assert day_of(html) == WANT


def test_a_weak_guess_is_kept_without_a_list_date_and_loses_to_one() -> None:
    """A bare date far above the title (past the site's menu) is the page's best guess: it is
    its date when nothing else says otherwise, but a date the list showed wins over it; a date
    only in the body or after it is no page date at all."""
    menu = "<ul>" + "".join(f"<li>栏目{i}：科普活动与学会工作</li>" for i in range(30)) + "</ul>"
    guess = page(f'<div class="top">2019-03-08</div>{menu}<h1>{TITLE}</h1>{BODY}')
    found = extract_article(guess, URL, tz=SHANGHAI)
    assert found.published_at is not None and found.published_evidence is not None
    assert found.published_at.date().isoformat() == "2019-03-08"
    assert found.published_evidence.score < 15
    listed = datetime(2019, 3, 10, 9, 30, tzinfo=SHANGHAI)
    assert extract_article(guess, URL, tz=SHANGHAI, fallback_date=listed).published_at == listed
    footer = page(f"<h1>{TITLE}</h1>{BODY}<div class='foot'><span>2019-03-08</span></div>")
    assert extract_article(footer, URL, tz=SHANGHAI).published_at is None


@pytest.mark.parametrize(
    "info",
    [
        "发布时间：<script>document.write('2016-05-04 10:00:00'.substring(0,10))</script>",
        "发布时间：<span id='t'></span><script>var d = '2016-05-04';"
        "document.getElementById('t').innerHTML = d;</script>",
    ],
)
def test_a_date_written_by_a_small_script_is_read(info: str) -> None:
    assert day_of(page(f"<h1>{TITLE}</h1><div class='info'>{info} 来源：本站</div>{BODY}")) == WANT


def test_a_script_that_merely_holds_dates_writes_nothing() -> None:
    """A script with two dates, or one that writes nothing into the page, shows no date."""
    scripts = (
        "<script>document.write('2016-05-04' > '2016-05-03' ? 'x' : 'y')</script>",
        "<script>var built = '2016-05-04'; console.log(built);</script>",
    )
    for script in scripts:
        assert day_of(page(f"<h1>{TITLE}</h1><div class='info'>{script}</div>{BODY}")) is None


@pytest.mark.parametrize(
    "info",
    [
        "最后更新：2020-01-02 · 发布：2016-05-04",
        "最后修改于 2020-01-02 | 首发于 2016-05-04",
        "Last updated: 2020-01-02 · Created: 2016-05-04",
        "修改时间：2020-01-02 创建时间：2016-05-04",
    ],
)
def test_the_publication_label_wins_over_an_update_shown_first(info: str) -> None:
    assert day_of(page(f"<h1>{TITLE}</h1><div class='meta'>{info}</div>{BODY}")) == WANT


def test_a_lessons_time_deep_in_the_body_loses_to_the_posts_meta_column() -> None:
    """A generic 时间： deep in the body is an event's (a lesson's, a meeting's); the post's own
    date sits in a side column of its meta (``#side_meta``), after the article in the markup."""
    lesson = (
        "<h2>第一日</h2><ul><li>时间：2012年1月15日；</li><li>主讲内容：第一讲</li></ul>"
        "<p>" + "万事开头难，第一日主要讲基础知识。" * 12 + "</p>"
    )
    html = page(
        f"<div class='col-md-9'><h1>{TITLE}</h1><div class='mypage'>"
        + "<p>"
        + "寒假偶然接到一个家教，教一个高中生。" * 30
        + "</p>"
        + f"{lesson}</div></div>"
        "<div id='side_meta'><div class='col-md-3' id='post_meta'>"
        "<div class='meta-widget'><i class='fa fa-clock-o'></i> 2016-05-04 </div>"
        "<div class='meta-widget'><a href='/categories/life/'>生活</a></div></div></div>"
    )
    assert day_of(html) == WANT


@pytest.mark.parametrize(
    "info",
    [
        "<span class='time'>已于&nbsp;2021-05-01 11:00:00&nbsp;修改</span>"
        "<span class='blog-postTime'>于&nbsp;2016-05-04 10:00:00&nbsp;首次发布</span>",
        "<span>2021-05-01 更新</span> <span>2016-05-04 发布</span>",
    ],
)
def test_a_label_after_the_date_says_which_date_it_is(info: str) -> None:
    """Chinese puts the verb last: "于 … 发布" is the publication, "已于 … 修改" an edit."""
    assert day_of(page(f"<h1>{TITLE}</h1><div class='bar'>{info}</div>{BODY}")) == WANT


@pytest.mark.parametrize(
    "lead",
    [
        "<p class='lead'>国家统计局于2015年3月2日发布的数据显示开局良好。</p>",
        "<p class='lead'>2015-03-02 编辑：李四</p>",
    ],
    ids=["verb-goes-on", "editor-byline"],
)
def test_a_verb_that_goes_on_after_the_date_is_no_label(lead: str) -> None:
    """ "于…日发布的数据" tells of other news, "编辑：" names the editor: neither labels the
    date before it."""
    html = page(f"<h1>{TITLE}</h1>{lead}<div class='info'><span>2016-05-04</span></div>{BODY}")
    assert day_of(html) == WANT


def test_a_label_after_a_date_in_the_body_tells_of_something_else() -> None:
    """In the body "于…日发布" is news the article reports, not a label: the page's own date,
    after the body, stands."""
    body = (
        "<div class='content'><p>"
        + "国家统计局的数据显示，经济运行总体平稳。" * 3
        + "该数据于2015年3月2日发布，引起广泛关注。"
        + "国家统计局的数据显示，经济运行总体平稳。" * 9
        + "</p></div>"
    )
    html = page(f"<h1>{TITLE}</h1>{body}<div class='info'>日期：2016-05-04</div>")
    assert day_of(html) == WANT


def test_a_notices_closing_date_is_still_its_best_guess() -> None:
    """A generic 日期： deep in the body is an event's, but in its closing lines, under the
    signature, it is the notice's own."""
    body = (
        "<div class='content'><p>"
        + "各有关单位：现将活动安排通知如下，请认真组织实施。" * 20
        + "</p><p>某某市科学技术协会</p><p>日期：2016年5月4日</p></div>"
    )
    assert day_of(page(f"<h1>{TITLE}</h1>{body}")) == WANT


def test_traditional_characters_mark_other_items_and_bylines() -> None:
    """A Taiwan page: a 熱門 line's date right under the title is another item's; the date on
    the 來源 line is the article's."""
    info = "<div>熱門：颱風動態 2016-06-01 09:30</div><div>2016-05-04 來源：中央社</div>"
    assert day_of(page(f"<h1>{TITLE}</h1>{info}{BODY}")) == WANT


def test_a_local_clock_time_stamped_as_utc_keeps_the_day_the_page_shows() -> None:
    """Hugo writes a front-matter time without an offset as UTC: ``20:09+00:00`` on a page that
    shows the 4th is 04:09 on the 5th in Shanghai. The clock time is read in the page's zone."""
    head = (
        "<meta property='article:published_time' content='2016-05-04T20:09:02+00:00'>"
        "<script type='application/ld+json'>"
        '{"@type": "BlogPosting", "datePublished": "2016-05-04T20:09:02+00:00"}</script>'
    )
    html = (
        f"<html><head><title>{TITLE}</title>{head}</head><body><h1 class='post-title'>{TITLE}</h1>"
        "<div class='post-meta'><span class='post-time'>2016-05-04</span></div>"
        f"{BODY}</body></html>"
    )
    found = extract_article(html, URL, tz=SHANGHAI)
    assert found.published_at == datetime(2016, 5, 4, 20, 9, 2, tzinfo=SHANGHAI)
    assert found.published_evidence is not None
    assert "page's zone" in found.published_evidence.rule


def test_a_true_utc_time_on_the_previous_day_is_kept() -> None:
    """``2016-05-03T16:00Z`` is midnight of the 4th in Shanghai, the day the page shows."""
    head = "<meta property='article:published_time' content='2016-05-03T16:00:00.000Z'>"
    html = (
        f"<html><head><title>{TITLE}</title>{head}</head><body><h1>{TITLE}</h1>"
        f"<div class='post-meta'><span>2016-05-04</span></div>{BODY}</body></html>"
    )
    assert day_of(html) == WANT
