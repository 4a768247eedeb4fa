"""Tests for ``tests.support.cms_sites``: Hanweb, JPaaS and TRS fixture sites over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.etree
import lxml.html
import pytest
import requests

from tests.support.cms_sites import (
    GAP_AFTER,
    TRUNCATE_AT,
    CmsSite,
    HanwebSite,
    JpaasSite,
    TrsSite,
    truncate_title,
)

Item = tuple[str, str, str, str]  # (absolute url, title attribute, link text, date text)
FAMILIES: tuple[type[CmsSite], ...] = (HanwebSite, JpaasSite, TrsSite)


@pytest.fixture
def hanweb() -> Iterator[HanwebSite]:
    with HanwebSite() as site:
        yield site


@pytest.fixture
def jpaas() -> Iterator[JpaasSite]:
    with JpaasSite() as site:
        yield site


@pytest.fixture
def trs() -> Iterator[TrsSite]:
    with TrsSite() as site:
        yield site


# -- parsing helpers (what a reader of the real sites has to do) ------------------------------


def items_in(fragment: str, base: str) -> list[Item]:
    """Links carrying a title attribute, with the date text next to them (or next to a parent)."""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    found: list[Item] = []
    for link in root.iter("a"):
        if link.get("title") is None:
            continue
        sibling = link.getnext()
        if sibling is None:
            parent = link.getparent()
            sibling = parent.getnext() if parent is not None else None
        day = sibling.text_content().strip() if sibling is not None else ""
        found.append((urljoin(base, link.get("href")), link.get("title"), link.text_content(), day))
    return found


def datastore_items(xml_text: str, base: str) -> tuple[lxml.etree._Element, list[Item]]:
    """Parse a Hanweb ``<datastore>`` and the HTML inside its CDATA records."""
    root = lxml.etree.fromstring(xml_text)
    records = "".join(record.text or "" for record in root.iter("record"))
    return root, items_in(records, base)


def hanweb_column(site: HanwebSite, text: str) -> tuple[lxml.etree._Element, list[Item], str]:
    """The column page's datastore, its records and the jpage configuration script."""
    page = lxml.html.fromstring(text)
    unit = page.get_element_by_id(str(site.UNIT_ID))
    scripts = unit.findall("script")
    xml_script = next(s for s in scripts if s.get("type") == "text/xml")
    config = next(s.text for s in scripts if s.text and "jpage(" in s.text)
    root, found = datastore_items(xml_script.text, site.base_url)
    return root, found, config


def assert_matches_expected(site: CmsSite, found: list[Item]) -> None:
    """Every article exactly once, with full titles in title attributes and its day."""
    urls = [url for url, _, _, _ in found]
    assert len(urls) == len(set(urls))
    expected = site.expected()
    assert urls == [row["url"] for row in expected]
    for (_, title, text, day), row in zip(found, expected, strict=True):
        assert title == row["title"]
        assert text == truncate_title(row["title"])
        digits = re.findall(r"\d+", day)
        assert date(*map(int, digits)).isoformat() == row["date"]


def decode_only_as_gb18030(body: bytes) -> str:
    """Decode a page that claims gb2312; assert that gb2312 and gbk both fail on it."""
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")
    return body.decode("gb18030")


# -- ground truth ------------------------------------------------------------------------------


def test_expected_dates_titles_and_charset_traps(hanweb: HanwebSite) -> None:
    rows = hanweb.expected()
    assert len(rows) == 47
    days = [date.fromisoformat(row["date"]) for row in rows]
    assert days[0] == date(2022, 10, 8)
    steps = {(days[i] - days[i + 1]).days for i in range(len(days) - 1) if i != GAP_AFTER - 1}
    assert steps == {1}
    assert days[GAP_AFTER] == date(2022, 1, 8)
    assert days[-1] == date(2021, 12, 23)
    assert {day.year for day in days} == {2021, 2022}
    titles = [row["title"] for row in rows]
    assert len(set(titles)) == 47
    assert sum(len(title) > TRUNCATE_AT for title in titles) >= 20
    assert any("镕" in title and "𠮷" in title for title in titles)
    assert all(row["url"].startswith(hanweb.base_url + "/art/") for row in rows)


# -- Hanweb ------------------------------------------------------------------------------------


