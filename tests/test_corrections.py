"""Corrections: an edited article reaches the subscribers who heard of it as ``article.updated``
(webhooks: both versions and a diff; chat: one "更正" message), as each one's ``updates`` option
asks; a whitespace-only edit reaches nobody; the feeds mark the entry updated."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import SECRET, site_source, write_config
from tests.support.chat_fakes import FakeWeCom
from worker.config import load_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite
from worker.diffs import compare, sentences
from worker.embedded import run_once

pytestmark = pytest.mark.timeout(120)


def hook(name: str, url: str, updates: str | None) -> str:
    option = f'updates = "{updates}"\n' if updates else ""
    return f"""
[[subscribers]]
name = "{name}"
channel = "webhook"
url = "{url}"
secret = "{SECRET}"
{option}"""


@pytest.fixture()
def wecom() -> Iterator[FakeWeCom]:
    fake = FakeWeCom()
    fake.start()
    yield fake
    fake.stop()


def age_checks(directory: Path) -> None:
    """A day passes: every stored article is due for its ``recheck``."""
    with sqlite3.connect(directory / "herald.db") as conn:
        conn.execute("update articles set checked_at = '2000-01-01 00:00:00'")


def updates_for(receiver: WebhookReceiver, path: str) -> list[dict[str, object]]:
    return [
        m.payload["data"]
        for m in receiver.messages()
        if m.path == path and m.payload["type"] == "article.updated"
    ]


def test_an_edited_title_reaches_each_subscriber_as_its_updates_option_asks(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver, wecom: FakeWeCom
) -> None:
    subscribers = (
        hook("titles", receiver.url("/titles"), None)  # the default: "title"
        + hook("everything", receiver.url("/any"), "any")
        + hook("nothing", receiver.url("/none"), "none")
        + f'\n[[subscribers]]\nname = "group"\nchannel = "wecom"\nurl = "{wecom.url()}"\n'
    )
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=subscribers,
    )  # fmt: skip
    config = load_config(path)
    run_once(config)
    announced, chats = len(receiver.messages()), len(wecom.messages())
    assert announced == 30 and chats == 2  # ten articles, folded into WeCom's 4 KB messages
    target = site.articles[0]
    old_title = target.title

    page = urlsplit(site.article_url(target.id)).path
    read = site.hits(page)
    site.edit_article(target.id, respace=True)  # only the indentation changes
    age_checks(tmp_path)
    run_once(config)
    assert site.hits(page) == read + 1  # read again, found the same
    assert len(receiver.messages()) == announced and len(wecom.messages()) == chats
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        assert conn.execute("select max(version) from articles").fetchone() == (1,)

    site.edit_article(target.id, "补充说明：活动时间调整为十月十日。")
    age_checks(tmp_path)
    run_once(config)
    (text_change,) = updates_for(receiver, "/any")
    assert text_change["added"] == ["补充说明：活动时间调整为十月十日。"]
    assert text_change["changes"] == {"title": False, "text": True}
    assert "+补充说明：活动时间调整为十月十日。" in str(text_change["diff"])
    assert updates_for(receiver, "/titles") == [] and len(wecom.messages()) == chats

    site.edit_article(target.id, title=f"{old_title}（更正版）")
    age_checks(tmp_path)
    run_once(config)
    (titled,) = updates_for(receiver, "/titles")
    assert titled["title"] == f"{old_title}（更正版）" and titled["version"] == 3
    assert titled["previous"] == {
        "version": 2,
        "title": old_title,
        "text": text_change["text"],
    }
    assert titled["changes"] == {"title": True, "text": False}
    diff = str(titled["diff"])
    assert diff.startswith("--- v2\n+++ v3\n") and f"-# {old_title}" in diff
    assert f"+# {old_title}（更正版）" in diff
    assert len(updates_for(receiver, "/any")) == 2 and updates_for(receiver, "/none") == []
    correction = wecom.messages()[chats:]
    assert len(correction) == 1, [m.text for m in correction]
    assert "更正" in correction[0].text and f"标题原为「{old_title}」" in correction[0].text
    assert f"{old_title}（更正版）" in correction[0].text
    assert receiver.duplicates() == 0

    with open(tmp_path / "feeds" / "all.json", encoding="utf-8") as handle:
        items = {item["url"]: item for item in json.load(handle)["items"]}
    entry = items[site.article_url(target.id)]
    assert entry["title"] == f"{old_title}（更正版）"
    assert entry["date_modified"] > entry["date_published"]


def test_a_title_corrected_on_the_list_is_read_again_on_the_next_poll(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver, wecom: FakeWeCom
) -> None:
    """No ``recheck`` has to pass: the list shows another title, so the page is read at once."""
    subscribers = (
        hook("titles", receiver.url("/titles"), None)
        + f'\n[[subscribers]]\nname = "group"\nchannel = "wecom"\nurl = "{wecom.url()}"\n'
    )
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=subscribers,
    )  # fmt: skip
    config = load_config(path)
    run_once(config)
    run_once(config)  # the list's titles are remembered; nothing is read again
    chats = len(wecom.messages())
    target = site.articles[3]
    page = urlsplit(site.article_url(target.id)).path
    read = site.hits(page)
    site.edit_article(target.id, title="更正后的标题：关于科技社团改革的通知")
    run_once(config)
    assert site.hits(page) == read + 1
    (titled,) = updates_for(receiver, "/titles")
    assert titled["title"] == "更正后的标题：关于科技社团改革的通知" and titled["version"] == 2
    (correction,) = wecom.messages()[chats:]
    assert "更正" in correction.text and "更正后的标题" in correction.text
    run_once(config)  # the new title is remembered: not read again, nobody told again
    assert site.hits(page) == read + 1 and len(updates_for(receiver, "/titles")) == 1


def test_an_article_nobody_was_told_of_is_corrected_silently(
    tmp_path: Path, site: DemoSite, receiver: WebhookReceiver
) -> None:
    """The first poll imports silently: a later correction of those articles is news to none."""
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1),
        subscribers=hook("titles", receiver.url("/titles"), "any"),
    )  # fmt: skip
    config = load_config(path)
    run_once(config)
    site.edit_article(site.articles[0].id, title="改过的标题")
    age_checks(tmp_path)
    run_once(config)
    assert receiver.messages() == []
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        assert conn.execute("select max(version) from articles").fetchone() == (2,)


def test_the_diff_names_changed_sentences_and_ignores_spacing() -> None:
    old = "第一句。第二句！\n第三句"
    new = "第一句。  第二句改了！\n\n第三句"
    change = compare("标题", old, "标题", new, versions=(1, 2))
    assert change.removed == ("第二句！",) and change.added == ("第二句改了！",)
    assert change.note == "更正：第二句改了！"
    assert not change.title_changed and change.text_changed
    assert change.matters_to("any") and not change.matters_to("title")
    assert not change.matters_to("none")
    spaced = compare("标 题", "甲。乙。", "标  题", "甲。\n乙。", versions=(1, 2))
    assert not spaced.title_changed and not spaced.text_changed
    assert sentences("It costs 3.5 yuan. Really?") == ["It costs 3.5 yuan. Really?"]
    long = compare("t", "", "t", "长" * 300 + "。", versions=(1, 2))
    assert len(long.note) == 120 and long.note.endswith("…")
