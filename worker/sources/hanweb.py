"""Classic Hanweb (大汉版通 JCMS) column pages and their ``dataproxy.jsp`` answers.

A column page (``/col/col<ID>/index.html``) keeps its list inside
``<script type="text/xml"><datastore>…<record><![CDATA[<li>…</li>]]></record>…</datastore>``;
further records come from the ``dataproxy.jsp`` URL named in ``<nextgroup>`` (or in the page's
jpage script), asked with ``startrecord``/``endrecord``/``perpage`` and the column's form
fields. This module reads those pages into ``Discovered`` items and describes the proxy
requests; it must not fetch anything or touch the database.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.htmldoc import read_document
from worker.links import make_absolute
from worker.models import Discovered
from worker.sources.base import SourceError, read_each
from worker.sources.cms import LinkRow, find_link_rows, is_content_link
from worker.sources.jsobject import parse_js_object
from worker.sources.rowitems import rows_to_items
from worker.sources.scan import cdata_sections, find_block, iter_blocks, without_blocks

__all__ = [
    "DataProxy",
    "HanwebList",
    "dataproxy_request",
    "find_dataproxy",
    "is_hanweb_article",
    "parse_datastore",
    "parse_hanweb_column",
]

DEFAULT_PERPAGE = 15
DEFAULT_GROUP_PAGES = 3
# Query keys of a proxy URL that describe one request, not the column.
PAGING_KEYS = frozenset({"page", "startrecord", "endrecord", "perpage"})
# Form fields every known caller sends even when the page does not name them.
DEFAULT_FIELDS = {"col": "1", "appid": "1"}
# Script objects read per kind (jpage calls, ajaxParam, param_ vars): a page has one or two;
# reading every one of 30,000 planted calls would cost a poll minutes.
SCRIPT_OBJECTS = 8

ARTICLE_RE = re.compile(
    r"/art/\d{4}/(?:\d{1,2}/\d{1,2}/)?art_[0-9A-Za-z]+(?:_[0-9A-Za-z]+)*\.(?:j?html?|shtml|jsp)$",
    re.IGNORECASE,
)
HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
PROXY_LITERAL_RE = re.compile(
    r"""["']([^"'\s<>]*?(?:more)?(?:column)?dataproxy\.jsp(?:\?[^"'\s<>]*)?)["']""",
    re.IGNORECASE,
)
JPAGE_CALL_RE = re.compile(r"\.jpage\s*\(", re.IGNORECASE)
JS_NUMBER = r"""\s*[:=]\s*["']?(\d+)"""
PERPAGE_RE = re.compile(r"\bperPage" + JS_NUMBER, re.IGNORECASE)
GROUPSIZE_RE = re.compile(r"\bgroupSize" + JS_NUMBER, re.IGNORECASE)
TOTAL_RECORD_JS_RE = re.compile(r"\btotalRecord" + JS_NUMBER, re.IGNORECASE)
AJAX_PARAM_RE = re.compile(r"\bajaxParam\s*:\s*\{", re.IGNORECASE)
PARAM_VAR_RE = re.compile(r"\bvar\s+param_\w*\s*=\s*\{", re.IGNORECASE)
COLUMN_ID_RE = re.compile(r"/col/col(\d+)(?:/|$)")


@dataclass(frozen=True)
class DataProxy:
    """How to ask a Hanweb site for more records of a column.

    ``url`` is the absolute ``dataproxy.jsp`` (or ``morecolumndataproxy.jsp``) URL without
    query; ``params`` the column's form fields (``col``, ``appid``, ``webid``, ``path``,
    ``columnid``, ``unitid``, ``webname``, ``permissiontype`` … as found); ``perpage`` the
    records per visible page and ``group`` the records per request.
    """

    url: str
    params: dict[str, str]
    perpage: int = DEFAULT_PERPAGE
    group: int = DEFAULT_PERPAGE * DEFAULT_GROUP_PAGES


@dataclass(frozen=True)
class HanwebList:
    """The records of one column page or proxy answer, the total, and how to get more."""

    items: list[Discovered]
    total_records: int | None
    proxy: DataProxy | None
    skipped: int = 0  # records that could not be read


@dataclass(frozen=True)
class Datastore:
    """One ``<datastore>`` block: its record fragments, next-group link and total."""

    records: list[str]
    nextgroup_href: str
    total_records: int | None


def is_hanweb_article(url: str) -> bool:
    """Tell whether ``url`` is a Hanweb article (``/art/2022/10/8/art_1234_5678.html``).

    Also accepts ``.jhtml`` pages and JPaaS article paths (``/art/2026/art_<hex>.html``).
    """
    return ARTICLE_RE.search(urlsplit(url).path) is not None