def test_hanweb_column_page_holds_first_group_in_xml_only(
    hanweb: HanwebSite, http: requests.Session
) -> None:
    answer = http.get(hanweb.list_url + "?uid=6983417&pageNum=2")
    assert answer.status_code == 200
    text = answer.text
    assert '<meta name="Generator" content="大汉版通" />' in text
    assert 'src="/module/jslib/jquery/jquery.js"' in text
    assert "Produced By 大汉网络 大汉版通发布系统" in text
    root, found, config = hanweb_column(hanweb, text)
    assert len(found) == 45
    assert "totalRecord:47," in config
    assert "perPage:15," in config
    assert "groupSize:3," in config
    assert "proxyUrl:'/module/web/jpage/dataproxy.jsp'" in config
    nextgroup = lxml.html.fragment_fromstring(root.findtext("nextgroup"))
    target = urlsplit(nextgroup.get("href"))
    assert target.path == hanweb.PROXY_PATH
    query = parse_qs(target.query)
    assert query["columnid"] == [str(hanweb.COLUMN_ID)]
    assert query["unitid"] == [str(hanweb.UNIT_ID)]
    # The records are script text: a selector over the visible DOM finds no article link.
    assert lxml.html.fromstring(text).cssselect('a[href*="/art/"]') == []


def test_hanweb_column_and_dataproxy_yield_every_article_once(
    hanweb: HanwebSite, http: requests.Session
) -> None:
    _, first_group, _ = hanweb_column(hanweb, http.get(hanweb.list_url).text)
    posted = http.post(
        hanweb.proxy_url + "?startrecord=46&endrecord=90&perpage=15", data=hanweb.proxy_form()
    )
    assert posted.status_code == 200
    root, rest = datastore_items(posted.text, hanweb.base_url)
    assert root.findtext("totalrecord") == "47"
    assert len(rest) == 2
    assert_matches_expected(hanweb, first_group + rest)

    pages: list[Item] = []
    for start in range(1, 48, 15):
        query = {**hanweb.proxy_form(), "startrecord": str(start), "endrecord": str(start + 14)}
        answer = http.get(hanweb.proxy_url, params={**query, "perpage": "15"})
        assert answer.status_code == 200
        root, found = datastore_items(answer.text, hanweb.base_url)
        assert root.findtext("totalpage") == "4"
        pages.extend(found)
    assert len(pages) == 47
    assert_matches_expected(hanweb, pages)


def test_hanweb_dataproxy_refuses_wrong_or_missing_ids(
    hanweb: HanwebSite, http: requests.Session
) -> None:
    wrong = {**hanweb.proxy_form(), "columnid": "1229000000"}
    answer = http.post(hanweb.proxy_url + "?startrecord=1&endrecord=45&perpage=15", data=wrong)
    assert answer.status_code == 200
    root, found = datastore_items(answer.text, hanweb.base_url)
    assert found == []
    assert root.findtext("totalrecord") == "0"
    missing = {key: value for key, value in hanweb.proxy_form().items() if key != "unitid"}
    answer = http.post(hanweb.proxy_url + "?startrecord=1&endrecord=45&perpage=15", data=missing)
    assert answer.status_code == 400


def test_hanweb_mislabelled_gb2312_decodes_only_as_gb18030(http: requests.Session) -> None:
    with HanwebSite(encoding="gb18030", declared_charset="gb2312") as site:
        answer = http.get(site.list_url)
        assert answer.headers["Content-Type"] == "text/html; charset=gb2312"
        text = decode_only_as_gb18030(answer.content)
        assert 'content="text/html; charset=gb2312"' in text
        _, found, _ = hanweb_column(site, text)
        assert any("𠮷" in title for _, title, _, _ in found)
        article = http.get(site.article_url(45))
        body = decode_only_as_gb18030(article.content)
        assert "记者 陈镕 通讯员 𠮷雅" in body
        proxied = http.get(site.proxy_url, params={**site.proxy_form(), "startrecord": "1"})
        decode_only_as_gb18030(proxied.content)


