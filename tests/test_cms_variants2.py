"""More CMS variants from just a URL: `sources detect` names the family and `run --once` with
kind = "auto" stores exactly the column (full titles, Beijing days, clean bodies)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import write_config
from tests.support.cms_variants import FOOTER_MARKERS
from tests.support.cms_variants2 import (
    GenericBracket,
    GenericMetaOnly,
    HanwebGbkProxy,
    HanwebMore,
    JpaasDateFirst,
    JpaasTable,
    TrsCdn,
    TrsScript,
    Variant2Site,
)
from worker.cli import main
from worker.config import load_config
from worker.embedded import run_once

BEIJING = ZoneInfo("Asia/Shanghai")

# The sites at their full size: every one spans several list pages / proxy groups / API pages.
VARIANTS: dict[str, type[Variant2Site]] = {
    "hanweb_more": HanwebMore,  # 45 records in the page, 7 from morecolumndataproxy
    "hanweb_gbkproxy": HanwebGbkProxy,  # 12 in the page, 29 from the GBK dataproxy
    "jpaas_datefirst": JpaasDateFirst,  # API pages of 10, 10, 10 and 4
    "jpaas_table": JpaasTable,  # API pages of 12, 12 and 7, then an empty one
    "trs_cdn": TrsCdn,  # index.html, index_1.html, index_2.html; links under localhost
    "trs_script": TrsScript,  # index.html … index_3.html
    "generic_bracket": GenericBracket,  # ?page=1 … ?page=3
    "generic_metaonly": GenericMetaOnly,  # index.jhtml … index_3.jhtml, 2023 back into 2022
}


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Iterator[Variant2Site]:
    with VARIANTS[request.param]() as site:
        yield site


def auto_source(url: str) -> str:
    return f"""
[[sources]]
name = "column"
url = "{url}"
kind = "auto"
backfill = 20
"""


def beijing_day(published: str) -> str:
    """The Beijing calendar day of a stored ``published_at`` (naive UTC text)."""
    return (
        datetime.fromisoformat(published).replace(tzinfo=UTC).astimezone(BEIJING).date().isoformat()
    )


@pytest.mark.usefixtures("allow_loopback")
def test_detect_names_the_family(variant: Variant2Site) -> None:
    result = CliRunner().invoke(main, ["sources", "detect", variant.list_url])
    assert result.exit_code == 0, result.output
    assert f"family: {variant.family}\n" in result.output, result.output
    newest = variant.expected()[0]
    assert newest["url"] in result.output, result.output
    assert newest["date"][5:] in result.output, result.output


def test_auto_stores_exactly_the_column(tmp_path: Path, variant: Variant2Site) -> None:
    path = write_config(tmp_path, sources=auto_source(variant.list_url))
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = conn.execute("select url, title, published_at, text from articles").fetchall()
        source = conn.execute("select detected_kind, status from sources").fetchone()
    assert source == (variant.family, "ok")
    stored = {url: (title, published, text or "") for url, title, published, text in rows}
    expected = {e["url"]: e for e in variant.expected()}
    assert sorted(set(expected) - set(stored)) == [], "articles missing"
    assert sorted(set(stored) - set(expected)) == [], "articles that are not in the column"
    paragraphs = variant.paragraphs()
    for url, want in expected.items():
        title, published, text = stored[url]
        assert title == want["title"], url
        assert published and beijing_day(published) == want["date"], (url, published)
        missing = [p for p in paragraphs[url] if p not in text]
        assert missing == [], (url, text[:300])
        chrome = [marker for marker in FOOTER_MARKERS if marker in text]
        assert chrome == [], (url, text[:300])
