"""Sites that fight back, read with the real headless Chromium (Debian's ``chromium``, driven by
Playwright; never a downloaded browser): a 521 cookie challenge whose list is built by XHR, a
list built from inline JSON, a 412 challenge that needs two reloads, and a page whose script
tries to reach addresses the SSRF guard refuses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import REQUIRE, webhook_subscriber, write_config
from tests.support.challenge_site import ARTICLES, ChallengeSite, article_title
from tests.support.counting import CountingServer
from worker.cli import main
from worker.config import BrowserSettings, SourceConfig, load_config
from worker.demo.receiver import WebhookReceiver
from worker.fetch import Fetcher, FetchError
from worker.netguard import Policy
from worker.render.browser import Renderer, _pids_with
from worker.render.fallback import RenderFallback
from worker.render.locate import locate_chromium
from worker.render.page import RenderError
from worker.runtime import build_runtime
from worker.sources import discover
from worker.store.stats import all_sources, read_figures, source_overviews
from worker.web.metrics import render_metrics
from worker.web.pages import index_html

pytestmark = pytest.mark.timeout(180)


def chromium() -> str:
    found = locate_chromium()
    if not found:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture
def site() -> Iterator[ChallengeSite]:
    served = ChallengeSite().start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    shared = Renderer(BrowserSettings(timeout=20), chromium())
    yield shared
    shared.close()


def source_block(site: ChallengeSite, column: str, *, extra: str = "", path: str = "") -> str:
    return f"""
