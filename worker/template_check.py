"""Every shipped template rendered with sample data, through the code that renders it in
production: each chat channel's ``build`` for each of its message types, a digest's ``compose``
(its three documents and its page), the archive index and the web pages. A missing, broken or
mistyped template shows here, named, before a subscriber's message or a page would fail.
``herald doctor`` runs it, and the packaging test runs it from a built wheel.

This module must not send, store or write anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2

from worker.config import Config, SourceConfig
from worker.digest import Window, archive_index_html, compose
from worker.models import Article
from worker.notify import NOTIFIERS, Target
from worker.notify.message import Entry, Message
from worker.subscriber import SubscriberOptions
from worker.web.pages import index_html, message_html, source_html

SAMPLE_URL = "https://www.example.org/art/2022/10/8/art_1_1.html"
SAMPLE_HOOK = "https://hooks.example.org/sample"


@dataclass(frozen=True)
class TemplateCheck:
    """One rendering: what it exercised (``wecom/news``, ``digest``, ``web.index``), the
    templates it needs, and the error it raised ("" when it rendered)."""

    what: str
    templates: tuple[str, ...]
    error: str = ""


def sample_articles(now: datetime) -> tuple[Article, ...]:
    """Two articles with the awkward parts real ones have: markup characters, a long title, an
    attachment-free one without a date."""
    first = Article(
        id=1,
        source_name="sample",
        url=SAMPLE_URL,
        guid=SAMPLE_URL,
        title="关于开展 <科普> 活动 & “月度”评选的通知",
        author="科协办公室",
        published_at=now - timedelta(hours=3),
        summary="为深入实施全民科学素质行动，现就有关事项通知如下。*重点* [链接](x)",
        content_html="<p>正文</p>",
        text="正文",
        images=("https://www.example.org/images/1.jpg",),
        version=1,
        first_seen_at=now - timedelta(hours=2),
        updated_at=now - timedelta(hours=2),
        tags=("notices",),
    )
    second = Article(
        id=2,
        source_name="sample",
        url="https://www.example.org/art/2022/10/9/art_1_2.html",
        guid="art_1_2",
        title="Sample article without a date " + "x" * 120,
        author="",
        published_at=None,
        summary="",
        content_html="",
        text="",
        images=(),
        version=2,
        first_seen_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=1),
    )
    return first, second


def sample_message(now: datetime) -> Message:
    entries = tuple(
        Entry(
            title=a.title,
            url=a.url,
            source=a.source_name,
            published=(a.published_at or a.first_seen_at).strftime("%Y-%m-%d %H:%M"),
            summary=a.summary,
        )
        for a in sample_articles(now)
    )
    return Message("digest", "herald 模板检查", entries, note="", link=SAMPLE_URL)


def chat_checks(now: datetime) -> list[tuple[str, tuple[str, ...], Callable[[], object]]]:
    """One rendering per chat channel and message type, through the notifier's ``build``."""
    data = sample_message(now).to_dict()
    found: list[tuple[str, tuple[str, ...], Callable[[], object]]] = []
    for channel, notifier in sorted(NOTIFIERS.items()):
        for msgtype, template in notifier.templates.items():
            options = SubscriberOptions(
                msgtype=msgtype, pic_url="https://www.example.org/p.png", chat_id="-100123",
                mail_to=("team@example.org",), mail_from="herald <herald@example.org>",
            )  # fmt: skip
            target = Target(
                "sample", channel, SAMPLE_HOOK, secret="sample", chat_id="-100123", options=options
            )

            def build(target: Target = target) -> object:
                return NOTIFIERS[target.channel].build(
                    target, "message.digest", "template-check", data, now=now
                )

            found.append((f"{channel}/{msgtype or 'message'}", (template,), build))
    return found


def page_checks(
    config: Config, now: datetime
) -> list[tuple[str, tuple[str, ...], Callable[[], object]]]:
    """The digest documents and pages and the web pages, through their production renderers."""
    articles = sample_articles(now)
    zone = ZoneInfo("Asia/Shanghai")
    webhook = Target("sample", "webhook", SAMPLE_HOOK, secret="sample")
    window = Window(now - timedelta(days=1), now)
    source = SourceConfig(name="sample", url=SAMPLE_URL, kind="auto", tags=("notices",))
    items = [{"file": "k.html", "title": "2022-10-08 09:00", "count": 2}]
    return [
        (
            "digest",
            ("digest.body.html.j2", "digest.md.j2", "digest.txt.j2", "digest.html.j2"),
            lambda: compose(webhook, articles, window, base_url="https://herald.example", now=now),
        ),
        ("digest.index", ("digest.index.html.j2",), lambda: archive_index_html("sample", items)),
        ("web.index", ("web.index.html.j2",), lambda: index_html(config, {})),
        ("web.source", ("web.source.html.j2",), lambda: source_html(source, zone, articles)),
        ("web.message", ("web.message.html.j2",), lambda: message_html("没有这个来源")),
    ]


def check_templates(config: Config, *, now: datetime | None = None) -> list[TemplateCheck]:
    """Render every shipped template with sample data; one result per rendering."""
    moment = now or datetime.now(UTC)
    results = []
    for what, templates, render in chat_checks(moment) + page_checks(config, moment):
        try:
            render()
        except (jinja2.TemplateError, OSError, ValueError, TypeError, KeyError) as exc:
            results.append(TemplateCheck(what, templates, f"{type(exc).__name__}: {exc}"))
        else:
            results.append(TemplateCheck(what, templates))
    return results
