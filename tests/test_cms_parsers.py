"""CMS family parsers (Hanweb classic, Hanweb JPaaS, TRS WCM): pages in tests/data/cms/ → items.

The paging descriptions (dataproxy groups, JPaaS ``paramJson``) are also followed against
local servers that answer like the real endpoints.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from worker.sources.base import SourceError
from worker.sources.cms import is_attachment_url, is_content_link
from worker.sources.hanweb import (
    DataProxy,
    dataproxy_request,
    is_hanweb_article,
    parse_datastore,
    parse_hanweb_column,
)
from worker.sources.jpaas import (
    JpaasQuery,
    find_jpaas_queries,
    jpaas_request,
    parse_jpaas_answer,
)
from worker.sources.jsobject import parse_js_object
from worker.sources.rowitems import parse_link_items
from worker.sources.trs import TrsList, is_trs_article, parse_trs_list, trs_page_url

DATA = Path(__file__).parent / "data" / "cms"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 12, 1, 12, 0, tzinfo=SHANGHAI)
CAST = "https://www.cast.org.cn"
COLUMN_URL = f"{CAST}/col/col79/index.html"
TRS_URL = "https://kx.cq.gov.cn/kxyw/tzgg/"

FULL_TITLES = [
    "打造全国地方科协综合改革示范区",
    "重庆市科协召开推进示范区建设工作会议部署下一阶段重点任务",
    "中国农学会科技志愿服务渝妹儿科普兴农分队走进涪陵区龙潭镇",
    "纪念朱镕基同志视察重庆市科协三十周年座谈会在渝召开",
    "𠮷祥科普大篷车开进渝东南十个区县助力乡村振兴",
    "重庆市级科技社团已达174家将发起一批新科技社团",
    "《重庆打造全国地方科协综合改革示范区实施方案（2021-2025年）》正式印发",
    "深化科技社团改革推动改革向纵深拓展向基层延伸",
    "科协系统深化改革试点单位经验交流会举行",
    "突出地方特色突出综合特性突出示范特质",
    "完成中央和地方科协工作指导和联动机制研究课题",
    "抓纲带目攻坚克难推动改革和发展深度融合高效联动",
    "为新时代地方科协系统深化改革提供重庆示范",
    "重庆市委深改委会议审定示范区实施方案",
    "科协改革2.0版：从单项突破到综合革新的系统升华",
]
DAYS = [
    (2022, 10, 8, 5678),
    (2022, 10, 7, 5677),
    (2022, 10, 6, 5676),
    (2022, 10, 5, 5675),
    (2022, 10, 4, 5674),
    (2022, 10, 3, 5673),
    (2022, 9, 30, 5670),
    (2022, 9, 29, 5669),
    (2022, 9, 28, 5668),
    (2022, 9, 27, 5667),
    (2022, 9, 26, 5666),
    (2022, 9, 23, 5663),
    (2022, 9, 22, 5662),
    (2022, 9, 21, 5661),
    (2022, 9, 20, 5660),
]


def day(year: int, month: int, day_: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day_, hour, minute, tzinfo=SHANGHAI)


def read_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def hanweb_column_text() -> str:
    return (DATA / "hanweb_column_gbk.html").read_bytes().decode("gb18030")


# --- shared row reader ----------------------------------------------------------------------


def test_link_items_read_rows_of_every_shape() -> None:
    fragment = """
    <ul class="list">
      <li><a href="a1.html" title="打造全国地方科协综合改革示范区">打造全国地方科协...</a>
          <span>2022-10-08</span></li>
    </ul>
    <table><tr><td><a href="/b2.html">重庆市科协召开推进示范区建设工作会议</a></td>
      <td>2022年10月7日</td></tr></table>
    <div class="item"><a href="c3.html#top">拉开大幕</a><em>[10-06]</em></div>
    <div class="item"><a href="d4.html"><span>研判形势</span><i>(10-05)</i></a></div>
    <div class="news"><div class="t"><a href="e5.html">科技社团改革</a></div>
      <div class="d"><b>04</b><em>2022-10</em></div></div>
    <dl><dd><a href="f6.html" title="点击查看">深化改革试点单位</a><i>2022.10.03</i></dd></dl>
    <ul><li><a href="g7.html">通知<img src="new.gif" alt="new icon"></a>
      <span>发布时间：2022-10-02 10:21</span></li></ul>
    """
    items = parse_link_items(fragment, COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert [(i.url, i.title, i.published_at) for i in items] == [
        (
            f"{CAST}/col/col79/a1.html",
            "打造全国地方科协综合改革示范区",
            day(2022, 10, 8),
        ),
        (f"{CAST}/b2.html", "重庆市科协召开推进示范区建设工作会议", day(2022, 10, 7)),
        (f"{CAST}/col/col79/c3.html", "拉开大幕", day(2022, 10, 6)),
        (f"{CAST}/col/col79/d4.html", "研判形势", day(2022, 10, 5)),
        (f"{CAST}/col/col79/e5.html", "科技社团改革", day(2022, 10, 4)),
        (f"{CAST}/col/col79/f6.html", "深化改革试点单位", day(2022, 10, 3)),
        (f"{CAST}/col/col79/g7.html", "通知", day(2022, 10, 2, 10, 21)),
    ]


def test_link_items_definition_lists_take_the_date_after_the_title() -> None:
    fragment = """
    <div class="news-list">
      <dl class="news-item"><dt>
        <a href="/a1.html" title="打造全国地方科协综合改革示范区">打造...</a></dt>
        <dd class="news-date">2022/10/08</dd></dl>
      <dl class="news-item"><dt><a href="/a2.html">拉开大幕</a></dt><dd>2022/10/07</dd></dl>
    </div>
    <dl class="flat"><dt><a href="/b1.html">研判形势</a></dt><dd>[10-06]</dd>
      <dt><a href="/b2.html">科技社团改革</a></dt><dd>[10-05]</dd>
      <dt><a href="/b3.html">无日期</a></dt></dl>
    """
    items = parse_link_items(fragment, COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert [(i.url, i.title, i.published_at) for i in items] == [
        (f"{CAST}/a1.html", "打造全国地方科协综合改革示范区", day(2022, 10, 8)),
        (f"{CAST}/a2.html", "拉开大幕", day(2022, 10, 7)),
        (f"{CAST}/b1.html", "研判形势", day(2022, 10, 6)),
        (f"{CAST}/b2.html", "科技社团改革", day(2022, 10, 5)),
        (f"{CAST}/b3.html", "无日期", None),
    ]


def test_link_items_flat_list_filter_and_duplicate_links() -> None:
    fragment = """
    <div class="list">
      <a href="/art/2022/10/8/art_79_5678.html">打造全国地方科协综合改革示范区</a> 2022-10-08<br>
      <a href="/module/download/downfile.jsp?filename=a.pdf">附件</a><br>
      <a href="/art/2022/10/7/art_79_5677.html">重庆市科协召开推进会</a> 发布日期：2022-10-07<br>
    </div>
    <ul><li><a href="/art/2022/10/6/art_79_5676.html"><img src="/p.jpg" alt="图"></a>
      <a href="/art/2022/10/6/art_79_5676.html"
         title="中国农学会科技志愿服务渝妹儿科普兴农分队">中国农学会…</a>
      <span>2022-10-06</span></li></ul>
    """
    items = parse_link_items(
        fragment, COLUMN_URL, tz=SHANGHAI, now=NOW, is_article=is_hanweb_article
    )
    assert [(i.url, i.title, i.published_at) for i in items] == [
        (
            f"{CAST}/art/2022/10/8/art_79_5678.html",
            "打造全国地方科协综合改革示范区",
            day(2022, 10, 8),
        ),
        (f"{CAST}/art/2022/10/7/art_79_5677.html", "重庆市科协召开推进会", day(2022, 10, 7)),
        (
            f"{CAST}/art/2022/10/6/art_79_5676.html",
            "中国农学会科技志愿服务渝妹儿科普兴农分队",
            day(2022, 10, 6),
        ),
    ]


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("[12-30]", datetime(2023, 1, 5, tzinfo=SHANGHAI), day(2022, 12, 30)),
        ("[01-03]", datetime(2023, 1, 5, tzinfo=SHANGHAI), day(2023, 1, 3)),
        ("(10-08)", NOW, day(2022, 10, 8)),
        ("10月8日", NOW, day(2022, 10, 8)),
        ("2022-10-08 10:21", NOW, day(2022, 10, 8, 10, 21)),
        ("", NOW, None),
    ],
)
def test_link_items_yearless_dates_take_the_latest_past_year(
    text: str, now: datetime, expected: datetime | None
) -> None:
    items = parse_link_items(
        f'<li><a href="/x/a.html">打造全国地方科协综合改革示范区</a><span>{text}</span></li>',
        COLUMN_URL,
        tz=SHANGHAI,
        now=now,
    )
    assert items[0].published_at == expected


def test_link_items_empty_fragment() -> None:
    assert parse_link_items("   ", COLUMN_URL, tz=SHANGHAI) == []
    assert parse_link_items("<p>没有链接</p>", COLUMN_URL, tz=SHANGHAI) == []


@pytest.mark.parametrize(
    ("url", "attachment", "content"),
    [
        (f"{CAST}/module/download/downfile.jsp?classid=0&filename=221008.pdf", True, False),
        (f"{CAST}/picture/0/2210061035123.pdf", True, False),
        (f"{CAST}/art/2022/10/8/art_79_5678.html", False, True),
        ("https://kx.cq.gov.cn/tzgg/202209/P020220929512345678901.DOCX", True, False),
        (f"{CAST}/download.jsp?file=report.xlsx", True, False),
        (f"{CAST}/show.jsp?file=page.html", False, True),
        (f"{CAST}/col/col79/index.html", False, False),
        (f"{CAST}/col/col79/", False, False),
        (f"{CAST}/tzgg/index_2.html", False, False),
        (f"{CAST}/module/web/jpage/dataproxy.jsp", False, False),
        ("https://www.gov.cn", False, False),
        ("https://mp.weixin.qq.com/s/Abc_Def123", False, True),
        (f"{CAST}/col/col79/art/2022/art_9f1c2d3e4b5a69788796a5b4c3d2e1f0.html", False, True),
    ],
)
def test_url_classifiers(url: str, attachment: bool, content: bool) -> None:
    assert is_attachment_url(url) is attachment
    assert is_content_link(url) is content


def test_js_object_literal_reader() -> None:
    text = (
        "$('#1234').jpage({col:1, appid:'1', path:'/', webname:\"中国\\\"科协\", "
        "nested:{a:[1, 'b']}, fn:encodeURI('x,y'), flag:true, none:null, ratio:1.5,})"
    )
    assert parse_js_object(text) == {
        "col": 1,
        "appid": "1",
        "path": "/",
        "webname": '中国"科协',
        "nested": {"a": [1, "b"]},
        "fn": "encodeURI('x,y')",
        "flag": True,
        "none": None,
        "ratio": 1.5,
    }
    assert parse_js_object("no object here") is None


# --- Hanweb classic ---------------------------------------------------------------------------


def test_hanweb_fixture_needs_gb18030() -> None:
    raw = (DATA / "hanweb_column_gbk.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gbk")
    assert "朱镕基" in raw.decode("gb18030")


def test_hanweb_column_records_have_full_titles_and_days() -> None:
    listing = parse_hanweb_column(hanweb_column_text(), COLUMN_URL, tz=SHANGHAI, now=NOW)
    column_items = listing.items[:15]
    assert [item.url for item in column_items] == [
        f"{CAST}/art/{y}/{m}/{d}/art_79_{n}.html" for y, m, d, n in DAYS
    ]
    assert [item.title for item in column_items] == FULL_TITLES
    assert [item.published_at for item in column_items] == [day(y, m, d) for y, m, d, _ in DAYS]
    # the second datastore is a side list of another column (art_80_…): not this column's
    assert len(listing.items) == 15
    assert not any("art_80_" in item.url for item in listing.items)
    assert not any("downfile" in item.url for item in listing.items)


def test_hanweb_column_total_and_proxy() -> None:
    listing = parse_hanweb_column(hanweb_column_text(), COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert listing.total_records == 47
    assert listing.proxy == DataProxy(
        url=f"{CAST}/module/web/jpage/dataproxy.jsp",
        params={
            "appid": "1",
            "webid": "3",
            "path": "/",
            "columnid": "79",
            "unitid": "1234",
            "webname": "中国科协",
            "permissiontype": "0",
            "col": "1",
            "sourceContentType": "1",
        },
        perpage=15,
        group=45,
    )


def test_hanweb_table_records_and_script_proxy() -> None:
    page_url = "https://kx.cq.gov.cn/col/col1229/index.html"
    listing = parse_hanweb_column(
        read_text("hanweb_column_table.html"), page_url, tz=SHANGHAI, now=NOW
    )
    assert [(i.url, i.title, i.published_at) for i in listing.items] == [
        (
            "https://kx.cq.gov.cn/art/2022/10/8/art_1229_66001.html",
            "关于印发《重庆市科协2022年深化改革工作要点》的通知",
            day(2022, 10, 8),
        ),
        (
            "https://kx.cq.gov.cn/art/2022/9/30/art_1229_65950.html",
            "重庆市科协关于开展全国科普日活动的通知",
            day(2022, 9, 30),
        ),
        (
            "https://mp.weixin.qq.com/s/Abc_Def123",
            "“能听懂”“接地气”“作用大”——科普兴农分队走进田间",
            day(2022, 9, 28),
        ),
        # no date in the row: the day of the /art/2022/9/25/ path
        (
            "https://kx.cq.gov.cn/art/2022/9/25/art_1229_65901.html",
            "科协改革2.0版",
            day(2022, 9, 25),
        ),
    ]
    assert listing.total_records == 126
    assert listing.proxy == DataProxy(
        url="https://kx.cq.gov.cn/module/jslib/jquery/jpage/dataproxy.jsp",
        params={
            "col": "1",
            "appid": "1",
            "webid": "12",
            "path": "/",
            "columnid": "1229",
            "sourceContentType": "3",
            "unitid": "561",
            "webname": "重庆市科协",
            "permissiontype": "0",
        },
        perpage=20,
        group=40,
    )


def test_hanweb_page_without_datastore() -> None:
    plain = (
        "<html><body><ul><li><a href='/art/2022/10/8/art_79_1.html'>x</a></li></ul></body></html>"
    )
    listing = parse_hanweb_column(plain, COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert (listing.items, listing.total_records, listing.proxy) == ([], None, None)
    scripted = plain.replace(
        "</body>",
        "<script>$('#9').jpage({totalRecord:30,perPage:10,"
        "proxyUrl:'/module/jpage/dataproxy.jsp',ajaxParam:{columnid:79,unitid:'9'}});</script></body>",
    )
    listing = parse_hanweb_column(scripted, COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert listing.items == []
    assert listing.total_records == 30
    assert listing.proxy == DataProxy(
        url=f"{CAST}/module/jpage/dataproxy.jsp",
        params={"columnid": "79", "unitid": "9", "col": "1", "appid": "1"},
        perpage=10,
        group=30,
    )


def test_hanweb_dataproxy_answer_with_declaration() -> None:
    answer_url = f"{CAST}/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15"
    listing = parse_datastore(
        read_text("hanweb_dataproxy_46_90.xml"), answer_url, tz=SHANGHAI, now=NOW
    )
    assert [(i.url, i.title, i.published_at) for i in listing.items] == [
        (
            f"{CAST}/art/2021/1/6/art_79_4102.html",
            "中国科协深化改革领导小组会议审议科协改革工作要点",
            day(2021, 1, 6),
        ),
        (
            f"{CAST}/art/2020/12/14/art_79_4011.html",
            "中国科协改革工作办公室致函重庆商请打造全国地方科协综合改革示范区",
            day(2020, 12, 14),
        ),
    ]
    assert listing.total_records == 47
    assert listing.proxy is not None
    assert listing.proxy.url == f"{CAST}/module/web/jpage/dataproxy.jsp"
    assert listing.proxy.params["columnid"] == "79"


def test_hanweb_dataproxy_answer_gbk_without_declaration_or_cdata() -> None:
    body = (
        "<datastore><recordset>"
        "<record>&lt;li&gt;&lt;a href='/art/2022/10/5/art_79_5675.html' "
        "title='纪念朱镕基同志视察重庆市科协三十周年座谈会在渝召开'&gt;纪念朱镕基同志...&lt;/a&gt;"
        "&lt;span&gt;[10-05]&lt;/span&gt;&lt;/li&gt;</record>"
        "<record><![CDATA[<li><a href='/art/2022/10/4/art_79_5674.html'>"
        "𠮷祥科普大篷车开进渝东南</a>(2022-10-04)</li>]]></record>"
        "</recordset></datastore>"
    ).encode("gb18030")
    listing = parse_datastore(body.decode("gb18030"), COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert [(i.title, i.published_at) for i in listing.items] == [
        ("纪念朱镕基同志视察重庆市科协三十周年座谈会在渝召开", day(2022, 10, 5)),
        ("𠮷祥科普大篷车开进渝东南", day(2022, 10, 4)),
    ]
    assert listing.total_records is None
    assert listing.proxy is None


def test_hanweb_dataproxy_answer_that_is_not_a_datastore() -> None:
    with pytest.raises(SourceError) as caught:
        parse_datastore(
            "<html><script>document.cookie='__jsl_clearance=1';</script></html>",
            COLUMN_URL,
            tz=SHANGHAI,
        )
    assert caught.value.reason == "malformed"
    assert str(caught.value).startswith("hanweb:")


@pytest.mark.parametrize(
    ("group_index", "start", "end"), [(0, 1, 45), (1, 46, 90), (2, 91, 135), (10, 451, 495)]
)
def test_dataproxy_request_groups(group_index: int, start: int, end: int) -> None:
    proxy = DataProxy(
        url=f"{CAST}/module/web/jpage/dataproxy.jsp",
        params={"col": "1", "columnid": "79", "webname": "中国科协"},
        perpage=15,
        group=45,
    )
    url, form, query = dataproxy_request(proxy, group_index)
    assert url == (
        f"{CAST}/module/web/jpage/dataproxy.jsp?startrecord={start}&endrecord={end}&perpage=15"
    )
    assert form == {"col": "1", "columnid": "79", "webname": "中国科协"}
    assert query == form
    form["col"] = "2"
    assert proxy.params["col"] == "1"


def test_dataproxy_request_rejects_negative_group() -> None:
    with pytest.raises(ValueError, match="hanweb"):
        dataproxy_request(DataProxy(url=f"{CAST}/dataproxy.jsp", params={}), -1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{CAST}/art/2022/10/8/art_79_5678.html", True),
        (f"{CAST}/art/2022/10/8/art_79_5678.jhtml", True),
        ("http://www.zj.gov.cn/art/2022/1/20/art_1229_1486865.html?xxgkhide=1", True),
        (f"{CAST}/col/col79/art/2026/art_9f1c2d3e4b5a69788796a5b4c3d2e1f0.html", True),
        (f"{CAST}/col/col79/index.html", False),
        (f"{CAST}/art/2022/10/8/", False),
        (f"{CAST}/module/download/downfile.jsp?filename=art_1.html", False),
    ],
)
def test_is_hanweb_article(url: str, expected: bool) -> None:
    assert is_hanweb_article(url) is expected


# --- Hanweb JPaaS ------------------------------------------------------------------------------


def test_jpaas_queries_from_bulidstatic_scripts() -> None:
    queries = find_jpaas_queries(read_text("jpaas_column.html"), COLUMN_URL)
    api = f"{CAST}/api-gateway/jpaas-publish-server/front/page/build/unit"
    common = {
        "webId": "c7a1ef0b5a4e4a6bb9d1d4f0c3e2a1b7",
        "pageId": "ceb0bd1e2d4d4c4fb8f3e1d7c5a9b6e3",
        "parseType": "bulidstatic",
        "pageType": "column",
        "tplSetId": "LpcyxkYSwRoJNKPT7EX2v",
        "editType": "null",
    }
    assert queries == [
        JpaasQuery(
            api_url=api,
            params={**common, "tagId": "当前栏目list"},
            param_json={"pageNo": 1, "pageSize": "10", "orderBy": "pubDate"},
        ),
        JpaasQuery(api_url=api, params={**common, "tagId": "热点排行"}, param_json={}),
    ]
    assert list(queries[0].params) == [
        "webId",
        "pageId",
        "parseType",
        "pageType",
        "tagId",
        "tplSetId",
        "editType",
    ]


def test_jpaas_query_json_querydata_and_relative_url() -> None:
    page = (
        '<script parsetype="bulidstatic" url="../api/build/unit" '
        'querydata=\'{"webId":"12","pageId":"34","paramJson":{"pageNo":1,"pageSize":15}}\'>'
        "</script><script>var x = 1;</script>"
    )
    queries = find_jpaas_queries(page, "https://www.example.gov.cn/site/col/index.html")
    assert queries == [
        JpaasQuery(
            api_url="https://www.example.gov.cn/site/api/build/unit",
            params={"webId": "12", "pageId": "34", "parseType": "bulidstatic"},
            param_json={"pageNo": 1, "pageSize": 15},
        )
    ]
    assert find_jpaas_queries("<html><body><p>x</p></body></html>", COLUMN_URL) == []


def test_jpaas_request_param_json() -> None:
    query = JpaasQuery(
        api_url=f"{CAST}/api-gateway/jpaas-publish-server/front/page/build/unit",
        params={"webId": "1", "pageId": "2", "parseType": "bulidstatic"},
        param_json={"orderBy": "pubDate", "pageSize": "10", "pageNo": 1},
    )
    url, params = jpaas_request(query, 3)
    assert url == query.api_url
    assert params == {
        "webId": "1",
        "pageId": "2",
        "parseType": "bulidstatic",
        "paramJson": '{"pageNo":3,"pageSize":"10","orderBy":"pubDate"}',
    }
    assert jpaas_request(query, 2, 20)[1]["paramJson"] == (
        '{"pageNo":2,"pageSize":20,"orderBy":"pubDate"}'
    )
    bare = JpaasQuery(api_url=query.api_url, params={"tagId": "列表"})
    assert jpaas_request(bare, 1)[1] == {"tagId": "列表", "paramJson": '{"pageNo":1}'}
    with pytest.raises(ValueError, match="jpaas"):
        jpaas_request(query, 0)


def test_jpaas_answer_items_and_paging() -> None:
    answer = parse_jpaas_answer(read_text("jpaas_answer.json"), COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert [(i.url, i.title, i.published_at) for i in answer.items] == [
        (
            f"{CAST}/col/col79/art/2022/art_9f1c2d3e4b5a69788796a5b4c3d2e1f0.html",
            "打造全国地方科协综合改革示范区",
            day(2022, 10, 8),
        ),
        (
            f"{CAST}/art/2022/10/7/art_79_5677.html",
            "重庆市科协召开推进示范区建设工作会议部署下一阶段重点任务",
            day(2022, 10, 7),
        ),
        (
            f"{CAST}/col/col79/art/2022/art_0a1b2c3d4e5f60718293a4b5c6d7e8f9.html",
            "纪念朱镕基同志视察重庆市科协三十周年座谈会在渝召开",
            day(2022, 10, 5, 9, 30),
        ),
        (
            f"{CAST}/col/col79/art/2022/art_11223344556677889900aabbccddeeff.html",
            "𠮷祥科普大篷车开进渝东南十个区县助力乡村振兴",
            day(2022, 10, 3),
        ),
    ]
    assert (answer.total, answer.page_count, answer.page_size, answer.page_no) == (23, 3, 10, 1)


def test_jpaas_answer_totals_from_data() -> None:
    body = json.dumps(
        {"success": True, "data": {"html": "", "total": 0, "totalPage": 0, "pageNo": 4}}
    )
    answer = parse_jpaas_answer(body, COLUMN_URL, tz=SHANGHAI)
    assert (answer.items, answer.total, answer.page_count) == ([], 0, None)
    pages_only = json.dumps({"data": {"html": "<li>空</li>", "totalPage": 7}})
    assert parse_jpaas_answer(pages_only, COLUMN_URL, tz=SHANGHAI).total == 7


def test_jpaas_answer_pager_text_and_links() -> None:
    html = (
        '<ul class="list-ul"><li><a href="/xw/gzal/art/2022/art_eb16b573.html" '
        'title="打造全国地方科协综合改革示范区">打造...</a><span>2022-10-08</span></li></ul>'
        '<div class="pagination"><span class="total">共47条 第2/4页</span>'
        '<a href="javascript:;" class="next" pageno="3">下一页</a>'
        '<a href="javascript:;" class="last" pageno="4">尾页</a></div>'
    )
    body = json.dumps({"success": True, "code": 200, "data": {"html": html}}, ensure_ascii=False)
    answer = parse_jpaas_answer(body, COLUMN_URL, tz=SHANGHAI, now=NOW)
    assert (answer.total, answer.page_count, answer.page_no) == (47, 4, 2)
    assert [(i.url, i.published_at) for i in answer.items] == [
        (f"{CAST}/xw/gzal/art/2022/art_eb16b573.html", day(2022, 10, 8))
    ]
    links_only = html.replace("共47条 第2/4页", "")
    answer = parse_jpaas_answer(
        json.dumps({"success": True, "data": {"html": links_only}}), COLUMN_URL, tz=SHANGHAI
    )
    assert (answer.total, answer.page_count) == (4, 4)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (read_text("jpaas_answer_failure.json"), "success=false: 页面不存在或已下线"),
        ("<html><body>412 Precondition Failed</body></html>", "other than JSON"),
        ('["not", "an", "object"]', "non-object"),
        ('{"success": true, "data": {"list": []}}', "without data.html"),
    ],
)
def test_jpaas_bad_answers_are_malformed(body: str, fragment: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_jpaas_answer(body, COLUMN_URL, tz=SHANGHAI)
    assert caught.value.reason == "malformed"
    assert str(caught.value).startswith("jpaas:")
    assert fragment in str(caught.value)


# --- TRS WCM ------------------------------------------------------------------------------------


def test_trs_index_items_and_paging() -> None:
    listing = parse_trs_list(read_text("trs_index.html"), TRS_URL, tz=SHANGHAI, now=NOW)
    assert [(i.url, i.title, i.published_at) for i in listing.items] == [
        (f"{TRS_URL}202210/t20221008_123456.html", FULL_TITLES[0], day(2022, 10, 8)),
        (f"{TRS_URL}202210/t20221007_123450.html", FULL_TITLES[1], day(2022, 10, 7)),
        (f"{TRS_URL}202210/t20221005_123441.html", FULL_TITLES[3], day(2022, 10, 5)),
        (
            "https://kx.cq.gov.cn/xwzx/202210/t20221004_123430.html",
            FULL_TITLES[4],
            day(2022, 10, 4),
        ),
        (f"{TRS_URL}202209/t20220930_123377.shtml", FULL_TITLES[6], day(2022, 9, 30)),
    ]
    assert listing == TrsList(
        items=listing.items, page_count=5, current=0, prefix="index", ext="html"
    )
    assert listing.page_urls(TRS_URL) == [
        f"{TRS_URL}index.html",
        f"{TRS_URL}index_1.html",
        f"{TRS_URL}index_2.html",
        f"{TRS_URL}index_3.html",
        f"{TRS_URL}index_4.html",
    ]


def test_trs_second_page_with_variable_arguments() -> None:
    listing = parse_trs_list(
        read_text("trs_index_1.html"), f"{TRS_URL}index_1.html", tz=SHANGHAI, now=NOW
    )
    assert [(i.url, i.title, i.published_at) for i in listing.items] == [
        (f"{TRS_URL}202209/t20220928_123301.html", FULL_TITLES[8], day(2022, 9, 28)),
        (f"{TRS_URL}202209/t20220927_123290.html", FULL_TITLES[9], day(2022, 9, 27)),
        (f"{TRS_URL}202209/t20220926_123280.html", FULL_TITLES[10], day(2022, 9, 26)),
    ]
    assert (listing.page_count, listing.current, listing.prefix, listing.ext) == (
        5,
        1,
        "index",
        "html",
    )
    assert listing.page_url(f"{TRS_URL}index_1.html", 2) == f"{TRS_URL}index_2.html"


def test_trs_page_div_form() -> None:
    page = (
        "<ul><li><a href='./202210/t20221008_1.shtml'>打造全国地方科协综合改革示范区</a>"
        "<span>2022-10-08</span></li></ul>"
        "<script>function createPageHTML(div, total, cur, name, ext, rows) {}</script>"
        "<div id='page_div'></div>"
        "<script>createPageHTML('page_div',8, 1,'list','shtml',118);</script>"
    )
    url = "https://www.example.gov.cn/zwgk/tzgg/list.shtml"
    listing = parse_trs_list(page, url, tz=SHANGHAI, now=NOW)
    assert (listing.page_count, listing.current, listing.prefix, listing.ext) == (
        8,
        0,
        "list",
        "shtml",
    )
    assert (listing.first_suffix, listing.total_records) == (2, 118)
    assert listing.page_urls(url)[:3] == [
        "https://www.example.gov.cn/zwgk/tzgg/list.shtml",
        "https://www.example.gov.cn/zwgk/tzgg/list_2.shtml",
        "https://www.example.gov.cn/zwgk/tzgg/list_3.shtml",
    ]
    assert listing.items[0].url == "https://www.example.gov.cn/zwgk/tzgg/202210/t20221008_1.shtml"


def test_trs_page_without_call_reads_its_own_name() -> None:
    page = "<ul><li><a href='./202210/t20221008_1.html'>标题</a><span>2022-10-08</span></li></ul>"
    listing = parse_trs_list(page, f"{TRS_URL}index_3.html", tz=SHANGHAI, now=NOW)
    assert (listing.page_count, listing.current, listing.prefix, listing.ext) == (
        None,
        3,
        "index",
        "html",
    )
    assert listing.page_urls(f"{TRS_URL}index_3.html") == [f"{TRS_URL}index.html"]


def test_trs_column_of_external_articles_keeps_dated_rows() -> None:
    page = """
    <div class="nav"><a href="../../">首页</a><a href="https://www.cast.org.cn/art/2022/1/1/art_1_1.html">中国科协</a></div>
    <ul class="mtjj">
      <li><a href="https://www.cast.org.cn/art/2022/10/8/art_79_5678.html">打造全国地方科协综合改革示范区</a><span>2022-10-08</span></li>
      <li><a href="http://www.xinhuanet.com/politics/2022-10/07/c_1129053.htm">重庆科协改革见闻</a><span>2022-10-07</span></li>
    </ul>
    <script>createPageHTML(1, 0, "index", "html");</script>
    """
    listing = parse_trs_list(page, TRS_URL, tz=SHANGHAI, now=NOW)
    assert [(i.url, i.published_at) for i in listing.items] == [
        (f"{CAST}/art/2022/10/8/art_79_5678.html", day(2022, 10, 8)),
        ("http://www.xinhuanet.com/politics/2022-10/07/c_1129053.htm", day(2022, 10, 7)),
    ]
    assert listing.page_count == 1


@pytest.mark.parametrize(
    ("first", "index", "prefix", "ext", "expected"),
    [
        (TRS_URL, 0, "index", "html", f"{TRS_URL}index.html"),
        (TRS_URL, 1, "index", "html", f"{TRS_URL}index_1.html"),
        (TRS_URL, 2, "index", "html", f"{TRS_URL}index_2.html"),
        (f"{TRS_URL}index.html", 4, "index", "html", f"{TRS_URL}index_4.html"),
        (f"{TRS_URL}index_3.html?id=1#top", 0, "index", "html", f"{TRS_URL}index.html"),
        ("https://kx.cq.gov.cn/kxyw/tzgg", 1, "index", "html", f"{TRS_URL}index_1.html"),
        ("https://kx.cq.gov.cn", 1, "index", "shtml", "https://kx.cq.gov.cn/index_1.shtml"),
        (f"{TRS_URL}list.shtml", 2, "list", "shtml", f"{TRS_URL}list_2.shtml"),
    ],
)
def test_trs_page_url(first: str, index: int, prefix: str, ext: str, expected: str) -> None:
    assert trs_page_url(first, index, prefix, ext) == expected


def test_trs_page_url_other_numbering_and_errors() -> None:
    assert trs_page_url(TRS_URL, 1, "list", "shtml", first_suffix=2) == f"{TRS_URL}list_2.shtml"
    with pytest.raises(ValueError, match="trs"):
        trs_page_url(TRS_URL, -1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{TRS_URL}202210/t20221008_123456.html", True),
        (f"{TRS_URL}202210/t20221008_123456.shtml", True),
        (f"{TRS_URL}202210/t20221008_123456_1.htm", True),
        (f"{TRS_URL}202210/P020221008512345678901.pdf", False),
        (f"{TRS_URL}index_1.html", False),
        (f"{CAST}/art/2022/10/8/art_79_5678.html", False),
    ],
)
def test_is_trs_article(url: str, expected: bool) -> None:
    assert is_trs_article(url) is expected


# --- following the described requests against local servers ---------------------------------


class CmsSite(ThreadingHTTPServer):
    """A local site answering like a Hanweb dataproxy and a JPaaS unit endpoint."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[tuple[str, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


