"""The date patterns ``worker.dates`` reads with: numeric, Chinese and English dates, two-digit
and split years, calendar blocks, year-less and relative dates, and the labels that say which
date a page means (发布时间 before 成文日期 before 更新时间).

Every pattern runs in linear time on any text: no two quantifiers compete for the same
characters. This module holds patterns only; it must not parse or build dates.
"""

from __future__ import annotations

import re

MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
MONTH_NAME = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
CN_MONTHS = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
}
CN_MONTH_NAME = r"(?P<cmon>十[一二]?|[一二三四五六七八九])月"
TIME = (  # "T" or whitespace between date and time; "\s*(?:T|\s)\s*" would backtrack
    r"(?:(?:\s*T\s*|\s+)(?P<hh>\d{1,2})\s*[:：]\s*(?P<mi>\d{2})"
    r"(?:\s*[:：]\s*(?P<ss>\d{2})(?:[.,]\d{1,9})?)?)?"
)
OFFSET = r"(?:\s*(?P<tz>Z|UTC|GMT|UT|[+-]\d{2}:?\d{2})(?![\w:]))?"
EN_TIME = (
    r"(?:,?\s+(?:at\s+)?(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap]\.?m\b\.?))?)?"
)
CN_TIME = (
    r"(?:\s*(?P<hh>\d{1,2})\s*[:：时]\s*(?P<mi>\d{2})"
    r"(?:\s*[:：分]\s*(?P<ss>\d{2})秒?)?分?)?"
)

NUMERIC_RE = re.compile(
    r"(?<![\d.:/-])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d/])"
    + TIME
    + OFFSET,
    re.IGNORECASE,
)
CN_RE = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]" + CN_TIME
)
RFC2822_RE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6},?\s*)?(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+"
    + MONTH_NAME
    + r",?\s+(?P<y>\d{4})(?!\d)"
    + EN_TIME
    + r"(?:\s*(?P<tz>Z|UTC|GMT|UT|[+-]\d{4}))?(?![\w:])",
    re.IGNORECASE,
)
WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}\.?"
MONTH_FIRST_RE = re.compile(  # "October 8, 2022", "Dec 28 Sat 2013 00:28" (a blog's own order)
    r"(?<![a-z])"
    + MONTH_NAME
    + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?(?:\s+"
    + WEEKDAY
    + r",?)?\s+(?P<y>\d{4})(?!\d)"
    + EN_TIME,
    re.IGNORECASE,
)
# A month named in Chinese in the English order: WordPress's "F j, Y" under zh_CN ("十一月 16,
# 2017"), moment's zh-cn "MMM D, YYYY" ("11月 16, 2017") and "D MMMM YYYY" ("16 十一月 2017").
CN_MONTH_FIRST_RE = re.compile(
    r"(?<![\d年一二三四五六七八九十])(?:" + CN_MONTH_NAME + r"|(?P<m>\d{1,2})月)"
    r"\s*(?P<d>\d{1,2})(?![\d日号]),?\s+(?P<y>\d{4})(?!\d)" + EN_TIME,
    re.IGNORECASE,
)
DAY_CN_MONTH_RE = re.compile(
    r"(?<![\d.:/-])(?P<d>\d{1,2})\s+" + CN_MONTH_NAME + r",?\s+(?P<y>\d{4})(?!\d)" + EN_TIME,
    re.IGNORECASE,
)
# Day and month around a four-digit year: "9/13/2022" (en-US, JavaScript's toLocaleDateString)
# is read month first unless the first number cannot be a month ("13/09/2022"); dots are always
# day first ("13.09.2022", de and ru).
SLASHED_YEAR_LAST_RE = re.compile(
    r"(?<![\d.:/-])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])" + EN_TIME,
    re.IGNORECASE,
)
DOTTED_YEAR_LAST_RE = re.compile(
    r"(?<![\d.:/-])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?![\d.])" + EN_TIME,
    re.IGNORECASE,
)
YEARLESS_EN_RE = re.compile(  # "March 18 at 3:57 PM", "Feb 24": read only when the year is proven
    r"(?<![a-z])"
    + MONTH_NAME
    + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![\d,:])(?!\s+\d{4})"
    + EN_TIME,
    re.IGNORECASE,
)
SHORT_YEAR_RE = re.compile(  # 18-03-08, or 24-5-13 17:07 with its time: a two-digit year
    r"(?<![\d.:/-])(?P<y2>\d{2})-(?:(?P<m>\d{2})-(?P<d>\d{2})(?![\d/-])"
    r"(?:\s+(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?)?"
    r"|(?P<m1>\d{1,2})-(?P<d1>\d{1,2})\s+(?P<hh1>\d{1,2}):(?P<mi1>\d{2})(?![\d:]))"
)
SHORT_DOTTED_RE = re.compile(  # 18.04.29 (a Chinese blog theme's year.month.day), 18.04.29 10:20
    r"(?<![\d.:/-])(?P<y2>\d{2})\.(?P<m>\d{2})\.(?P<d>\d{2})(?![\d/-]|\.\d)"
    r"(?:\s+(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?)?"
)
SPLIT_YEAR_RE = re.compile(  # the year in one element, month and day in the next
    r"(?<![\d.:/-])(?P<y>(?:19|20)\d\d)(?:\s*年)?\n\s*(?P<m>\d{1,2})\s*(?P<sep>[-/.月])\s*"
    r"(?P<d>\d{1,2})(?![\d/])日?" + CN_TIME
)
YEAR_MONTH = r"(?P<y>(?:19|20)\d\d)\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*月?"
# A calendar block: the day large in one element, the year and month small in the next, in
# either order ("21" then "2024年02月", or "2024-02" then "21"); each part a line of its own.
DAY_THEN_YEAR_MONTH_RE = re.compile(
    r"(?<!\S)(?P<d>\d{1,2})\s*日?[ \t]*\n\s*" + YEAR_MONTH + r"(?=[ \t]*(?:\n|$))"
)
YEAR_MONTH_THEN_DAY_RE = re.compile(
    r"(?<![\d.:/-])" + YEAR_MONTH + r"[ \t]*\n\s*(?P<d>\d{1,2})(?:\s*日)?(?=[ \t]*(?:\n|$))"
)
RELATIVE_RE = re.compile(
    r"(?<!\d)(?P<n>\d{1,2})\s*(?P<unit>分钟|小时|天)前"
    r"|(?P<word>今天|昨天|前天)(?:\s*(?P<hh>\d{1,2})\s*[:：]\s*(?P<mi>\d{2}))?"
)
YEARLESS_DASH_RE = re.compile(
    r"(?<![\d.:/年-])(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d:/-])"
    r"(?:\s+(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?)?"
)
YEARLESS_STRICT_DASH_RE = re.compile(
    r"(?<![\d.:/年-])(?P<m>\d{2})-(?P<d>\d{2})(?![\d:/-])"
    r"(?:\s+(?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?)?"
)
YEARLESS_CN_RE = re.compile(r"(?<![\d年])(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]" + CN_TIME)

