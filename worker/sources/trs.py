"""TRS WCM (拓尔思) list pages: items, and the ``index_N.html`` paging of ``createPageHTML``.

A TRS column is a series of static pages ``index.html``, ``index_1.html``, ``index_2.html`` …
whose count is written in a script call ``createPageHTML(<pages>, <current>, "index", "html")``
(or ``createPageHTML('page_div', <pages>, <current 1-based>, 'list', 'shtml', <records>)`` on
sites whose second page is ``list_2.shtml``); articles are ``./202210/t20221008_123456.html``.
This module reads one list page and builds page URLs; it must not fetch anything or touch
the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlsplit, urlunsplit

from worker.htmldoc import read_document
from worker.models import Discovered
from worker.sanitize import normalize_space
from worker.sources.base import read_each
from worker.sources.cms import LinkRow, find_link_rows, is_content_link
from worker.sources.html import find_base_url
from worker.sources.rowitems import find_row_date, rows_to_items

__all__ = ["TrsList", "is_trs_article", "parse_trs_list", "trs_page_url"]

ARTICLE_RE = re.compile(r"/t\d{8}_\d+(?:_\d+)?\.s?html?$", re.IGNORECASE)
CALL_RE = re.compile(r"(?<![\w.$])createPageHTML\s*\(([^()]*)\)", re.IGNORECASE)
FUNCTION_BEFORE_RE = re.compile(r"function\s*$")
ARGUMENT_RE = re.compile(r"""'[^']*'|"[^"]*"|[^,]+""")
PAGE_FILE_RE = re.compile(r"^(?P<prefix>[\w-]+?)(?:_(?P<number>\d+))?\.(?P<ext>\w+)$")


@dataclass(frozen=True)
class TrsList:
    """The items of one TRS list page and the paging its ``createPageHTML`` call names.

    ``current`` is the 0-based index of this page; ``first_suffix`` is the number in the
    second page's name: 1 for ``index_1.html`` (TRS WCM), 2 for ``list_2.shtml`` (the
    ``createPageHTML('page_div', …)`` form). ``total_records`` is known only from that form.
    """

    items: list[Discovered]
    page_count: int | None
    current: int = 0
    prefix: str = "index"
    ext: str = "html"
    first_suffix: int = 1
    total_records: int | None = None
    skipped: int = 0  # rows that could not be read

    def page_url(self, any_page_url: str, page_index: int) -> str:
        """The URL of page ``page_index`` (0-based) of this list's series."""
        return trs_page_url(
            any_page_url, page_index, self.prefix, self.ext, first_suffix=self.first_suffix
        )

    def page_urls(self, any_page_url: str) -> list[str]:
        """The URLs of every page of the series (just this one when the count is unknown)."""
        count = self.page_count if self.page_count and self.page_count > 0 else 1
        return [self.page_url(any_page_url, index) for index in range(count)]


@dataclass(frozen=True)
class PageCall:
    """The arguments of one ``createPageHTML`` call."""

    page_count: int
    current: int
    prefix: str
    ext: str
    first_suffix: int
    total_records: int | None


def is_trs_article(url: str) -> bool:
    """Tell whether ``url`` is a TRS article (``…/202210/t20221008_123456.html``)."""
    return ARTICLE_RE.search(urlsplit(url).path) is not None


def parse_trs_list(html: str, page_url: str, *, tz: tzinfo, now: datetime | None = None) -> TrsList:
    """Read the article rows of a TRS list page and its paging.

    Rows are the links to TRS articles, kept to the page's main list (side lists of another
    shape are dropped). A page without TRS article links falls back to dated rows of other
    content links (columns of external articles).
    """
    call = find_page_call(html)
    items, skipped = read_items(html, page_url, tz=tz, now=now)
    if call is None:
        prefix, current, ext = read_page_file(page_url)
        return TrsList(
            items, page_count=None, current=current, prefix=prefix, ext=ext, skipped=skipped
        )
    return TrsList(
        items=items,
        page_count=call.page_count,
        current=call.current,
        prefix=call.prefix,
        ext=call.ext,
        first_suffix=call.first_suffix,
        total_records=call.total_records,
        skipped=skipped,
    )


def trs_page_url(
    first_page_url: str,
    page_index: int,
    prefix: str = "index",
    ext: str = "html",
    *,
    first_suffix: int = 1,
) -> str:
    """The URL of page ``page_index`` (0-based) next to ``first_page_url``.

    0 gives ``…/index.html``, 1 ``…/index_1.html``, 2 ``…/index_2.html``; the given URL may be
    any page of the series or its directory (``…/tzgg/``). Query and fragment are dropped.
    """
    if page_index < 0:
        raise ValueError(f"trs: page index must be >= 0, got {page_index}")
    parts = urlsplit(first_page_url)
    path = parts.path or "/"
    last = path.rsplit("/", 1)[-1]
    directory = path if path.endswith("/") or "." not in last else path.rsplit("/", 1)[0] + "/"
    if not directory.endswith("/"):
        directory += "/"
    suffix = "" if page_index == 0 else f"_{page_index - 1 + first_suffix}"
    name = f"{prefix}{suffix}.{ext}"
    return urlunsplit((parts.scheme, parts.netloc, directory + name, "", ""))


