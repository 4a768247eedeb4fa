"""Hanweb JPaaS column pages: the ``bulidstatic`` unit query and its JSON answer.

A JPaaS list page names its list in ``<script parsetype="bulidstatic" url="…/front/page/build/unit"
querydata="{'webId':'…','pageId':'…',…,'paramJson':'{…}'}">``; the list HTML comes back in the
``data.html`` of the unit's JSON answer, paged with ``paramJson={"pageNo":N,"pageSize":M}``.
This module finds the queries, describes the requests and reads the answers into
``Discovered`` items; it must not fetch anything or touch the database.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import lxml.html

from worker.htmldoc import read_document
from worker.links import make_absolute
from worker.models import Discovered
from worker.sources.base import SourceError
from worker.sources.cms import find_link_rows, is_content_link
from worker.sources.html import find_base_url
from worker.sources.jsobject import parse_js_object
from worker.sources.rowitems import rows_to_items

__all__ = [
    "JpaasAnswer",
    "JpaasQuery",
    "find_jpaas_queries",
    "jpaas_request",
    "parse_jpaas_answer",
]

UNIT_PATH = "front/page/build/unit"
GATEWAY_PREFIX = "api-gateway/"
PAGINATION_ATTRIBUTES = ("count", "rows", "pageno", "totalpage")
PAGER_TEXT_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("count",), re.compile(r"共\s*(\d+)\s*条")),
    (("pageno", "totalpage"), re.compile(r"第\s*(\d+)\s*/\s*(\d+)\s*页")),
    (("totalpage",), re.compile(r"共\s*(\d+)\s*页")),
)


@dataclass(frozen=True)
class JpaasQuery:
    """One list unit of a JPaaS page.

    ``api_url`` is the absolute unit URL; ``params`` the querydata fields other than
    ``paramJson`` (``webId``, ``pageId``, ``parseType``, ``pageType``, ``tagId``,
    ``tplSetId`` …); ``param_json`` the page's own ``paramJson`` object.
    """

    api_url: str
    params: dict[str, str]
    param_json: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JpaasAnswer:
    """The items of one unit answer and its paging, when the answer says.

    ``total`` is the total number of records (or, when only that is known, of pages);
    ``page_count``, ``page_size`` and ``page_no`` come from ``data`` or from the
    pagination element of ``data.html`` (``count``/``rows``/``pageno`` attributes).
    """

    items: list[Discovered]
    total: int | None
    page_count: int | None = None
    page_size: int | None = None
    page_no: int | None = None
    skipped: int = 0  # rows that could not be read


def find_jpaas_queries(html: str, page_url: str) -> list[JpaasQuery]:
    """Every ``bulidstatic`` unit script of a page, in document order.

    A script counts when its ``parsetype`` attribute or its querydata says ``bulidstatic``
    (also the correct spelling ``buildstatic``), or its ``url`` names the build/unit API.
    """
    document = read_document(html)
    if document is None:
        return []
    base = find_base_url(document, page_url)
    queries: list[JpaasQuery] = []
    for script in document.iter("script"):
        query = read_unit_script(script, base)
        if query is not None and query not in queries:
            queries.append(query)
    return queries


def read_unit_script(script: lxml.html.HtmlElement, base_url: str) -> JpaasQuery | None:
    """The query of one unit script, or None when the script is something else."""
    url = str(script.get("url", "")).strip()
    raw = str(script.get("querydata", "")).strip()
    parse_type = str(script.get("parsetype", "")).lower()
    if not url or not raw:
        return None
    data = read_querydata(raw)
    declared = str(data.get("parseType", parse_type)).lower()
    if "static" not in declared and "static" not in parse_type and UNIT_PATH not in url:
        return None
    param_json = read_param_json(data.pop("paramJson", None))
    if "parseType" not in data and parse_type:
        data["parseType"] = str(script.get("parsetype"))
    params = {str(key): as_text(value) for key, value in data.items()}
    api_url = resolve_api_url(url, base_url)
    if not api_url:
        return None
    return JpaasQuery(api_url=api_url, params=params, param_json=param_json)


def read_querydata(raw: str) -> dict[str, Any]:
    """The querydata object: JSON, or the usual single-quoted JavaScript literal."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = parse_js_object(raw)
    return dict(value) if isinstance(value, dict) else {}


def read_param_json(value: Any) -> dict[str, Any]:
    """The ``paramJson`` value as an object (it is usually a JSON string)."""
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str) or not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = parse_js_object(value)
    return dict(parsed) if isinstance(parsed, dict) else {}