def test_hanweb_article_pages_look_like_hanweb(hanweb: HanwebSite, http: requests.Session) -> None:
    even = http.get(hanweb.article_url(46)).text
    assert "发布日期：2022-10-07 " in even
    assert '<meta name="PubDate" content="2022-10-07 ' in even
    odd = http.get(hanweb.article_url(45))
    assert odd.status_code == 200
    page = lxml.html.fromstring(odd.text)
    assert "发布时间：2022年10月6日" in odd.text
    assert '<meta name="PubDate"' not in odd.text  # 45 % 3 == 0: the date is only in the text
    assert (
        page.cssselect('meta[name="ArticleTitle"]')[0].get("content")
        == hanweb.get_article(45).title
    )
    assert "【字体：" in odd.text and "打印本页" in odd.text and "关闭窗口" in odd.text
    zoom = page.get_element_by_id("zoom")
    assert len(zoom.findall(".//p")) > 20
    images = [img.get("src") for img in zoom.iter("img")]
    assert len(images) == 2 and all(src.startswith("/picture/") for src in images)
    picture = http.get(hanweb.base_url + images[0])
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/jpeg"
    links = [a for a in zoom.iter("a") if "downfile.jsp" in a.get("href", "")]
    assert [a.text for a in links] == ["实施方案.pdf"]
    assert "附件：" in (links[0].getparent().text or "")
    attachment = http.get(hanweb.base_url + links[0].get("href"))
    assert attachment.status_code == 200 and attachment.content.startswith(b"%PDF")
    assert not lxml.html.fromstring(even).get_element_by_id("zoom").cssselect("a")


def test_large_hanweb_column_renders_fast(http: requests.Session) -> None:
    began = time.perf_counter()
    with HanwebSite(articles=2000) as site:
        _, found, config = hanweb_column(site, http.get(site.list_url).text)
        answer = http.post(
            site.proxy_url + "?startrecord=1956&endrecord=2000&perpage=15",
            data=site.proxy_form(),
        )
        _, tail = datastore_items(answer.text, site.base_url)
        oldest = http.get(tail[-1][0])
        assert oldest.status_code == 200
        for article in site.articles[:300]:  # push the oldest page out of the render cache
            site.cached_article(article)
        again = http.get(tail[-1][0], headers={"If-None-Match": oldest.headers["ETag"]})
        assert again.status_code == 304
    assert len(found) == 45 and "totalRecord:2000," in config
    assert [url for url, _, _, _ in tail] == [row["url"] for row in site.expected()[-45:]]
    assert time.perf_counter() - began < 2.0


# -- JPaaS -------------------------------------------------------------------------------------


def jpaas_script(text: str) -> lxml.html.HtmlElement:
    """The ``bulidstatic`` unit script of a JPaaS column page."""
    scripts = lxml.html.fromstring(text).cssselect('script[parsetype="bulidstatic"]')
    assert len(scripts) == 1
    return scripts[0]


def test_jpaas_column_page_has_single_quoted_bulidstatic_script(
    jpaas: JpaasSite, http: requests.Session
) -> None:
    text = http.get(jpaas.list_url).text
    assert "queryData=\"{'parseType':'bulidstatic','webId':'" in text
    script = jpaas_script(text)
    assert script.get("url") == "/api-gateway/jpaas-publish-server/front/page/build/unit"
    query = json.loads(script.get("querydata").replace("'", '"'))
    assert query == jpaas.query_data()
    assert query["tagId"] == "当前栏目list"
    assert "/art/" not in text  # the list is not in the page, only behind the API


def test_jpaas_api_pages_yield_every_article_once(jpaas: JpaasSite, http: requests.Session) -> None:
    script = jpaas_script(http.get(jpaas.list_url).text)
    api = urljoin(jpaas.list_url, script.get("url"))
    query = json.loads(script.get("querydata").replace("'", '"'))
    found: list[Item] = []
    page = 1
    while True:
        paging = json.dumps({"pageNo": page, "pageSize": 10})
        answer = http.get(api, params={**query, "paramJson": paging})
        assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
        data = answer.json()
        assert data["success"] is True
        if not data["data"]["html"]:
            break
        assert f"共47条 第{page}/5页" in data["data"]["html"]
        found.extend(items_in(data["data"]["html"], jpaas.base_url))
        page += 1
    assert page == 6
    assert_matches_expected(jpaas, found)
    default = http.get(api, params=query).json()
    assert len(items_in(default["data"]["html"], jpaas.base_url)) == 15


