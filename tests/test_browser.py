"""What a person sees: the index, a source page and a digest page in headless Chromium (Debian's
``chromium``, driven by Playwright; never a downloaded browser), at phone and desktop widths.

Checks titles, dates in Beijing time, that every feed link works, that nothing is wider than
the phone's screen, and that the console stays free of errors (a Content-Security-Policy
violation is one). Screenshots go to ``test-artifacts/browser/`` (``$HERALD_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import REQUIRE
from tests.support.served import Served, served_herald

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARTIFACTS = Path(
    os.environ.get("HERALD_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts")
)
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}  # fmt: skip
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


def chromium_path() -> str:
    found = os.environ.get("HERALD_CHROMIUM") or shutil.which("chromium") or ""
    if not found:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_herald(tmp_path_factory.mktemp("browser")) as found:
        yield found


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    """Chromium, started after ``served``: Playwright's sync API runs an event loop in this
    thread, and herald's delivery (asyncio) must not run inside it."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


class Visit:
    """One page opened in a fresh context, with its console errors collected."""

    def __init__(self, browser: Any, width: str, url: str) -> None:
        self.context = browser.new_context(locale="zh-CN", **VIEWPORTS[width])
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.response = self.page.goto(url, wait_until="load")
        self.width = width

    def shot(self, name: str) -> None:
        ARTIFACTS.joinpath("browser").mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / "browser" / f"{name}-{self.width}.png"),
                             full_page=True)  # fmt: skip

    def fits_the_screen(self) -> bool:
        return bool(self.page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"))  # fmt: skip

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_index_shows_sources_and_working_feed_links(
    browser: Any, served: Served, width: str
) -> None:
    visit = Visit(browser, width, served.root)
    try:
        page = visit.page
        assert visit.response.status == 200
        assert page.title() == "herald · 订阅源"
        assert page.locator("h1").inner_text() == "herald · 订阅源"
        assert page.get_by_role("link", name="cases").is_visible()
        assert (
            "新增：关于开展 2026 年科普月活动的通知" in page.locator("table.sources").inner_text()
        )
        links = page.locator("ul.feeds a[href^='feeds/']")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(hrefs) == 4 * 3  # all, the source, its tag, the digest: three formats each
        for href in hrefs:
            reply = page.request.get(served.root + str(href))
            assert reply.status == 200, href
            assert reply.headers["content-type"].split(";")[0] in FEED_TYPES, href
        assert visit.fits_the_screen()
        visit.shot("index")
        page.get_by_role("link", name="cases").click()
        page.wait_for_load_state("load")
        assert page.url == served.root + "sources/cases"
        assert visit.errors == []
    finally:
        visit.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_source_page_shows_titles_and_beijing_dates(
    browser: Any, served: Served, width: str
) -> None:
    visit = Visit(browser, width, served.root + "sources/cases")
    try:
        page = visit.page
        assert page.locator("h1").inner_text() == "cases"
        items = page.locator("ol.articles li")
        assert items.count() == 16
        newest = served.site.articles[0]
        first = items.nth(0)
        assert first.locator("a").inner_text() == newest.title
        day = newest.published.astimezone(SHANGHAI).strftime("%Y-%m-%d")
        assert first.locator("time").inner_text() == f"{day} 00:00"  # Beijing midnight
        assert "Asia/Shanghai" in page.locator("p.note").inner_text()
        assert first.locator("a").is_visible()
        back = page.get_by_role("link", name="← 全部来源")
        assert back.get_attribute("href") == "../"
        assert visit.fits_the_screen()
        visit.shot("source")
        assert visit.errors == []
    finally:
        visit.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_digest_page_opened_from_a_chat_link_reads_on_a_phone(
    browser: Any, served: Served, width: str
) -> None:
    visit = Visit(browser, width, served.root + f"digests/team/{served.digest_key}.html")
    try:
        page = visit.page
        assert visit.response.status == 200
        heading = page.locator("h1").inner_text()
        assert "摘要" in heading and "1 篇" in heading
        assert page.locator("ol li a").first.inner_text() == (
            "新增：关于开展 2026 年科普月活动的通知"
        )
        window = page.locator("p.window").inner_text()
        assert window.count("-") >= 4 and "1 篇" in window
        assert visit.fits_the_screen()
        visit.shot("digest")
        page.get_by_role("link", name="往期摘要").click()
        page.wait_for_load_state("load")
        assert page.url == served.root + "digests/team/"
        assert page.locator(f"a[href='{served.digest_key}.html']").count() == 1
        assert visit.fits_the_screen()
        visit.shot("digest-archive")
        assert visit.errors == []
    finally:
        visit.close()