def parse_hanweb_column(
    html: str, page_url: str, *, tz: tzinfo, now: datetime | None = None
) -> HanwebList:
    """Read a column page: the records of every ``<datastore>`` and the proxy for more.

    A page without a datastore gives no items (its proxy may still be found in the page's
    jpage script).
    """
    stores = find_datastores(html)
    main = pick_main_store(stores, page_url)
    items, skipped = read_records(main.records if main else [], page_url, tz, now)
    total = main.total_records if main is not None else None
    if total is None:
        total = read_js_int(TOTAL_RECORD_JS_RE, html)
    proxy = find_dataproxy(html, page_url, main.nextgroup_href if main else "")
    return HanwebList(items=items, total_records=total, proxy=proxy, skipped=skipped)


def parse_datastore(
    xml_text: str, base_url: str, *, tz: tzinfo, now: datetime | None = None
) -> HanwebList:
    """Read a ``dataproxy.jsp`` answer (the same ``<datastore>`` XML as the column page).

    Raises ``SourceError`` (reason ``"malformed"``) when the text holds no datastore at all,
    e.g. an error page or an anti-bot challenge.
    """
    stores = find_datastores(xml_text)
    if not stores:
        raise SourceError(
            f"hanweb: {base_url} answered without a <datastore> ({len(xml_text)} chars)",
            reason="malformed",
        )
    records = [r for store in stores for r in store.records]
    items, skipped = read_records(records, base_url, tz, now)
    totals = [store.total_records for store in stores if store.total_records is not None]
    if not totals:
        outside = read_total(xml_text)
        totals = [outside] if outside is not None else []
    hrefs = [store.nextgroup_href for store in stores if store.nextgroup_href]
    absolute = make_absolute(hrefs[0], base_url) if hrefs else ""
    proxy = build_proxy(absolute, {}, None, None) if absolute else None
    total = totals[0] if totals else None
    return HanwebList(items=items, total_records=total, proxy=proxy, skipped=skipped)


def dataproxy_request(
    proxy: DataProxy, group_index: int
) -> tuple[str, dict[str, str], dict[str, str]]:
    """Describe the request for one group of records (``group_index`` 0 is the first).

    Returns the URL with ``startrecord``/``endrecord``/``perpage`` in its query, the form
    fields to POST, and the same fields as a dict to append to the URL's query for a GET.
    """
    if group_index < 0:
        raise ValueError(f"hanweb: group index must be >= 0, got {group_index}")
    start = group_index * proxy.group + 1
    end = (group_index + 1) * proxy.group
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": proxy.perpage})
    parts = urlsplit(proxy.url)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return url, dict(proxy.params), dict(proxy.params)


# --- datastore blocks ---------------------------------------------------------------------


def find_datastores(text: str) -> list[Datastore]:
    """Every ``<datastore>`` block of a page or proxy answer, in document order.

    Read with ``worker.sources.scan`` in linear time; a datastore cut short runs to the end.
    """
    stores: list[Datastore] = []
    for block in iter_blocks(text, "datastore", open_ended=True):
        body = block.inner
        nextgroup = find_block(body, "nextgroup")
        records_part = without_blocks(body, "nextgroup")
        stores.append(
            Datastore(
                records=[unwrap_cdata(r.inner) for r in iter_blocks(records_part, "record")],
                nextgroup_href=find_href(unwrap_cdata(nextgroup.inner)) if nextgroup else "",
                total_records=read_total(body),
            )
        )
    return stores


def read_total(text: str) -> int | None:
    """The number in the first ``<totalrecord>`` of ``text``, or None."""
    total = find_block(text, "totalrecord")
    digits = total.inner.strip() if total is not None else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 10 else None


def unwrap_cdata(content: str) -> str:
    """The HTML inside a record: its CDATA sections, or the entity-escaped text."""
    sections = cdata_sections(content)
    if sections:
        return "".join(sections)
    return unescape(content)


def find_href(fragment: str) -> str:
    """The first ``href`` of an HTML snippet, entities decoded."""
    match = HREF_RE.search(fragment)
    if match is None:
        return ""
    return unescape(next(group for group in match.groups() if group is not None)).strip()