[[sources]]
name = "{column}"
url = "{site.url(path or f"/{column}/")}"
kind = "auto"
interval = "1h"
backfill = 1
notify_existing = true
{extra}
"""


def run_once(path: Path) -> str:
    result = CliRunner().invoke(main, ["--config", str(path), "run", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_521_challenge_with_a_scripted_list_is_read_completely_by_run_once(
    tmp_path: Path, site: ChallengeSite, receiver: WebhookReceiver
) -> None:
    """Default settings: the list is rendered once (its redirect followed, the challenge solved,
    the XHR list built), the clearance cookie goes into the jar, and every article is then read
    without a browser."""
    chromium()
    sources = source_block(site, "jsl", path="/jsl")
    path = write_config(tmp_path, sources=sources, subscribers=webhook_subscriber(receiver.url()))
    run_once(path)
    titles = {article_title("jsl", n) for n in range(1, ARTICLES + 1)}
    got = {m.payload["data"]["title"] for m in receiver.messages()}
    assert got == titles
    feed = json.loads((tmp_path / "feeds" / "sources" / "jsl.json").read_text("utf-8"))
    assert {item["title"] for item in feed["items"]} == titles
    assert all("第4段" in item["content_html"] for item in feed["items"])
    # the browser loaded the list once (521, then 200 and its XHR); articles came plain, cookied
    article_hits = [hit for hit in site.hits if "/art/" in hit.path]
    assert len(article_hits) == ARTICLES and {hit.status for hit in article_hits} == {200}
    assert all("__jsl_clearance" in hit.cookies for hit in article_hits)
    assert site.paths(521).count("/jsl/") == 2  # the plain fetch, then the browser's first load
    assert site.paths(302).count("/jsl") == 2  # the browser followed the redirect through herald
    assert site.paths(200).count("/jsl/") == 1 and site.paths(200).count("/jsl/data.json") == 1
    assert len({hit.user_agent for hit in site.hits}) == 1  # the cookie is bound to one agent
    rt = build_runtime(load_config(path), migrate=False)
    try:
        with rt.session() as session:
            (row,) = all_sources(session)
            assert (row.status, row.renders, row.render_streak) == ("ok", 1, 1)
            index = index_html(rt.config, source_overviews(session))
        assert 'ok <span class="meta">(rendered)</span>' in index
    finally:
        rt.close()
    status = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "ok (rendered)" in status.output
    assert "rendering: available: headless Chromium" in status.output


def test_a_second_poll_reads_the_list_with_the_earned_cookie_and_no_browser(
    site: ChallengeSite, renderer: Renderer
) -> None:
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    try:
        first = RenderFallback("auto", renderer)
        page = fetcher.with_render(first).get(site.url("/jsl/"))
        assert page.rendered and page.text.count("<li>") == ARTICLES
        again = RenderFallback("auto", renderer)
        plain = fetcher.with_render(again).get(site.url("/jsl/"))
        assert not plain.rendered and not again.records  # the jar's cookie got it in
        assert plain.status == 200 and "<li>" not in plain.text  # the plain page: script only
    finally:
        fetcher.close()


def test_an_inline_json_list_is_rendered_and_shown_by_sources_test(
    tmp_path: Path, site: ChallengeSite
) -> None:
    chromium()
    path = write_config(tmp_path, sources=source_block(site, "inline"))
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "test", "inline"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "rendered" in result.output and "no items, page has script" in result.output
    assert f"{ARTICLES} items" in result.output
    assert result.output.count("✓") == 3


def test_a_412_challenge_needing_two_reloads(site: ChallengeSite, renderer: Renderer) -> None:
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    fallback = RenderFallback("auto", renderer)
    try:
        page = fetcher.with_render(fallback).get(site.url("/twice/"))
    finally:
        fetcher.close()
    assert page.rendered and page.text.count("/twice/art/") == ARTICLES
    assert site.paths(412).count("/twice/") == 3  # plain fetch, then the browser's two steps
    assert [record.why for record in fallback.records] == ["HTTP 412 challenge"]
    assert "document 412 → 412 → 200" in fallback.records[0].report
    cookies = {cookie.name: cookie.value for cookie in fetcher.cookies}
    assert cookies == {"step1": "42", "step2": "137"}


def test_the_browser_reaches_nothing_the_guard_refuses(caplog: pytest.LogCaptureFixture) -> None:
    """The page's script, iframe, image, workers and WebSockets aim at 127.0.0.1 and 127.0.0.3;
    only the site (127.0.0.2) and 127.0.0.4 are allowed. Nothing connects to the refused
    addresses, nor to the dead proxy Chromium is given (port 9, listened on here when this
    process may); a DELETE to 127.0.0.4 and a POST there are refused, a GET is relayed."""
    executable = chromium()  # before any server starts: a skip must leave none listening
    inside, other = CountingServer("127.0.0.1"), CountingServer("127.0.0.3")
    writable = CountingServer("127.0.0.4")
    try:
        proxy_port: CountingServer | None = CountingServer("127.0.0.1", 9)
    except OSError:  # not root, or port 9 taken: the rest still holds
        proxy_port = None
    targets = [inside.url("").rstrip("/"), other.url("").rstrip("/")]
    site = ChallengeSite(
        host="127.0.0.2", targets=targets, writable=[writable.url("").rstrip("/")]
    ).start()
    renderer = Renderer(BrowserSettings(timeout=20), executable)
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.2", "127.0.0.4"]))
    try:
        fallback = RenderFallback("always", renderer)
        page = fallback.render(fetcher, site.url("/hostile/"), "render = always")
        assert page.rendered and page.text.count("/hostile/art/") == ARTICLES
        time.sleep(0.5)  # anything that slipped out would have connected by now
        assert inside.connections == 0 and other.connections == 0
        assert proxy_port is None or proxy_port.connections == 0
        assert writable.methods == ["GET"]
        (record,) = fallback.records
        assert record.ok and "refused" in record.report
        assert "/hostile/bounce" in site.paths(302)  # the redirect's next hop was refused too
        assert "/hostile/worker.js" in site.paths(200)  # the workers were started
        refused = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
        assert any(f"{targets[0]}/bounced" in line for line in refused), refused
        assert any("/secret" in line and "127.0.0.3" in line for line in refused), refused
        assert any("DELETE request to another site" in line for line in refused), refused
        assert any("POST request to another site" in line for line in refused), refused
    finally:
        renderer.close()
        fetcher.close()
        site.stop()
        for server in (inside, other, writable, proxy_port):
            if server is not None:
                server.stop()


def test_a_scripted_list_behind_a_steady_etag_is_rendered_again_and_finds_new_items(
    site: ChallengeSite, renderer: Renderer
) -> None:
    """The shell page of an XHR-built list does not change when the list does: the rendered
    reading keeps no validators, so the next poll is not a 304 that hides the new article."""
    source = SourceConfig(name="jsl", url=site.url("/jsl/"), kind="auto")
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    now = datetime.now(UTC)
    try:
        first = discover(fetcher.with_render(RenderFallback("auto", renderer)), source, tz=UTC,
                         now=now)  # fmt: skip
        assert len(first.items) == ARTICLES and (first.etag, first.last_modified) == ("", "")
        site.articles += 1
        again = RenderFallback("auto", renderer)
        second = discover(fetcher.with_render(again), source, tz=UTC, now=now,
                          etag=first.etag, last_modified=first.last_modified)  # fmt: skip
    finally:
        fetcher.close()
    assert not second.not_modified and len(second.items) == ARTICLES + 1
    assert [record.why for record in again.records] == ["no items, page has script"]


def test_closing_the_renderer_fails_a_render_waiting_for_its_slot(site: ChallengeSite) -> None:
    renderer = Renderer(BrowserSettings(timeout=5, max_concurrent=1), chromium())
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    errors: list[str] = []

    def render(path: str) -> None:
        try:
            renderer.render(site.url(path), fetcher)
        except RenderError as err:
            errors.append(str(err))

    busy = threading.Thread(target=render, args=("/spin/",))
    waiting = threading.Thread(target=render, args=("/twice/",))
    busy.start()
    time.sleep(1.5)
    waiting.start()
    time.sleep(0.5)
    started = time.monotonic()
    renderer.close()
    busy.join(30)
    waiting.join(30)
    fetcher.close()
    assert not busy.is_alive() and not waiting.is_alive()
    assert time.monotonic() - started < 30
    assert len(errors) == 2 and any("shut down" in error for error in errors), errors


def test_render_never_leaves_the_source_blocked_and_starts_no_browser(
    site: ChallengeSite, renderer: Renderer
) -> None:
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    launches = renderer.launches
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.with_render(RenderFallback("never", renderer)).get(site.url("/jsl/"))
        assert caught.value.status == 521
        with pytest.raises(FetchError, match="not available"):
            fetcher.with_render(RenderFallback("auto", None)).get(site.url("/jsl/"))
    finally:
        fetcher.close()
    assert renderer.launches == launches


def test_a_challenge_that_never_ends_is_given_up_as_blocked(
    site: ChallengeSite, renderer: Renderer
) -> None:
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    site.forever = True
    quick = Renderer(BrowserSettings(timeout=3), renderer.executable)
    try:
        with pytest.raises(FetchError, match="still a challenge") as caught:
            fetcher.with_render(RenderFallback("auto", quick)).get(site.url("/jsl/"))
    finally:
        quick.close()
        fetcher.close()
    assert caught.value.status == 521  # health still says blocked, with the browser's reason
    assert "headless Chromium could not get past it" in str(caught.value)


def test_a_spinning_page_is_given_up_in_time_and_a_killed_browser_is_started_anew(
    site: ChallengeSite,
) -> None:
    """A script in ``while (true)`` never answers: the page is given up at its timeout and its
    context closed; the browser goes on serving. A browser killed (as one that stops answering
    is) is seen disconnected and replaced at the next render."""
    renderer = Renderer(BrowserSettings(timeout=2, keep_open=60), chromium())
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    try:
        spin = RenderFallback("always", renderer)
        started = time.monotonic()
        with pytest.raises(FetchError, match="still loading"):
            spin.render(fetcher, site.url("/spin/"), "render = always")
        assert time.monotonic() - started < 2 + 5 + 3  # timeout, context close, slack
        page = fetcher.with_render(RenderFallback("auto", renderer)).get(site.url("/twice/"))
        assert page.rendered and renderer.launches == 1
        renderer.kill()
        deadline = time.monotonic() + 10
        while _pids_with(renderer.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pids_with(renderer.marker)
        fetcher.cookies.clear()  # challenged again, so the browser is needed again
        page = fetcher.with_render(RenderFallback("auto", renderer)).get(site.url("/twice/"))
        assert page.rendered and renderer.launches == 2
    finally:
        renderer.close()
        fetcher.close()


def test_an_idle_browser_is_closed(site: ChallengeSite) -> None:
    renderer = Renderer(BrowserSettings(timeout=20, keep_open=0.5), chromium())
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    try:
        fetcher.with_render(RenderFallback("auto", renderer)).get(site.url("/twice/"))
        assert _pids_with(renderer.marker)
        deadline = time.monotonic() + 15
        while (renderer.running or _pids_with(renderer.marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not renderer.running and not _pids_with(renderer.marker)
    finally:
        renderer.close()
        fetcher.close()


def test_a_page_over_its_request_budget_is_cut_off(site: ChallengeSite) -> None:
    """Two requests allowed: the challenge and the reloaded page; the list's XHR is refused."""
    renderer = Renderer(BrowserSettings(timeout=20, max_requests=2), chromium())
    fetcher = Fetcher(policy=Policy.from_allow(["127.0.0.1"]))
    try:
        fallback = RenderFallback("auto", renderer)
        page = fetcher.with_render(fallback).get(site.url("/jsl/"))
    finally:
        renderer.close()
        fetcher.close()
    assert page.rendered and "<li>" not in page.text
    assert "over the page's budget of 2 requests" in fallback.records[0].report
    assert "/jsl/data.json" not in site.paths()


