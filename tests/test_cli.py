"""The CLI commands that read without storing: extract, sources test, sources list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import site_source, write_config
from worker.cli import main
from worker.demo.site import DemoSite

DATA = Path(__file__).parent / "data" / "extract"


def test_extract_file_as_json() -> None:
    page = DATA / "hanweb_cast_work_case.html"
    expected = json.loads((DATA / "hanweb_cast_work_case.expected.json").read_text("utf-8"))
    base = "https://www.cast.org.cn/gzal/art/2022/10/8/art_1_1.html"
    result = CliRunner().invoke(main, ["extract", str(page), "--json", "--base-url", base])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == expected["title"]
    assert data["published"] == expected["published"]
    assert all(src.startswith("https://www.cast.org.cn/") for src in data["images"])
    assert len(data["images"]) == 2
    assert "打印本页" not in data["text"] and "重庆" in data["text"]


@pytest.mark.usefixtures("allow_loopback")
def test_extract_url(site: DemoSite) -> None:
    article = site.articles[2]
    result = CliRunner().invoke(main, ["extract", site.article_url(article.id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == article.title
    assert data["published"].startswith(article.published.date().isoformat())
    assert data["published"].endswith("+08:00")


def test_extract_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "nope.html")])
    assert result.exit_code == 1
    assert "nope.html" in result.output


def test_sources_test_is_a_dry_run(tmp_path: Path, site: DemoSite) -> None:
    path = write_config(tmp_path, sources=site_source(site, backfill=2))
    runner = CliRunner()
    listed = runner.invoke(main, ["--config", str(path), "sources", "list"])
    assert listed.exit_code == 0 and "cases" in listed.output
    result = runner.invoke(main, ["--config", str(path), "sources", "test", "cases"])
    assert result.exit_code == 0, result.output
    assert "15 items, 2 page(s)" in result.output
    assert result.output.count("✓") == 3
    assert not (tmp_path / "herald.db").exists()  # nothing stored
    assert not (tmp_path / "feeds").exists()
    missing = runner.invoke(main, ["--config", str(path), "sources", "test", "nope"])
    assert missing.exit_code == 2 and "no source named 'nope'" in missing.output


def test_feeds_build_and_status_on_an_empty_store(tmp_path: Path, site: DemoSite) -> None:
    path = write_config(tmp_path, sources=site_source(site))
    runner = CliRunner()
    built = runner.invoke(main, ["--config", str(path), "feeds", "build"])
    assert built.exit_code == 0, built.output
    names = sorted(
        p.relative_to(tmp_path / "feeds").as_posix() for p in (tmp_path / "feeds").rglob("*.*")
    )
    assert names == [
        "all.atom", "all.json", "all.xml",
        "sources/cases.atom", "sources/cases.json", "sources/cases.xml",
        "tags/工作案例.atom", "tags/工作案例.json", "tags/工作案例.xml",
    ]  # fmt: skip
    status = runner.invoke(main, ["--config", str(path), "status"], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "cases" in status.output and "not started" in status.output


def test_feeds_only_for_what_is_fed_and_a_second_build_is_up_to_date(
    tmp_path: Path, site: DemoSite
) -> None:
    """A disabled source that never stored an article, and a disabled digest subscriber, get no
    (empty) feed files; a source disabled after it stored articles keeps its feed."""
    never = '[[sources]]\nname = "old"\nurl = "https://old.example.org/rss.xml"\nkind = "feed"\n'
    never += 'tags = ["gone"]\nenabled = false\n'
    digest = (
        '[[subscribers]]\nname = "brief"\nchannel = "webhook"\nurl = "https://a.example.org/h"\n'
        'mode = "digest"\nenabled = false\n'
    )
    path = write_config(tmp_path, sources=site_source(site) + never, subscribers=digest)
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(path), "run", "--once"]).exit_code == 0
    feeds = tmp_path / "feeds"
    names = sorted(p.relative_to(feeds).as_posix() for p in feeds.rglob("*.xml"))
    assert names == ["all.xml", "sources/cases.xml", "tags/工作案例.xml"]
    again = runner.invoke(main, ["--config", str(path), "feeds", "build"])
    assert again.exit_code == 0, again.output
    assert "feeds up to date under" in again.output and "0 feed file" not in again.output

    disabled = path.read_text(encoding="utf-8").replace(
        'name = "cases"', 'name = "cases"\nenabled = false'
    )
    path.write_text(disabled, encoding="utf-8")
    assert runner.invoke(main, ["--config", str(path), "feeds", "build"]).exit_code == 0
    assert (feeds / "sources" / "cases.xml").is_file()
    assert "<item>" in (feeds / "sources" / "cases.xml").read_text(encoding="utf-8")


def test_sources_backfill_imports_older_pages_silently(tmp_path: Path) -> None:
    from tests.conftest import webhook_subscriber
    from worker.demo.receiver import WebhookReceiver

    with DemoSite(articles=35, page_size=10) as demo, WebhookReceiver() as hook:
        path = write_config(
            tmp_path,
            sources=site_source(demo, backfill=1),
            subscribers=webhook_subscriber(hook.url()),
        )
        runner = CliRunner()
        first = runner.invoke(
            main, ["--config", str(path), "sources", "backfill", "cases", "--pages", "2"]
        )
        assert first.exit_code == 0, first.output
        assert "20 items on 2 page(s)" in first.output and "'new': 20" in first.output
        second = runner.invoke(
            main, ["--config", str(path), "sources", "backfill", "cases", "--pages", "4"]
        )
        assert second.exit_code == 0, second.output
        assert "35 items on 4 page(s)" in second.output and "'new': 15" in second.output
        assert hook.messages() == []  # a backfill notifies nobody
        import sqlite3

        with sqlite3.connect(tmp_path / "herald.db") as conn:
            assert conn.execute("select count(*) from articles").fetchone() == (35,)