def read_items(
    html: str, page_url: str, *, tz: tzinfo, now: datetime | None
) -> tuple[list[Discovered], int]:
    """The main list's items: TRS article rows, else dated rows of content links; and the
    number of rows that could not be read."""
    document = read_document(html)
    if document is None:
        return [], 0
    base = find_base_url(document, page_url)
    rows = select_main_rows(find_link_rows(document, base, is_article=is_trs_article), page_url)
    if rows:
        return rows_to_items(rows, tz=tz, now=now)
    candidates = find_link_rows(document, base, is_article=is_content_link)
    dated, skipped = read_each(
        candidates, lambda row: row if find_row_date(row, tz=tz, now=now) is not None else None
    )
    items, unreadable = rows_to_items(select_main_rows(dated, page_url), tz=tz, now=now)
    return items, skipped + unreadable


def find_page_call(html: str) -> PageCall | None:
    """The first ``createPageHTML(…)`` call with readable arguments (not its definition)."""
    for match in CALL_RE.finditer(html):
        if FUNCTION_BEFORE_RE.search(html[max(0, match.start() - 20) : match.start()]):
            continue
        call = read_call(split_arguments(match.group(1)), html)
        if call is not None:
            return call
    return None


def split_arguments(text: str) -> list[str]:
    """The arguments of a call, quotes kept."""
    return [argument.strip() for argument in ARGUMENT_RE.findall(text) if argument.strip()]


def read_call(arguments: list[str], html: str) -> PageCall | None:
    """Interpret both known argument orders; None when the numbers cannot be read."""
    if not arguments:
        return None
    if is_quoted(arguments[0]):
        numbers = [resolve_number(a, html) for a in arguments[1:3]]
        if len(numbers) < 2 or numbers[0] is None or numbers[1] is None:
            return None
        rest = arguments[3:]
        total = resolve_number(rest[2], html) if len(rest) > 2 else None
        return PageCall(
            page_count=numbers[0],
            current=max(numbers[1] - 1, 0),
            prefix=unquote_argument(rest[0]) if rest else "index",
            ext=unquote_argument(rest[1]) if len(rest) > 1 else "shtml",
            first_suffix=2,
            total_records=total,
        )
    numbers = [resolve_number(a, html) for a in arguments[:2]]
    if len(numbers) < 2 or numbers[0] is None or numbers[1] is None:
        return None
    rest = arguments[2:]
    return PageCall(
        page_count=numbers[0],
        current=numbers[1],
        prefix=unquote_argument(rest[0]) if rest else "index",
        ext=unquote_argument(rest[1]) if len(rest) > 1 else "html",
        first_suffix=1,
        total_records=None,
    )


def is_quoted(argument: str) -> bool:
    """Tell whether a call argument is a string literal."""
    return len(argument) >= 2 and argument[0] == argument[-1] and argument[0] in "'\""


def unquote_argument(argument: str) -> str:
    """A string argument without its quotes (other expressions as written)."""
    return argument[1:-1].strip() if is_quoted(argument) else argument


def resolve_number(argument: str, html: str) -> int | None:
    """A number argument, or the number a ``var countPage = 5`` names."""
    text = unquote_argument(argument)
    if text.isdigit():
        return int(text)
    if not re.fullmatch(r"[A-Za-z_$][\w$]*", text):
        return None
    match = re.search(r"(?<![\w.$])" + re.escape(text) + r"\s*=\s*[\"']?(\d+)", html)
    return int(match.group(1)) if match else None


def read_page_file(page_url: str) -> tuple[str, int, str]:
    """Prefix, 0-based index and extension read from a page URL such as ``index_2.html``."""
    last = urlsplit(page_url).path.rsplit("/", 1)[-1]
    match = PAGE_FILE_RE.match(last)
    if match is None:
        return "index", 0, "html"
    number = match.group("number")
    return match.group("prefix"), int(number) if number else 0, match.group("ext")


# --- picking the main list of a page --------------------------------------------------------


def row_signature(row: LinkRow) -> tuple[str, str, str, str]:
    """The shape of a row: its tag and class, and the tag and class (or id) of the nearest
    ancestor that has either — two bare ``<ul><li>`` lists differ one level higher."""
    marked = row.row.getparent()
    while marked is not None and not (marked.get("class") or marked.get("id")):
        if marked.tag == "body":
            break
        marked = marked.getparent()
    mark = ""
    if marked is not None:
        mark = normalize_space(str(marked.get("class") or "")) or f"#{marked.get('id') or ''}"
    return (
        str(row.row.tag),
        normalize_space(str(row.row.get("class", ""))),
        str(marked.tag) if marked is not None else "",
        mark,
    )


def select_main_rows(rows: list[LinkRow], page_url: str = "") -> list[LinkRow]:
    """Keep the rows shaped like the page's main list, dropping side lists.

    Rows are grouped by shape (see ``row_signature``). Given ``page_url``, groups linking
    mostly inside the page's folder win over groups linking elsewhere (a side list into
    another column can outnumber a column's short last page). Among the rest, groups at least
    half as large as the largest are kept, in document order.
    """
    if not rows:
        return []
    groups: dict[tuple[str, str, str, str], list[LinkRow]] = {}
    for row in rows:
        groups.setdefault(row_signature(row), []).append(row)
    folder = page_url.rsplit("/", 1)[0] + "/" if page_url else ""
    inside = {
        signature
        for signature, group in groups.items()
        if folder and sum(row.url.startswith(folder) for row in group) * 2 >= len(group)
    }
    candidates = inside if inside and len(inside) < len(groups) else set(groups)
    largest = max(len(groups[signature]) for signature in candidates)
    keep = {s for s in candidates if len(groups[s]) * 2 >= largest}
    return [row for row in rows if row_signature(row) in keep]