FULL_PATTERNS = (
    NUMERIC_RE,
    CN_RE,
    RFC2822_RE,
    MONTH_FIRST_RE,
    CN_MONTH_FIRST_RE,
    DAY_CN_MONTH_RE,
    SLASHED_YEAR_LAST_RE,
    DOTTED_YEAR_LAST_RE,
    SHORT_YEAR_RE,
    SHORT_DOTTED_RE,
    SPLIT_YEAR_RE,
    DAY_THEN_YEAR_MONTH_RE,
    YEAR_MONTH_THEN_DAY_RE,
)
RELATIVE_DAYS = {"今天": 0, "昨天": 1, "前天": 2}

# Labels in order of preference: publication first, then generic, then "updated".
LABEL_RANKS = (
    ("发布时间", 0),
    ("发布日期", 0),
    ("发表时间", 0),
    ("发表日期", 0),
    ("发文日期", 0),
    ("发表于", 0),
    ("发布于", 0),
    ("编辑于", 2),
    ("更新于", 2),
    ("成文日期", 1),
    ("更新时间", 2),
    ("更新日期", 2),
    ("最后更新", 2),
    ("最后修改", 2),
    ("修改于", 2),
    ("修改时间", 2),
    ("首发于", 0),
    ("创建于", 0),
    ("创建时间", 0),
    ("写于", 0),
    ("发布", 0),
    ("公开日期", 0),
    ("公开时间", 0),
    ("出版时间", 0),
    ("出版日期", 0),
    ("印发日期", 1),
    # traditional characters (Taiwan, Hong Kong)
    ("發布時間", 0),
    ("發佈時間", 0),
    ("發布日期", 0),
    ("發佈日期", 0),
    ("發表時間", 0),
    ("發表日期", 0),
    ("發表於", 0),
    ("發布於", 0),
    ("發佈於", 0),
    ("出版時間", 0),
    ("公開日期", 0),
    ("編輯於", 2),
    ("更新於", 2),
    ("更新時間", 2),
    ("最後更新", 2),
    ("最後修改", 2),
    ("修改時間", 2),
    ("時間", 1),
    ("时间", 1),
    ("日期", 1),
    ("published on", 0),
    ("published at", 0),
    ("published", 0),
    ("posted on", 0),
    ("posted", 0),
    ("date", 1),
    ("created on", 0),
    ("created", 0),
    ("last updated", 2),
    ("last modified", 2),
    ("updated on", 2),
    ("updated", 2),
)
LABEL_RE = re.compile(
    r"(?<![a-z])(?P<label>" + "|".join(re.escape(label) for label, _ in LABEL_RANKS) + r")"
    r"(?![a-z])[\s\u3000]*[:：]?[\s\u3000\[\]【】()（）]*",
    re.IGNORECASE,
)
LABEL_RANK = {label: rank for label, rank in LABEL_RANKS}

# A label written after the date ("于 2020-01-01 10:00 发布", "已于 2021-05-01 修改"): Chinese
# puts the verb last. Not when the verb goes on ("发布的数据", "发布会", "编辑：李四").
SUFFIX_LABEL_RANK = {"发布": 0, "发表": 0, "修改": 2, "更新": 2, "编辑": 2}
SUFFIX_LABEL_RE = re.compile(
    r"[\s\u3000]{0,3}(?:首次)?(?P<label>" + "|".join(SUFFIX_LABEL_RANK) + r")"
    r"(?![于时日期会了的者:：])"
)
