"""Realistic CMS variants from just a URL: `sources detect` names the family, `run --once` with
kind = "auto" stores exactly the column (full titles, Beijing days, clean bodies, no sidebar
links), and a 412 JavaScript challenge leaves the source `blocked` with the reason in `status`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tests.conftest import write_config
from tests.support.cms_variants import (
    FOOTER_MARKERS,
    GenericList,
    HanwebLi,
    HanwebTable,
    JpaasDiv,
    JpaasLi,
    TrsCountPage,
    TrsPageDiv,
    VariantSite,
)
from worker.cli import main
from worker.config import load_config
from worker.embedded import run_once

BEIJING = ZoneInfo("Asia/Shanghai")
BLOCKED = "column: blocked — blocked by a JavaScript cookie challenge (HTTP 412)"

# Small columns that still span several list pages / dataproxy groups / API pages. Where a
# sidebar lists other articles, every list page stays longer than the sidebar.
VARIANTS: dict[str, tuple[type[VariantSite], dict[str, int]]] = {
    # 15 records in the page, 8 from the GET-only dataproxy
    "hanweb_table": (HanwebTable, {"articles": 23, "per_page": 5}),
    # 12 records in the page (sidebar datastore: 6), 8 from the POST-only dataproxy
    "hanweb_li": (HanwebLi, {"articles": 20, "per_page": 4}),
    # API pages of 6, 6 and 5
    "jpaas_div": (JpaasDiv, {"articles": 17, "per_page": 6}),
    # API pages of 8, 8 and 4, then an empty one (sidebar unit: 5)
    "jpaas_li": (JpaasLi, {"articles": 20, "per_page": 8}),
    # list.shtml, list_2.shtml, list_3.shtml
    "trs_pagediv": (TrsPageDiv, {"articles": 25, "per_page": 10}),
    # /tzgg/, index_1.htm, index_2.htm, 10 each (sidebar: 8)
    "trs_countpage": (TrsCountPage, {"articles": 30, "per_page": 10}),
    # index.html, index_2.html, index_3.html by 下一页
    "generic_list": (GenericList, {"articles": 20, "per_page": 8}),
}
# A WAF that guards only the list API: the column page loads, its further records do not.
API_ONLY_WAF = {"hanweb_li": "/module/", "jpaas_div": "/api-gateway/"}


def make_site(name: str, *, anti_bot: int | None = None, prefix: str = "") -> VariantSite:
    cls, options = VARIANTS[name]
    return cls(**options, anti_bot=anti_bot, anti_bot_prefix=prefix)


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Iterator[VariantSite]:
    with make_site(request.param) as site:
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
def test_detect_names_the_family(variant: VariantSite) -> None:
    result = CliRunner().invoke(main, ["sources", "detect", variant.list_url])
    assert result.exit_code == 0, result.output
    assert f"family: {variant.family}\n" in result.output, result.output
    newest = variant.expected()[0]
    assert newest["url"] in result.output, result.output
    assert newest["date"][5:] in result.output, result.output  # a yearless list gets a guessed year


def ingest_column(tmp_path: Path, site: VariantSite) -> list[tuple[str, str, str, str]]:
    """Run one pass of an auto source over the site; return the stored articles."""
    path = write_config(tmp_path, sources=auto_source(site.list_url))
    run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = conn.execute("select url, title, published_at, text from articles").fetchall()
        source = conn.execute("select detected_kind, status from sources").fetchone()
    assert source == (site.family, "ok")
    return rows


def test_auto_stores_exactly_the_column(tmp_path: Path, variant: VariantSite) -> None:
    rows = ingest_column(tmp_path, variant)
    stored = {url: (title, published, text or "") for url, title, published, text in rows}
    expected = {e["url"]: e for e in variant.expected()}
    assert not set(stored) & set(variant.side_urls()), "sidebar links were stored"
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


@pytest.mark.parametrize(
    ("name", "prefix"),
    [(name, "") for name in VARIANTS] + sorted(API_ONLY_WAF.items()),
    ids=[*VARIANTS, *(f"{name}-api-only" for name in sorted(API_ONLY_WAF))],
)
def test_anti_bot_challenge_blocks_the_source(tmp_path: Path, name: str, prefix: str) -> None:
    with make_site(name, anti_bot=412, prefix=prefix) as site:
        path = write_config(tmp_path, sources=auto_source(site.list_url))
        run_once(load_config(path))
        out = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "250"})
        challenged = [hit for hit in site.requests_log if hit[2] == 412]
    assert challenged, site.requests_log
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        (status,) = conn.execute("select status from sources").fetchone()
    assert status == "blocked"
    assert out.exit_code == 0, out.output
    assert BLOCKED in out.output, out.output


def test_trs_short_last_page_beside_a_longer_sidebar(tmp_path: Path) -> None:
    with TrsCountPage(articles=21, per_page=10) as site:  # pages of 10, 10 and 1; sidebar 8
        rows = ingest_column(tmp_path, site)
        expected = {e["url"] for e in site.expected()}
    assert {url for url, *_ in rows} == expected
