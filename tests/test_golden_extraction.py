"""Extraction quality on the golden set of Chinese article pages (tests/data/golden/).

Each ``NAME.html`` holds the page bytes as a server sent them and ``NAME.expected.json`` the
hand-checked fields: ``url``, ``charset`` (the Content-Type label the page came with), ``title``,
``date`` (the Beijing day) and ``text`` (the body only, paragraphs joined by blank lines),
optionally ``tz`` and ``selectors``. herald decodes each page with ``decode_body`` and reads it
with ``extract_article``; the tests hold it to: the exact title on every page, the right day on
at least 95 % of pages, and a mean body F1 of at least 0.85 on character 4-grams.

The metric and loaders here are shared with ``bench/extraction_quality.py``. This module must
NOT fetch anything or change the golden files.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from worker.charset import decode_body
from worker.extract import ExtractError, extract_article
from worker.models import ArticleSelectors

GOLDEN_DIR = Path(__file__).parent / "data" / "golden"
BEIJING = ZoneInfo("Asia/Shanghai")
NGRAM = 4
MIN_PAGES = 30
MIN_TEXT_CHARS = 40
MIN_HAND_PAGES = 6
DATE_SHARE_MIN = 0.95
BODY_F1_MIN = 0.85
FAMILIES = ("hanweb", "jpaas", "trs")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FURNITURE_MARKS = ("打印本页", "关闭窗口", "【字体", "字号：", "分享到", "版权所有", "Produced By")


@dataclass(frozen=True)
class GoldenPage:
    """One golden page: its bytes, how it was labelled, and the hand-checked fields."""

    name: str
    content: bytes = field(repr=False)
    url: str
    charset: str
    title: str
    date: str
    text: str = field(repr=False)
    tz: str = "Asia/Shanghai"
    selectors: ArticleSelectors | None = None

    @property
    def content_type(self) -> str:
        """The Content-Type header the page was served with."""
        return f"text/html; charset={self.charset}"


@dataclass(frozen=True)
class PageResult:
    """What one extractor read from one page (empty fields when it found nothing)."""

    name: str
    title: str
    day: str | None
    text: str = field(repr=False)
    error: str = ""


def load_golden_set(directory: Path = GOLDEN_DIR) -> list[GoldenPage]:
    """Every ``NAME.expected.json`` with its page: ``NAME.html``, or the file its ``html`` key
    names (pages shared with ``tests/data/extract``), sorted by name."""
    pages = []
    for expected_path in sorted(directory.glob("*.expected.json")):
        name = expected_path.name.removesuffix(".expected.json")
        data = json.loads(expected_path.read_text(encoding="utf-8"))
        selectors = data.get("selectors")
        pages.append(
            GoldenPage(
                name=name,
                content=(directory / data.get("html", f"{name}.html")).read_bytes(),
                url=data["url"],
                charset=data["charset"],
                title=data["title"],
                date=data["date"],
                text=data["text"],
                tz=data.get("tz", "Asia/Shanghai"),
                selectors=ArticleSelectors(**selectors) if selectors else None,
            )
        )
    return pages


def normalise_text(text: str) -> str:
    """Collapse every whitespace run (newlines, U+3000, NBSP…) to one space and trim."""
    return " ".join(text.split())


def char_ngrams(text: str, n: int = NGRAM) -> Counter[str]:
    """The multiset of character n-grams of the whitespace-normalised text."""
    clean = normalise_text(text)
    if not clean:
        return Counter()
    if len(clean) < n:
        return Counter([clean])
    return Counter(clean[i : i + n] for i in range(len(clean) - n + 1))


def ngram_f1(predicted: str, expected: str, n: int = NGRAM) -> float:
    """F1 of the predicted text against the expected one on multisets of character n-grams."""
    got, want = char_ngrams(predicted, n), char_ngrams(expected, n)
    if not got and not want:
        return 1.0
    overlap = sum((got & want).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(got.values())
    recall = overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def beijing_day(moment: datetime | None) -> str | None:
    """The Beijing calendar day of an aware datetime, as YYYY-MM-DD."""
    return moment.astimezone(BEIJING).date().isoformat() if moment is not None else None


def decode_page(page: GoldenPage) -> str:
    """The page text as herald's fetcher decodes it under its Content-Type label."""
    return decode_body(page.content, page.content_type)[0]


def extract_with_herald(page: GoldenPage, html: str | None = None) -> PageResult:
    """Run herald's extraction on one golden page (decoded here unless ``html`` is given)."""
    source = decode_page(page) if html is None else html
    try:
        result = extract_article(source, page.url, tz=ZoneInfo(page.tz), selectors=page.selectors)
    except ExtractError as exc:
        return PageResult(page.name, "", None, "", error=str(exc))
    return PageResult(page.name, result.title, beijing_day(result.published_at), result.text)