def test_a_source_rendered_on_every_poll_says_so_and_is_counted_in_metrics(
    tmp_path: Path, site: ChallengeSite
) -> None:
    chromium()
    path = write_config(tmp_path, sources=source_block(site, "inline", extra='render = "always"'))
    for _ in range(3):
        run_once(path)
    status = CliRunner().invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "250"})
    assert status.exit_code == 0, status.output
    assert "ok (rendered)" in status.output
    assert "needs headless Chromium on every poll (the last 3)" in status.output
    rt = build_runtime(load_config(path), migrate=False)
    try:
        with rt.session() as session:
            figures = read_figures(session, ())
    finally:
        rt.close()
    exposed = {
        metric.name: [sample.value for sample in metric.samples]
        for metric in render_metrics(figures.renders)
    }
    assert exposed["herald_renders"][0] == 3 and exposed["herald_rendered_polls_in_a_row"] == [3]
    assert exposed["herald_render_failures"][0] == 0
    # a poll that reads its list without the browser ends the streak
    config = path.read_text("utf-8").replace('render = "always"', "")
    path.write_text(config.replace(site.url("/inline/"), site.url("/plain/")), "utf-8")
    run_once(path)
    rt = build_runtime(load_config(path), migrate=False)
    try:
        with rt.session() as session:
            (row,) = all_sources(session)
    finally:
        rt.close()
    assert (row.renders, row.render_streak) == (3, 0)


@pytest.mark.usefixtures("allow_loopback")
def test_detect_reads_a_challenged_scripted_column(site: ChallengeSite) -> None:
    chromium()
    result = CliRunner().invoke(
        main, ["sources", "detect", site.url("/jsl/")], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "read in headless Chromium: HTTP 521 challenge" in result.output
    assert f"{ARTICLES} entries" in result.output and "[[sources]]" in result.output


def test_backfill_says_the_list_was_rendered(tmp_path: Path, site: ChallengeSite) -> None:
    chromium()
    path = write_config(tmp_path, sources=source_block(site, "jsl"))
    result = CliRunner().invoke(
        main, ["--config", str(path), "sources", "backfill", "jsl", "--pages", "1"]
    )
    assert result.exit_code == 0, result.output
    assert f"{ARTICLES} items on 1 page(s), 1 rendered in headless Chromium" in result.output
