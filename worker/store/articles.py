"""Stored articles: dedup lookups, upsert with versions, source links, reads and recheck picks.

Rows become ``worker.models.Article`` objects here. Each function takes a Session; the caller owns
the transaction. This module must not fetch, parse or send anything, nor queue work or deliveries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from worker.models import Article, Attachment, Extracted
from worker.store._sql import insert_for
from worker.store.tables import (
    ARTICLE_SOURCES,
    ArticleRow,
    ArticleSourceRow,
    ArticleVersionRow,
    SourceRow,
)


@dataclass(frozen=True)
class KnownArticle:
    id: int
    url: str
    guid: str
    first_seen_at: datetime
    linked: bool  # already listed by the source asking
    read_at: datetime  # when its page was last read (first seen, or checked for edits since)
    listed_title: str | None = None  # the title the asking source's list showed last time


def known_articles(
    session: Session, source_id: int, urls: Iterable[str], guids: Iterable[str] = ()
) -> dict[str, KnownArticle]:
    """Stored articles among ``urls`` (any source) or this source's ``guids``, by URL and guid.

    A guid only identifies an article within its own source: two feeds may both number
    their items 1, 2, 3.
    """
    url_list, guid_list = list(set(urls)), [g for g in set(guids) if g]
    rows: dict[int, ArticleRow] = {}
    for start in range(0, len(url_list), 500):
        query = select(ArticleRow).where(ArticleRow.url.in_(url_list[start : start + 500]))
        rows.update((row.id, row) for row in session.scalars(query))
    for start in range(0, len(guid_list), 500):
        query = select(ArticleRow).where(
            ArticleRow.source_id == source_id, ArticleRow.guid.in_(guid_list[start : start + 500])
        )
        rows.update((row.id, row) for row in session.scalars(query))
    linked = _linked(session, source_id, list(rows))
    found: dict[str, KnownArticle] = {}
    for row in rows.values():
        read_at = row.checked_at or row.first_seen_at
        known = KnownArticle(
            row.id, row.url, row.guid, row.first_seen_at, row.id in linked, read_at,
            linked.get(row.id),
        )  # fmt: skip
        found[row.url] = known
        if row.guid and row.source_id == source_id:
            found[row.guid] = known
    return found


def _linked(session: Session, source_id: int, article_ids: list[int]) -> dict[int, str | None]:
    """The articles among ``article_ids`` the source lists, with the title its list showed."""
    linked: dict[int, str | None] = {}
    for start in range(0, len(article_ids), 500):
        query = select(ArticleSourceRow.article_id, ArticleSourceRow.listed_title).where(
            ArticleSourceRow.source_id == source_id,
            ArticleSourceRow.article_id.in_(article_ids[start : start + 500]),
        )
        linked.update((article_id, title) for article_id, title in session.execute(query))
    return linked


def remember_listed_titles(session: Session, source_id: int, titles: dict[int, str]) -> None:
    """Record the title the source's list shows for each of these (linked) articles."""
    if not titles:
        return
    table = ARTICLE_SOURCES
    statement = (
        update(table)
        .where(table.c.source_id == source_id, table.c.article_id == bindparam("aid"))
        .values(listed_title=bindparam("title"))
    )
    params = [{"aid": article_id, "title": title} for article_id, title in titles.items()]
    session.connection().execute(statement, params)


def link_article(
    session: Session, article_id: int, source_id: int, now: datetime, listed_title: str = ""
) -> bool:
    """Record that ``source_id`` lists the article (under ``listed_title``, the title its list
    shows); True when that is news."""
    newest = (
        select(func.coalesce(ArticleRow.published_at, ArticleRow.first_seen_at))
        .where(ArticleRow.id == article_id)
        .scalar_subquery()
    )
    statement = (
        insert_for(session)(ArticleSourceRow)
        .values(
            article_id=article_id,
            source_id=source_id,
            linked_at=now,
            newest_at=newest,
            listed_title=listed_title or None,
        )
        .on_conflict_do_nothing()
        .returning(ArticleSourceRow.article_id)
    )  # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT here
    return session.scalar(statement) is not None