def as_text(value: Any) -> str:
    """A querydata value as a query parameter."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def resolve_api_url(url: str, page_url: str) -> str:
    """Resolve the unit URL; ``api-gateway/…`` without a slash lives at the site root."""
    if url.startswith(GATEWAY_PREFIX):
        parts = urlsplit(page_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + url, "", ""))
    return make_absolute(url, page_url)  # "" for a URL that cannot be read: no query


def jpaas_request(
    query: JpaasQuery, page_no: int, page_size: int | None = None
) -> tuple[str, dict[str, str]]:
    """The unit URL and query parameters for page ``page_no`` (1-based).

    ``paramJson`` is compact JSON starting ``{"pageNo":N,"pageSize":M`` followed by the page's
    other keys; without ``page_size`` the page's own ``pageSize`` is kept (left out when the
    page named none, so the server's default applies).
    """
    if page_no < 1:
        raise ValueError(f"jpaas: page number must be >= 1, got {page_no}")
    size = page_size if page_size is not None else query.param_json.get("pageSize")
    param_json: dict[str, Any] = {"pageNo": page_no}
    if size is not None:
        param_json["pageSize"] = size
    for key, value in query.param_json.items():
        param_json.setdefault(key, value)
    params = dict(query.params)
    params["paramJson"] = json.dumps(param_json, ensure_ascii=False, separators=(",", ":"))
    return query.api_url, params


def parse_jpaas_answer(
    body: str, base_url: str, *, tz: tzinfo, now: datetime | None = None
) -> JpaasAnswer:
    """Read a unit answer ``{"success":true,"data":{"html":"<li>…</li>…"}}``.

    ``base_url`` is the list page the links are relative to. Raises ``SourceError``
    (reason ``"malformed"``) for a body that is not JSON, says ``success: false`` or
    carries no ``data.html``.
    """
    data = read_answer_data(body, base_url)
    fragment = data["html"]
    document = read_document(fragment)
    if document is None:
        return JpaasAnswer(items=[], total=as_count(data.get("total")))
    rows = find_link_rows(document, base_url, is_article=is_content_link)
    items, skipped = rows_to_items(rows, tz=tz, now=now)
    paging = read_pagination(document)
    total = first_count(data.get("total"), data.get("count"), paging.get("count"))
    page_size = first_count(data.get("pageSize"), paging.get("rows"))
    page_count = first_count(data.get("totalPage"), paging.get("totalpage"))
    if page_count is None and total is not None and page_size:
        page_count = math.ceil(total / page_size)
    return JpaasAnswer(
        items=items,
        total=total if total is not None else page_count,
        page_count=page_count,
        page_size=page_size or None,
        page_no=first_count(data.get("pageNo"), paging.get("pageno")),
        skipped=skipped,
    )


def read_answer_data(body: str, base_url: str) -> dict[str, Any]:
    """The ``data`` object of a successful answer, or a malformed SourceError."""
    try:
        answer = json.loads(body.lstrip("\ufeff"))
    except ValueError as exc:
        raise SourceError(
            f"jpaas: {base_url} answered with something other than JSON: {body[:80]!r}",
            reason="malformed",
        ) from exc
    if not isinstance(answer, dict):
        raise SourceError(f"jpaas: {base_url} answered with a non-object", reason="malformed")
    if answer.get("success") is False:
        message = answer.get("message") or answer.get("msg") or answer.get("code") or ""
        raise SourceError(
            f"jpaas: {base_url} answered success=false: {message}", reason="malformed"
        )
    data = answer.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("html"), str):
        raise SourceError(f"jpaas: {base_url} answered without data.html", reason="malformed")
    return data


def read_pagination(document: lxml.html.HtmlElement) -> dict[str, int]:
    """Paging numbers from the answer's pager.

    Read from a pagination element's ``count``/``rows``/``pageno``/``totalpage`` attributes,
    else from its text (``共47条 第1/4页``, ``共4页``), else the largest ``pageno`` of its links
    (the "last page" link) as the page count.
    """
    found: dict[str, int] = {}
    for element in document.iter():
        if not isinstance(element.tag, str) or "count" not in element.attrib:
            continue
        for name in PAGINATION_ATTRIBUTES:
            number = as_count(element.get(name))
            if number is not None:
                found.setdefault(name, number)
        if found:
            return found
    text = " ".join(document.itertext())
    for key, pattern in PAGER_TEXT_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            for name, value in zip(key, match.groups(), strict=True):
                found.setdefault(name, int(value))
    if "totalpage" not in found:
        pages = [as_count(element.get("pageno")) for element in document.iter("a")]
        numbers = [number for number in pages if number is not None]
        if numbers:
            found["totalpage"] = max(numbers)
    return found


def first_count(*values: Any) -> int | None:
    """The first value that reads as a count."""
    for value in values:
        number = as_count(value)
        if number is not None:
            return number
    return None


def as_count(value: Any) -> int | None:
    """A non-negative int from a JSON or attribute value, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"\d+", text) else None