def pick_main_store(stores: list[Datastore], page_url: str) -> Datastore | None:
    """The column's own datastore (a page may carry side lists of other columns).

    Ranked by: its next group names the page's column id; its records link to articles of
    that column (``art_<COL>_``); it has a next-group link; it has the most records.
    """
    if not stores:
        return None
    column = COLUMN_ID_RE.search(urlsplit(page_url).path)
    column_id = column.group(1) if column else ""

    def rank(store: Datastore) -> tuple[bool, int, bool, int]:
        absolute = make_absolute(store.nextgroup_href, page_url)
        params = dict(parse_qsl(urlsplit(absolute).query)) if absolute else {}
        own = sum(f"art_{column_id}_" in record for record in store.records) if column_id else 0
        return (
            bool(column_id) and params.get("columnid") == column_id,
            own,
            bool(store.nextgroup_href),
            len(store.records),
        )

    return max(stores, key=rank)


def read_records(
    records: list[str], base_url: str, tz: tzinfo, now: datetime | None
) -> tuple[list[Discovered], int]:
    """Items of all record fragments, each record one row, deduplicated by URL; and how many
    records could not be read (each skipped on its own)."""

    def rows_of(record: str) -> list[LinkRow] | None:
        document = read_document(record)
        if document is None:
            return None
        return find_link_rows(document, base_url, is_article=is_content_link, whole_is_row=True)

    groups, skipped = read_each(records, rows_of)
    items, unreadable = rows_to_items([row for rows in groups for row in rows], tz=tz, now=now)
    return items, skipped + unreadable


# --- the proxy ----------------------------------------------------------------------------


def find_dataproxy(html: str, page_url: str, nextgroup_href: str = "") -> DataProxy | None:
    """The proxy of a column page: from its next-group link, jpage call or any proxy URL."""
    jpage = find_jpage_options(html)
    script_params = find_script_params(html, jpage)
    proxy_url = nextgroup_href or str(jpage.get("proxyUrl") or "")
    if not proxy_url:
        literal = PROXY_LITERAL_RE.search(html)
        proxy_url = unescape(literal.group(1)) if literal else ""
    if not proxy_url:
        return None
    perpage = as_int(jpage.get("perPage")) or read_js_int(PERPAGE_RE, html)
    group_pages = as_int(jpage.get("groupSize")) or read_js_int(GROUPSIZE_RE, html)
    absolute = make_absolute(proxy_url, page_url)
    if not absolute:
        return None  # a proxy URL that cannot be read
    return build_proxy(absolute, script_params, perpage, group_pages)


def build_proxy(
    absolute_url: str,
    extra_params: dict[str, str],
    perpage: int | None,
    group_pages: int | None,
) -> DataProxy:
    """A DataProxy from a proxy URL (its query gives the column fields) and script values."""
    parts = urlsplit(absolute_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    params = {key: value for key, value in query.items() if key.lower() not in PAGING_KEYS}
    for key, value in extra_params.items():
        params.setdefault(key, value)
    for key, value in DEFAULT_FIELDS.items():
        params.setdefault(key, value)
    perpage = perpage or as_int(query.get("perpage")) or DEFAULT_PERPAGE
    group = perpage * (group_pages or DEFAULT_GROUP_PAGES)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return DataProxy(url=url, params=params, perpage=perpage, group=group)


def find_jpage_options(html: str) -> dict[str, Any]:
    """The options object of the page's ``$('#id').jpage({…})`` call, or {}."""
    for match in itertools.islice(JPAGE_CALL_RE.finditer(html), SCRIPT_OBJECTS):
        argument = html[match.end() : match.end() + 4000].lstrip()
        if not argument.startswith("{"):
            continue
        options = parse_js_object(argument)
        if options:
            return options
    return {}


def find_script_params(html: str, jpage: dict[str, Any]) -> dict[str, str]:
    """Form fields named by the page's scripts: jpage ``ajaxParam`` and ``var param_…``."""
    found: dict[str, str] = {}
    objects: list[Any] = [jpage.get("ajaxParam")]
    for pattern in (AJAX_PARAM_RE, PARAM_VAR_RE):
        for match in itertools.islice(pattern.finditer(html), SCRIPT_OBJECTS):
            objects.append(parse_js_object(html[match.end() - 1 : match.end() + 2000]))
    for value in objects:
        if isinstance(value, dict):
            for key, item in value.items():
                if key and not isinstance(item, dict | list) and key.lower() not in PAGING_KEYS:
                    found.setdefault(str(key), js_text(item))
    return found


def js_text(value: Any) -> str:
    """A script value as a form field: numbers as digits, booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def as_int(value: Any) -> int | None:
    """A positive int from a script value or query string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def read_js_int(pattern: re.Pattern[str], text: str) -> int | None:
    """The first positive number the pattern finds in the page's scripts."""
    match = pattern.search(text)
    return as_int(match.group(1)) if match else None