def content_hash(title: str, text: str) -> str:
    """What counts as a change: the title and the readable text, whitespace folded."""
    folded = " ".join(title.split()) + "\n" + " ".join(text.split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


ArticleOutcome = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class Stored:
    """What ``upsert_article`` did; ``previous`` is the (title, text) a change replaced."""

    article_id: int
    outcome: ArticleOutcome
    version: int = 1
    previous: tuple[str, str] | None = None


def upsert_article(
    session: Session,
    *,
    source_id: int,
    url: str,
    guid: str,
    extracted: Extracted,
    tags: Sequence[str],
    etag: str,
    last_modified: str,
    now: datetime,
    listed_title: str = "",
) -> Stored:
    """Insert a new article, or bump the version of a changed one (``listed_title``: the title
    the source's list shows for it).

    Dedup by URL (any source), then by guid within the source. The source is linked to the
    article either way (see ``link_article``).
    """
    digest = content_hash(extracted.title, extracted.text)
    fields = _article_fields(extracted, guid, tags, etag, last_modified, digest)
    fields["checked_at"] = now
    same_guid = and_(
        ArticleRow.source_id == source_id, ArticleRow.guid == guid, ArticleRow.guid != ""
    )
    existing = session.scalar(
        select(ArticleRow).where(or_(ArticleRow.url == url, same_guid)).limit(1)
    )
    if existing is None:
        inserted = _insert_article(session, source_id, url, fields, now)
        if inserted is not None:
            link_article(session, inserted, source_id, now, listed_title)
            return Stored(inserted, "new")
        existing = session.scalar(select(ArticleRow).where(ArticleRow.url == url))
        assert existing is not None
    link_article(session, existing.id, source_id, now, listed_title)
    existing.checked_at = now
    if existing.content_hash == digest:
        existing.etag, existing.last_modified = etag, last_modified
        return Stored(existing.id, "unchanged", existing.version)
    fields["tags"] = sorted(set(existing.tags or ()) | set(tags))
    session.add(
        ArticleVersionRow(
            article_id=existing.id,
            version=existing.version,
            title=existing.title,
            content_html=existing.content_html,
            content_hash=existing.content_hash,
            recorded_at=now,
        )
    )
    previous = (existing.title, existing.text)
    for key, value in fields.items():
        setattr(existing, key, value)
    existing.version += 1
    existing.updated_at = now
    session.execute(
        update(ArticleSourceRow)
        .where(ArticleSourceRow.article_id == existing.id)
        .values(newest_at=fields["published_at"] or existing.first_seen_at)
    )
    return Stored(existing.id, "changed", existing.version, previous)


def _article_fields(
    extracted: Extracted,
    guid: str,
    tags: Sequence[str],
    etag: str,
    last_modified: str,
    digest: str,
) -> dict[str, Any]:
    published = extracted.published_at
    offset = None
    if published is not None and (delta := published.utcoffset()) is not None:
        offset = int(delta.total_seconds() // 60)
    return dict(
        guid=guid,
        title=extracted.title,
        author=extracted.author,
        published_at=published,
        published_offset=offset,
        summary=extracted.summary,
        content_html=extracted.content_html,
        text=extracted.text,
        images=list(extracted.images),
        attachments=[
            {"url": a.url, "title": a.title, "type": a.type} for a in extracted.attachments
        ],
        tags=list(tags),
        content_hash=digest,
        etag=etag,
        last_modified=last_modified,
    )


def _insert_article(
    session: Session, source_id: int, url: str, fields: dict[str, Any], now: datetime
) -> int | None:
    """INSERT … ON CONFLICT (url) DO NOTHING; None when another worker inserted it first."""
    values = dict(
        fields, source_id=source_id, url=url, version=1, first_seen_at=now, updated_at=now
    )
    statement = (
        insert_for(session)(ArticleRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(ArticleRow.id)
    )
    inserted: int | None = session.scalar(statement)
    return inserted


def article_from_row(row: ArticleRow, source_name: str) -> Article:
    published = row.published_at
    if published is not None and row.published_offset is not None:
        published = published.astimezone(timezone(timedelta(minutes=row.published_offset)))
    return Article(
        id=row.id,
        source_name=source_name,
        url=row.url,
        guid=row.guid,
        title=row.title,
        author=row.author,
        published_at=published,
        summary=row.summary,
        content_html=row.content_html,
        text=row.text,
        images=tuple(row.images or ()),
        version=row.version,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
        tags=tuple(row.tags or ()),
        attachments=tuple(Attachment(**a) for a in row.attachments or ()),
    )


def _articles_query() -> Select[ArticleRow, str]:
    return select(ArticleRow, SourceRow.name).join(SourceRow, SourceRow.id == ArticleRow.source_id)


def article_validators(session: Session, article_id: int | None) -> tuple[str, str]:
    """The stored article's (ETag, Last-Modified), for a conditional re-read; ("", "") if none."""
    row = session.get(ArticleRow, article_id) if article_id else None
    return (row.etag, row.last_modified) if row is not None else ("", "")


def get_articles(session: Session, article_ids: Sequence[int]) -> list[Article]:
    """The stored articles of ``article_ids``, in that order (missing ones left out), read in
    one query."""
    if not article_ids:
        return []
    rows = session.execute(_articles_query().where(ArticleRow.id.in_(list(article_ids))))
    found = {row.id: article_from_row(row, name) for row, name in rows}
    return [found[i] for i in article_ids if i in found]


def get_article(session: Session, article_id: int) -> Article | None:
    found = session.execute(_articles_query().where(ArticleRow.id == article_id)).first()
    return article_from_row(found[0], found[1]) if found else None


def recent_articles(
    session: Session, *, limit: int, source_names: Sequence[str] | None = None
) -> list[Article]:
    """The newest ``limit`` articles (by publication, else first-seen time), newest first, of
    all sources (read along ``ix_articles_newest``) or of those named (each source's newest
    along ``ix_article_sources_newest``, merged)."""
    newest = func.coalesce(ArticleRow.published_at, ArticleRow.first_seen_at)
    query = _articles_query().order_by(newest.desc(), ArticleRow.id.desc()).limit(limit)
    if source_names is None:
        return [article_from_row(row, name) for row, name in session.execute(query)]
    return get_articles(session, _newest_listed(session, source_names, limit))


def _newest_listed(session: Session, source_names: Sequence[str], limit: int) -> list[int]:
    """The ids of the newest ``limit`` articles the named sources list, newest first."""
    source_ids = session.scalars(select(SourceRow.id).where(SourceRow.name.in_(source_names)))
    candidates: dict[int, datetime] = {}
    for source_id in source_ids:
        rows = session.execute(
            select(ArticleSourceRow.article_id, ArticleSourceRow.newest_at)
            .where(ArticleSourceRow.source_id == source_id, ArticleSourceRow.newest_at.is_not(None))
            .order_by(ArticleSourceRow.newest_at.desc(), ArticleSourceRow.article_id.desc())
            .limit(limit)
        )
        for article_id, newest in rows:
            if newest is not None:
                candidates[int(article_id)] = newest
    ordered = sorted(candidates.items(), key=lambda pair: (pair[1], pair[0]), reverse=True)
    return [article_id for article_id, _ in ordered[:limit]]


def mark_checked(session: Session, article_id: int, now: datetime) -> None:
    session.execute(update(ArticleRow).where(ArticleRow.id == article_id).values(checked_at=now))


def recheck_candidates(
    session: Session,
    source_id: int,
    *,
    now: datetime,
    window: timedelta,
    every: timedelta,
    limit: int = 50,
) -> list[ArticleRow]:
    """This source's recent articles not read again for ``every``: candidates for an edit check."""
    query = (
        select(ArticleRow)
        .where(
            ArticleRow.source_id == source_id,
            ArticleRow.first_seen_at >= now - window,
            func.coalesce(ArticleRow.checked_at, ArticleRow.first_seen_at) <= now - every,
        )
        .order_by(ArticleRow.first_seen_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))  # fmt: skip