def test_jpaas_api_refuses_wrong_ids_and_silently_empties_wrong_template(
    jpaas: JpaasSite, http: requests.Session
) -> None:
    query = jpaas.query_data()
    wrong_page = http.get(jpaas.api_url, params={**query, "pageId": "0" * 32}).json()
    assert wrong_page["success"] is False and wrong_page["data"]["html"] == ""
    wrong_web = http.get(jpaas.api_url, params={**query, "webId": "0" * 32}).json()
    assert wrong_web["success"] is False
    misspelt = http.get(jpaas.api_url, params={**query, "parseType": "buildstatic"}).json()
    assert misspelt["success"] is True and misspelt["data"]["html"] == ""


def test_jpaas_article_carries_pubdate_and_zoom(jpaas: JpaasSite, http: requests.Session) -> None:
    row = jpaas.expected()[31]
    answer = http.get(row["url"])
    assert answer.status_code == 200
    page = lxml.html.fromstring(answer.text)
    assert page.cssselect('meta[name="ArticleTitle"]')[0].get("content") == row["title"]
    pubdate = page.cssselect('meta[name="PubDate"]')[0].get("content")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", pubdate)
    assert pubdate[:10] == row["date"]
    zoom = page.get_element_by_id("zoom")
    assert "记者 陈镕 通讯员 𠮷雅" in zoom.text_content()
    src = next(zoom.iter("img")).get("src")
    assert http.get(jpaas.base_url + src).status_code == 200
    assert http.get(row["url"].replace("/art_", "/art_0")).status_code == 404


# -- TRS ---------------------------------------------------------------------------------------

_CREATE_PAGE = re.compile(r'createPageHTML\((\d+), (\d+), "index", "html"\);')


def test_trs_index_pages_yield_every_article_once(trs: TrsSite, http: requests.Session) -> None:
    first = http.get(trs.list_url).text
    pages, current = map(int, _CREATE_PAGE.findall(first)[0])
    assert (pages, current) == (3, 0) == (trs.page_count, 0)
    assert "function createPageHTML(_nPageCount, _nCurrIndex" in first
    found = items_in(first, trs.list_url)
    assert found[0][0].endswith("/col/tzgg/202210/t20221008_5123047.html")
    assert 'href="./202210/t20221008_5123047.html"' in first
    for index in range(1, pages):
        url = trs.list_page_url(index)
        text = http.get(url).text
        assert _CREATE_PAGE.findall(text) == [(str(pages), str(index))]
        found.extend(items_in(text, url))
    assert_matches_expected(trs, found)
    assert http.get(trs.list_page_url(pages)).status_code == 404
    assert http.get(trs.base_url + "/col/tzgg/index_0.html").status_code == 404


def test_trs_article_has_trs_metas_editor_and_relative_files(
    trs: TrsSite, http: requests.Session
) -> None:
    url = trs.article_url(45)
    text = http.get(url).text
    page = lxml.html.fromstring(text)
    article = trs.get_article(45)
    assert page.cssselect('meta[name="ArticleTitle"]')[0].get("content") == article.title
    assert page.cssselect('meta[name="PubDate"]')[0].get("content").startswith("2022-10-06 ")
    assert page.cssselect('meta[name="ContentSource"]')[0].get("content") == article.source
    assert "发布日期：2022年10月06日" in text
    assert "分享到：" in text
    editor = page.cssselect(".TRS_Editor")[0]
    assert editor.find("style") is not None
    images = [urljoin(url, img.get("src")) for img in editor.iter("img")]
    assert len(images) == 2 and all(re.search(r"/202210/W020221006\d+\.jpg$", i) for i in images)
    assert all(http.get(image).status_code == 200 for image in images)
    attachment = page.cssselect(".fujian a")[0]
    assert attachment.text == "实施方案.pdf"
    assert http.get(urljoin(url, attachment.get("href"))).content.startswith(b"%PDF")


# -- shared behaviour --------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("status", [412, 521])
def test_anti_bot_answers_every_page_with_a_cookie_challenge(
    family: type[CmsSite], status: int, http: requests.Session
) -> None:
    with family(anti_bot=status) as site:
        for url in (site.list_url, site.article_url(3)):
            answer = http.get(url)
            assert answer.status_code == status
            assert re.search(r"<script[^>]*>.*document\.cookie=", answer.text)
            assert "location." in answer.text
            assert answer.headers["Set-Cookie"]
        site.anti_bot = None
        assert http.get(site.list_url).status_code == 200
        with pytest.raises(ValueError, match="anti_bot"):
            site.anti_bot = 403


