"""Pathological pages and feeds are read in linear time: seconds, never minutes.

Each input here made a parser backtrack or rescan quadratically (or worse) before; the bound
is generous (2 s on a shared 2-core machine) so it only catches that kind of blow-up.
``bench/hostile_inputs.py`` measures the real costs.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from worker.dates import find_date, parse_date
from worker.extract import ExtractError, extract_article
from worker.sources.base import strip_markup
from worker.sources.detect import detect_family
from worker.sources.feed import parse_feed
from worker.sources.hanweb import find_datastores, parse_hanweb_column, unwrap_cdata
from worker.sources.jpaas import parse_jpaas_answer
from worker.sources.jsobject import parse_js_object
from worker.sources.rowitems import read_split_date
from worker.sources.trs import parse_trs_list

pytestmark = pytest.mark.timeout(120)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, tzinfo=UTC)
BOUND = 2.0
URL = "http://site.test/col/col1/index.html"


def within_bound(call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = call()
    took = time.monotonic() - started
    assert took < BOUND, f"took {took:.2f} s"
    return result


@pytest.mark.parametrize(
    "snippet",
    ["<" * 200_000, "<script>" * 30_000, "<style x" * 30_000, "<p " * 60_000],
    ids=["lt", "script", "style", "open-tag"],
)
def test_strip_markup_is_linear(snippet: str) -> None:
    assert isinstance(within_bound(lambda: strip_markup(snippet)), str)


def test_a_feed_description_of_20000_escaped_lt_is_read_quickly() -> None:
    feed = (
        '<rss version="2.0"><channel><title>t</title><item><title>x</title>'
        f"<link>http://e.test/a</link><description>{'&lt;' * 100_000}</description>"
        "</item></channel></rss>"
    ).encode()
    page = within_bound(lambda: parse_feed(feed, "http://e.test/feed", tz=TZ))
    assert page.items[0].summary == "<" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        "<record>" * 30_000,
        "<record>" + "<![CDATA[" * 30_000,
        "<nextgroup>" * 30_000,
        "<totalrecord" * 30_000,
        "<record " * 30_000,
    ],
    ids=["records", "cdata", "nextgroup", "totalrecord", "record-heads"],
)
def test_hanweb_datastores_with_unclosed_blocks_are_linear(body: str) -> None:
    page = f"<script type='text/xml'><datastore>{body}</datastore></script>"
    stores = within_bound(lambda: find_datastores(page))
    assert len(stores) == 1 and stores[0].records in ([], ["<![CDATA[" * 30_000])


def test_unwrap_cdata_with_unclosed_sections_is_linear() -> None:
    assert within_bound(lambda: unwrap_cdata("<![CDATA[" * 50_000)) == "<![CDATA[" * 50_000


def test_a_hanweb_column_of_30000_unclosed_records_keeps_its_good_record() -> None:
    good = (
        "<record><![CDATA[<li><a href='/art/2022/10/8/art_1_1.html'>科协通知</a>"
        "<span>2022-10-08</span></li>]]></record>"
    )
    page = (
        "<html><body><script type='text/xml'><datastore><recordset>"
        f"{good}{'<record>' * 30_000}</recordset></datastore></script></body></html>"
    )
    column = within_bound(lambda: parse_hanweb_column(page, URL, tz=TZ, now=NOW))
    assert [item.title for item in column.items] == ["科协通知"]
    family, _ = within_bound(lambda: detect_family(page, URL))
    assert family == "hanweb"


def test_detect_reads_30000_unclosed_nextgroups_quickly() -> None:
    page = f"<script type='text/xml'><datastore>{'<nextgroup>' * 30_000}</datastore></script>"
    family, _ = within_bound(lambda: detect_family(page, URL))
    assert family == "hanweb"


@pytest.mark.parametrize(
    "page",
    [
        "<script>$('#a').jpage({" * 30_000,
        "<script>var param_x = {" * 30_000,
        "<script>ajaxParam: {" * 30_000,
    ],
    ids=["jpage", "param-var", "ajax-param"],
)
def test_many_script_objects_are_not_all_read(page: str) -> None:
    within_bound(lambda: parse_hanweb_column(page, URL, tz=TZ, now=NOW))


@pytest.mark.parametrize(
    "text",
    ["mon" * 100_000, ("2022-10-08" + " " * 30_000 + "x") * 3, "2022年10月" + " " * 50_000],
    ids=["weekday-prefixes", "date-then-spaces", "cn-then-spaces"],
)
def test_dates_in_free_text_are_found_in_linear_time(text: str) -> None:
    within_bound(lambda: find_date(text, TZ, now=NOW))
    within_bound(lambda: parse_date(text, TZ, now=NOW))


@pytest.mark.parametrize("href", ["/202210/t20221008_1.html", "/a/t20221008_{i}.html"])
def test_a_block_of_15000_links_is_read_in_linear_time(href: str) -> None:
    links = "".join(f"<a href='{href.format(i=i)}'>标题</a> " for i in range(15_000))
    page = f"<html><body><div>{links}<span>2022-10-08</span></div></body></html>"
    listing = within_bound(lambda: parse_trs_list(page, "http://site.test/tzgg/", tz=TZ, now=NOW))
    assert listing.items
    answer = json.dumps({"data": {"html": f"<div>{links}</div>"}})
    assert within_bound(lambda: parse_jpaas_answer(answer, "http://site.test/", tz=TZ)).items


def test_a_split_date_with_a_long_gap_is_linear() -> None:
    assert within_bound(lambda: read_split_date("2022-10" + " " * 50_000 + "x", TZ)) is None


def test_a_font_size_widget_with_a_long_gap_is_linear() -> None:
    gap = " " * 20_000
    page = (
        "<html><body><h1>标题</h1><div id='zoom'><p>正文内容。</p>"
        f"<p>【字体{gap}x</p><p>【字体：{gap}x</p></div></body></html>"
    )
    article = within_bound(lambda: extract_article(page, "http://e.test/a.html", tz=TZ))
    assert "正文内容" in article.text


@pytest.mark.parametrize(
    "unit",
    ["<div class='share'>正文", "<div><a href='/a/{i}.html'>标题</a>2022-10-08"],
    ids=["nested-blocks", "nested-links"],
)
def test_a_deeply_nested_page_without_a_known_body_is_extracted_quickly(unit: str) -> None:
    stack = "".join(unit.format(i=i) for i in range(250)) + "</div>" * 250
    page = f"<html><body>{stack * 40}</body></html>"
    started = time.monotonic()
    with contextlib.suppress(ExtractError):  # no body is a clean answer too: the time counts
        extract_article(page, "http://e.test/a.html", tz=TZ)
    assert time.monotonic() - started < BOUND


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a:[)]}", {"a": []}),
        ("{a:[}", {"a": []}),
        ("{a:(}", {"a": "(}"}),
        ("{a:[1,{b:2}],c:'x'}", {"a": [1, {"b": 2}], "c": "x"}),
    ],
)
def test_js_objects_with_stray_closers_end(text: str, expected: dict[str, Any]) -> None:
    assert within_bound(lambda: parse_js_object(text)) == expected


def test_deeply_nested_js_objects_are_read_without_recursing_for_ever() -> None:
    value = within_bound(lambda: parse_js_object("{a:" + "[" * 50_000))
    assert value is not None and isinstance(value["a"], list)
    within_bound(lambda: parse_js_object("{a:" + "{b:" * 50_000))