def describe_misses(rows: list[str], limit: int = 60) -> str:
    """Failure lines for an assertion message."""
    return "\n".join(rows[:limit])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden() -> list[GoldenPage]:
    return load_golden_set()


@pytest.fixture(scope="module")
def results(golden: list[GoldenPage]) -> dict[str, PageResult]:
    return {page.name: extract_with_herald(page) for page in golden}


# --- the metric -------------------------------------------------------------------------------


def test_ngram_f1_on_known_values() -> None:
    assert ngram_f1("科协改革进行时", "科协改革进行时") == 1.0
    assert ngram_f1("科协 改革\n\n进行时", "科协 改革 进行时") == 1.0  # whitespace runs collapse
    assert ngram_f1("abcdefgh", "stuvwxyz") == 0.0
    # abcd bcde cdef against abcd bcdx cdxx: one shared gram, P = R = 1/3
    assert ngram_f1("abcdef", "abcdxx") == pytest.approx(1 / 3)
    # multisets: "aaaaa" has aaaa twice, "aaaa" once: P = 1/2, R = 1
    assert ngram_f1("aaaaa", "aaaa") == pytest.approx(2 / 3)
    assert ngram_f1("", "正文") == 0.0
    assert ngram_f1("", "") == 1.0


# --- the golden files themselves --------------------------------------------------------------


def test_golden_set_covers_families_encodings_and_hand_pages(golden: list[GoldenPage]) -> None:
    names = [page.name for page in golden]
    assert len(golden) >= MIN_PAGES, names
    for family in FAMILIES:
        assert sum(name.startswith(f"{family}_") for name in names) >= 5, family
    assert sum(name.startswith("hand_") for name in names) >= MIN_HAND_PAGES
    mislabelled = [p for p in golden if p.charset.lower() == "gb2312" and not is_utf8(p.content)]
    assert len(mislabelled) >= 5  # GBK/GB18030 bytes under a gb2312 label
    assert any("𠮷".encode("gb18030") in page.content for page in mislabelled)  # not in GBK


def is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_golden_expectations_are_well_formed(golden: list[GoldenPage]) -> None:
    problems = []
    for page in golden:
        if not page.url.startswith(("http://", "https://")):
            problems.append(f"{page.name}: url {page.url!r}")
        if not DAY_RE.match(page.date):
            problems.append(f"{page.name}: date {page.date!r}")
        if not page.title or page.title != normalise_text(page.title):
            problems.append(f"{page.name}: title {page.title!r}")
        if len(normalise_text(page.text)) < MIN_TEXT_CHARS:
            problems.append(f"{page.name}: text too short")
        marks = [mark for mark in FURNITURE_MARKS if mark in page.text]
        if marks:
            problems.append(f"{page.name}: furniture in expected text {marks}")
        if page.title in page.text.split("\n\n"):
            problems.append(f"{page.name}: title repeated as a body paragraph")
        if not page.content:
            problems.append(f"{page.name}: page missing")
    assert not problems, describe_misses(problems)


# --- herald on the golden set -----------------------------------------------------------------


def test_title_exact_on_every_page(
    golden: list[GoldenPage], results: dict[str, PageResult]
) -> None:
    misses = [
        f"{page.name}: got {results[page.name].title!r}, want {page.title!r}"
        + (f" ({results[page.name].error})" if results[page.name].error else "")
        for page in golden
        if results[page.name].title != page.title
    ]
    assert not misses, f"{len(misses)}/{len(golden)} titles wrong:\n" + describe_misses(misses)


def test_date_day_exact_on_95_percent_of_pages(
    golden: list[GoldenPage], results: dict[str, PageResult]
) -> None:
    misses = [
        f"{page.name}: got {results[page.name].day}, want {page.date}"
        for page in golden
        if results[page.name].day != page.date
    ]
    share = 1 - len(misses) / len(golden)
    assert share >= DATE_SHARE_MIN, (
        f"day-exact on {share:.1%} of {len(golden)} pages (need {DATE_SHARE_MIN:.0%}):\n"
        + describe_misses(misses)
    )


def test_mean_body_f1_at_least_085(
    golden: list[GoldenPage], results: dict[str, PageResult]
) -> None:
    scores = {page.name: ngram_f1(results[page.name].text, page.text) for page in golden}
    mean = statistics.fmean(scores.values())
    low = [
        f"{name}: F1 {score:.3f}" + (f" ({results[name].error})" if results[name].error else "")
        for name, score in sorted(scores.items(), key=lambda item: item[1])
        if score < BODY_F1_MIN
    ]
    assert mean >= BODY_F1_MIN, (
        f"mean body F1 {mean:.3f} < {BODY_F1_MIN} over {len(scores)} pages; low pages:\n"
        + describe_misses(low)
    )