def conditional_urls(site: CmsSite) -> list[tuple[str, bool]]:
    """A list page and the family's list API (if any), each with: does a new article change it?"""
    if isinstance(site, HanwebSite):
        query = "&".join(f"{key}={value}" for key, value in site.proxy_form().items())
        return [
            (site.list_url, True),
            (f"{site.proxy_url}?startrecord=1&endrecord=45&{query}", True),
        ]
    if isinstance(site, JpaasSite):
        query = "&".join(f"{key}={value}" for key, value in site.query_data().items())
        return [(site.list_url, False), (f"{site.api_url}?{query}", True)]
    assert isinstance(site, TrsSite)
    return [(site.list_url, True), (site.list_page_url(1), True)]


@pytest.mark.parametrize("family", FAMILIES)
def test_conditional_get_round_trips(family: type[CmsSite], http: requests.Session) -> None:
    with family() as site:
        article_url = site.article_url(40)
        lists = conditional_urls(site)
        tags: dict[str, str] = {}
        for url in [*(url for url, _ in lists), article_url]:
            first = http.get(url)
            assert first.status_code == 200
            tags[url] = first.headers["ETag"]
            again = http.get(url, headers={"If-None-Match": tags[url]})
            assert again.status_code == 304 and again.content == b""
            since = http.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
            assert since.status_code == 304
        site.edit_article(40, "补充说明：示范区建设进展顺利。")
        edited = http.get(article_url, headers={"If-None-Match": tags[article_url]})
        assert edited.status_code == 200
        assert "补充说明：示范区建设进展顺利。" in edited.text
        assert edited.headers["ETag"] != tags[article_url]
        site.add_article()
        for url, changes in lists:
            status = http.get(url, headers={"If-None-Match": tags[url]}).status_code
            assert status == (200 if changes else 304)
        assert site.expected()[0]["date"] == (date(2022, 10, 8) + timedelta(days=1)).isoformat()
        assert site.hits(urlsplit(article_url).path) == 4


def list_markup(site: CmsSite, http: requests.Session) -> str:
    """The HTML that holds the column's list items."""
    if isinstance(site, JpaasSite):
        query = json.loads(
            jpaas_script(http.get(site.list_url).text).get("querydata").replace("'", '"')
        )
        return str(http.get(site.api_url, params=query).json()["data"]["html"])
    if isinstance(site, HanwebSite):
        _, _, config = hanweb_column(site, http.get(site.list_url).text)
        records = http.get(site.proxy_url, params={**site.proxy_form(), "startrecord": "1"})
        return config + records.text
    return http.get(site.list_url).text


def item_shape(markup: str) -> set[str]:
    """Tag and class of every element that wraps an article link: a layout fingerprint."""
    text = "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", markup, re.S)) or markup
    root = lxml.html.fragment_fromstring(text, create_parent="div")
    shapes = set()
    for link in root.iter("a"):
        if link.get("title") is not None:
            parent = link.getparent()
            shapes.add(f"{parent.tag}.{parent.get('class')}>a.{link.get('class')}")
    return shapes


@pytest.mark.parametrize("family", FAMILIES)
def test_layout_switch_changes_list_markup_not_content(
    family: type[CmsSite], http: requests.Session
) -> None:
    with family() as site:
        classic = list_markup(site, http)
        site.layout = "redesign"
        redesign = list_markup(site, http)
        assert item_shape(classic) and item_shape(redesign)
        assert item_shape(classic).isdisjoint(item_shape(redesign))
        base = site.list_url
        urls = {url for url, _, _, _ in items_in(re.sub(r"<!\[CDATA\[|\]\]>", "", redesign), base)}
        assert urls and urls <= {row["url"] for row in site.expected()}
        with pytest.raises(ValueError, match="layout"):
            site.layout = "modern"


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_paths_are_404_and_posts_to_pages_405(
    family: type[CmsSite], http: requests.Session
) -> None:
    with family() as site:
        assert http.get(site.base_url + "/no/such/page.html").status_code == 404
        assert http.post(site.list_url, data={"a": "1"}).status_code == 405
        assert site.hits("/no/such/") == 1
        assert site.requests_log[-1] == ("POST", urlsplit(site.list_url).path, 405)


def test_latency_delays_every_answer(http: requests.Session) -> None:
    with TrsSite(articles=3, latency=0.05) as site:
        began = time.perf_counter()
        assert http.get(site.list_url).status_code == 200
        assert time.perf_counter() - began >= 0.05
