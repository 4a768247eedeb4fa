"""Date parsing: every supported format, labels, year inference, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from worker.dates import find_date, parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 12, 1, 12, 0, tzinfo=SHANGHAI)
NEW_YEAR = datetime(2023, 1, 2, 9, 0, tzinfo=SHANGHAI)


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: tzinfo = SHANGHAI,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-10-08", at(2022, 10, 8)),
        ("2022/10/08", at(2022, 10, 8)),
        ("2022.10.08", at(2022, 10, 8)),
        ("2022-10-8", at(2022, 10, 8)),
        ("2022年10月08日", at(2022, 10, 8)),
        ("2022年10月8日", at(2022, 10, 8)),
        ("2022年10月8日 10:21", at(2022, 10, 8, 10, 21)),
        ("2022年10月08日10:21:33", at(2022, 10, 8, 10, 21, 33)),
        ("2022-10-08 09:30", at(2022, 10, 8, 9, 30)),
        ("2022-10-08 09:30:15", at(2022, 10, 8, 9, 30, 15)),
        ("2022/10/08 9:05", at(2022, 10, 8, 9, 5)),
        ("2022.10.08 23:59:59", at(2022, 10, 8, 23, 59, 59)),
        ("2022-10-08 10:21:00.0", at(2022, 10, 8, 10, 21)),
        ("2022-10-08T10:21:00+08:00", at(2022, 10, 8, 10, 21)),
        ("2022-10-08T10:21:00-05:00", at(2022, 10, 8, 10, 21, tz=timezone(timedelta(hours=-5)))),
        ("2022-10-08T02:21:00Z", at(2022, 10, 8, 2, 21, tz=UTC)),
        ("2022-10-08T10:21", at(2022, 10, 8, 10, 21)),
        ("Sat, 08 Oct 2022 10:21:00 +0800", at(2022, 10, 8, 10, 21)),
        ("Sat, 08 Oct 2022 02:21:00 GMT", at(2022, 10, 8, 2, 21, tz=UTC)),
        ("08 Oct 2022 10:21 -0500", at(2022, 10, 8, 10, 21, tz=timezone(timedelta(hours=-5)))),
        ("October 8, 2022", at(2022, 10, 8)),
        ("Oct 8, 2022 3:05 pm", at(2022, 10, 8, 15, 5)),
        ("8 October 2022", at(2022, 10, 8)),
        ("8th October 2022", at(2022, 10, 8)),
        ("Saturday, 1st October 2022 10:21", at(2022, 10, 1, 10, 21)),
        ("  [2022-10-08]  ", at(2022, 10, 8)),
        ("10-08", at(2022, 10, 8)),
        ("10月08日", at(2022, 10, 8)),
        ("10月8日", at(2022, 10, 8)),
        ("11-30 08:15", at(2022, 11, 30, 8, 15)),
        # month names in Chinese, in the English order ("F j, Y" and moment's zh-cn "MMM D, YYYY")
        ("十一月 16, 2017", at(2017, 11, 16)),
        ("三月 8, 2019", at(2019, 3, 8)),
        ("十月 08, 2022 10:21", at(2022, 10, 8, 10, 21)),
        ("11月 16, 2017", at(2017, 11, 16)),
        ("16 十一月 2017", at(2017, 11, 16)),
        # slashed day and month around a four-digit year: month first (en-US, JavaScript's
        # toLocaleDateString) unless the first number cannot be a month
        ("9/13/2022", at(2022, 9, 13)),
        ("3/8/2019", at(2019, 3, 8)),
        ("03/08/2019 14:05", at(2019, 3, 8, 14, 5)),
        ("13/09/2022", at(2022, 9, 13)),
        ("12/6/2022, 3:05:10 PM", at(2022, 12, 6, 15, 5, 10)),
        # dotted day.month.year (de, ru)
        ("13.09.2022", at(2022, 9, 13)),
        ("8.3.2019 10:20", at(2019, 3, 8, 10, 20)),
    ],
)
def test_parse_date_reads_every_supported_format(text: str, expected: datetime) -> None:
    value = parse_date(text, SHANGHAI, now=NOW)
    assert value == expected
    assert value is not None
    assert value.utcoffset() == expected.utcoffset()


def test_parse_date_keeps_an_explicit_offset_instead_of_converting() -> None:
    value = parse_date("2022-10-08T10:21:00-05:00", SHANGHAI, now=NOW)
    assert value is not None
    assert value.isoformat() == "2022-10-08T10:21:00-05:00"


def test_naive_dates_are_localised_to_the_source_timezone() -> None:
    value = parse_date("2022-10-08 10:21", ZoneInfo("Europe/Berlin"), now=NOW)
    assert value is not None
    assert value.isoformat() == "2022-10-08T10:21:00+02:00"


@pytest.mark.parametrize(
    "text",
    [
        "2022年",
        "2022",
        "2022-10",
        "2022年10月",
        "2022/10",
        "2022-13-40",
        "2022-02-29",
        "2022年13月1日",
        "2022-10-08 25:00",
        "13-40",
        "02-30",
        "13/13/2022",
        "2/30/2022",
        "十三月 8, 2019",
        "32.01.2022",
        "0000-00-00",
        "",
        "   ",
        "发布时间：",
        "no date here",
    ],
)
def test_parse_date_refuses_partial_or_impossible_dates(text: str) -> None:
    assert parse_date(text, SHANGHAI, now=NOW) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-30", at(2022, 12, 30)),
        ("12月31日", at(2022, 12, 31)),
        ("01-01", at(2023, 1, 1)),
        ("01-04", at(2023, 1, 4)),
        ("01-05", at(2022, 1, 5)),
        ("1月2日", at(2023, 1, 2)),
    ],
)
def test_year_is_inferred_around_new_year(text: str, expected: datetime) -> None:
    assert parse_date(text, SHANGHAI, now=NEW_YEAR) == expected


def test_year_inference_finds_the_last_leap_year_for_february_29() -> None:
    assert parse_date("02-29", SHANGHAI, now=NEW_YEAR) == at(2020, 2, 29)


def test_year_inference_defaults_to_the_current_time() -> None:
    today = datetime.now(SHANGHAI)
    value = parse_date(f"{today.month:02d}-{today.day:02d}", SHANGHAI)
    assert value is not None
    assert value.date() == today.date()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发布时间：2022-10-08", at(2022, 10, 8)),
        ("发布时间:2022-10-08 10:21", at(2022, 10, 8, 10, 21)),
        ("来源：重庆市科协 发布日期：2022年10月8日 10:21 作者：王合清", at(2022, 10, 8, 10, 21)),
        ("发表时间：2022/10/08  浏览次数：128", at(2022, 10, 8)),
        ("时间：2022.10.08", at(2022, 10, 8)),
        ("日期：2022-10-08", at(2022, 10, 8)),
        ("2020年12月14日，中国科协改革工作办公室……发布时间：2022-10-08", at(2022, 10, 8)),
        ("更新时间：2022-11-20 发布时间：2022-10-08", at(2022, 10, 8)),
        ("更新时间：2022-11-20", at(2022, 11, 20)),
        ("Published: Oct 8, 2022", at(2022, 10, 8)),
        ("Posted on 2022-10-08 by Jane", at(2022, 10, 8)),
        ("Date: 08 Oct 2022", at(2022, 10, 8)),
        ("Last updated 2022-11-20. Published 2022-10-08.", at(2022, 10, 8)),
        ("发布时间：10-08", at(2022, 10, 8)),
        ("重庆市科协 2022-10-08 新闻", at(2022, 10, 8)),
        ("热点 11-28 科技志愿服务", at(2022, 11, 28)),
        ("第2022-13-40号 2022-10-08", at(2022, 10, 8)),
    ],
)
def test_find_date_prefers_labelled_dates(text: str, expected: datetime) -> None:
    assert find_date(text, SHANGHAI, now=NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "来源：重庆市科协 作者：王合清",
        "2022年，重庆市科协……",
        "电话：023-63650000",
        "共2-3人参加",
        "2022年10月",
    ],
)
def test_find_date_returns_none_without_a_full_date(text: str) -> None:
    assert find_date(text, SHANGHAI, now=NOW) is None


def test_find_date_can_require_a_label() -> None:
    text = "2020年12月14日，中国科协改革工作办公室一封发至重庆的商请函"
    assert find_date(text, SHANGHAI, now=NOW) == at(2020, 12, 14)
    assert find_date(text, SHANGHAI, now=NOW, require_label=True) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("更新時間：2022/10/09 08:00 發布時間：2022/10/08 10:21", at(2022, 10, 8, 10, 21)),
        ("最後更新 2022-10-09 出版時間：2022/10/08 10:21", at(2022, 10, 8, 10, 21)),
        ("發表於 2022-10-08", at(2022, 10, 8)),
        ("印发日期：2022-09-30 公开日期：2022-10-08", at(2022, 10, 8)),
    ],
)
def test_traditional_and_disclosure_labels_say_which_date_is_the_publication(
    text: str, expected: datetime
) -> None:
    assert find_date(text, SHANGHAI, now=NOW) == expected