HANWEB_TOTAL = 100
HANWEB_FIELDS = {"col": "1", "appid": "1", "webid": "3", "columnid": "79", "unitid": "1234"}


def hanweb_record(number: int) -> str:
    return (
        f"<record><![CDATA[<li><a href='/art/2022/10/8/art_79_{number}.html' "
        f"title='打造全国地方科协综合改革示范区（{number}）'>打造全国地方...</a>"
        f"<span>2022-10-08</span></li>]]></record>"
    )


class SiteHandler(BaseHTTPRequestHandler):
    server: CmsSite

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.answer(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
        self.answer({**dict(parse_qsl(urlsplit(self.path).query)), **form})

    def answer(self, fields: dict[str, str]) -> None:
        path = urlsplit(self.path).path
        self.server.requests.append((f"{self.command} {path}", fields))
        if path == "/module/web/jpage/dataproxy.jsp":
            self.answer_dataproxy(fields)
        elif path == "/api-gateway/jpaas-publish-server/front/page/build/unit":
            self.answer_unit(fields)
        else:
            self.send(404, "text/plain", b"not found")

    def answer_dataproxy(self, fields: dict[str, str]) -> None:
        if any(fields.get(key) != value for key, value in HANWEB_FIELDS.items()):
            self.send(200, "text/html; charset=GBK", "<html>参数错误</html>".encode("gb18030"))
            return
        start, end = int(fields["startrecord"]), int(fields["endrecord"])
        records = "".join(hanweb_record(n) for n in range(start, min(end, HANWEB_TOTAL) + 1))
        body = (
            "<datastore><nextgroup><![CDATA[<a href='/module/web/jpage/dataproxy.jsp?page=1"
            "&webid=3&columnid=79&unitid=1234'></a>]]></nextgroup>"
            f"<recordset>{records}</recordset><totalrecord>{HANWEB_TOTAL}</totalrecord></datastore>"
        )
        self.send(200, "text/xml; charset=GBK", body.encode("gb18030"))

    def answer_unit(self, fields: dict[str, str]) -> None:
        if fields.get("parseType") != "bulidstatic" or fields.get("tagId") != "当前栏目list":
            self.send(200, "application/json", b'{"success":false,"message":"bad query"}')
            return
        paging = json.loads(fields["paramJson"])
        number, size = int(paging["pageNo"]), int(paging["pageSize"])
        rows = "".join(
            f'<li><a href="/col/col79/art/2022/art_{n:032x}.html" title="𠮷祥科普大篷车（{n}）">'
            f"𠮷祥科普...</a><span>2022年10月{n % 28 + 1}日</span></li>"
            for n in range((number - 1) * size + 1, min(number * size, 23) + 1)
        )
        pager = f'<div class="pagination" count="23" rows="{size}" pageNo="{number}"></div>'
        html = f"<ul>{rows}</ul>{pager}"
        body = json.dumps({"success": True, "data": {"html": html}}, ensure_ascii=False)
        self.send(200, "application/json; charset=utf-8", body.encode("utf-8"))

    def send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[CmsSite]:
    server = CmsSite(SiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


Send = Callable[[str, dict[str, str], dict[str, str]], requests.Response]


def send_post(url: str, form: dict[str, str], query: dict[str, str]) -> requests.Response:
    return requests.post(url, data=form, timeout=5)


def send_get(url: str, form: dict[str, str], query: dict[str, str]) -> requests.Response:
    return requests.get(url, params=query, timeout=5)


@pytest.mark.parametrize("send", [send_post, send_get], ids=["post", "get"])
def test_dataproxy_groups_walk_a_whole_column(site: CmsSite, send: Send) -> None:
    page = (
        "<div id='1234'><script type='text/xml'><datastore><nextgroup><![CDATA["
        "<a href='/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=3&path=/&columnid=79"
        "&unitid=1234&permissiontype=0'></a>]]></nextgroup><recordset>"
        + "".join(hanweb_record(n) for n in range(1, 16))
        + "</recordset></datastore></script></div>"
        "<script>$('#1234').jpage({perPage:15,groupSize:3,totalRecord:100});</script>"
    )
    column = parse_hanweb_column(page, site.url("/col/col79/index.html"), tz=SHANGHAI, now=NOW)
    assert column.proxy is not None and len(column.items) == 15
    found = {item.url: item for item in column.items}
    total, group = column.total_records, 0
    while total is None or group * column.proxy.group < total:
        url, form, query = dataproxy_request(column.proxy, group)
        response = send(url, form, query)
        listing = parse_datastore(
            response.content.decode("gb18030"), response.url, tz=SHANGHAI, now=NOW
        )
        total = listing.total_records
        found.update({item.url: item for item in listing.items})
        group += 1
    assert group == 3
    assert len(found) == HANWEB_TOTAL
    assert found[site.url("/art/2022/10/8/art_79_100.html")].title == (
        "打造全国地方科协综合改革示范区（100）"
    )
    ranges = [(f["startrecord"], f["endrecord"], f["perpage"]) for _, f in site.requests]
    assert ranges == [("1", "45", "15"), ("46", "90", "15"), ("91", "135", "15")]
    method = "POST" if send is send_post else "GET"
    assert {request for request, _ in site.requests} == {
        f"{method} /module/web/jpage/dataproxy.jsp"
    }


def test_jpaas_pages_walk_a_whole_column(site: CmsSite) -> None:
    page = read_text("jpaas_column.html")
    query = find_jpaas_queries(page, site.url("/col/col79/index.html"))[0]
    found: list[str] = []
    titles: list[str] = []
    page_no, page_count = 1, None
    while page_count is None or page_no <= page_count:
        url, params = jpaas_request(query, page_no)
        response = requests.get(url, params=params, timeout=5)
        answer = parse_jpaas_answer(response.text, site.url("/col/col79/index.html"), tz=SHANGHAI)
        page_count = answer.page_count
        found.extend(item.url for item in answer.items)
        titles.extend(item.title for item in answer.items)
        page_no += 1
    assert page_count == 3
    assert len(found) == len(set(found)) == 23
    assert titles[0] == "𠮷祥科普大篷车（1）"
    assert [json.loads(f["paramJson"]) for _, f in site.requests] == [
        {"pageNo": n, "pageSize": "10", "orderBy": "pubDate"} for n in (1, 2, 3)
    ]
    assert parse_qs(urlsplit(response.url).query)["webId"] == ["c7a1ef0b5a4e4a6bb9d1d4f0c3e2a1b7"]
