"""Where a page states its date outside its visible text: the date path of its URL
(``/2022/10/08/``, ``t20221008_``), JSON-LD ``datePublished``, a WeChat article's ``var ct``,
and a date a small inline script writes into the page (``inline_written_dates`` puts it in
place of the script).

Functions of a URL or a parsed page (``inline_written_dates`` edits the page it is given).
This module must not score dates (``worker.date_candidates``) or choose them
(``worker.article_dates``), or fetch anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

import lxml.html

from worker.links import split

__all__ = ["MIN_PUBLISHED_YEAR", "read_script_date", "url_date", "year_proof"]

MIN_PUBLISHED_YEAR = 1995

URL_DATE_RE = re.compile(
    r"(?:^|[/_=-]|\bt)(?P<y>(?:19|20)\d\d)(?P<sep>[/_-]?)(?P<m>0[1-9]|1[0-2]|(?<=[/_-])[1-9])"
    r"(?P=sep)(?P<d>[0-3]\d|(?<=[/_-])[1-9])(?=[/_.-]|$)"
)
URL_YEAR_RE = re.compile(
    r"(?:^|[/_=-]|\bt)((?:19|20)\d\d)(?:[/_-]?(?:0?[1-9]|1[0-2])(?:[/_-]?[0-3]?\d)?)(?=[/_.-]|$)"
    r"|/((?:19|20)\d\d)/"
)
WECHAT_CT_RE = re.compile(r"""\bvar\s+ct\s*=\s*["']?(\d{10})\b""")


def year_proof(url: str) -> int | None:
    """The year a page's URL names in its path (``/2022/10/08/``, ``/art/2022/10/8/``,
    ``t20221008_123.html``, ``/202210/``), or None."""
    path = split(url).path
    for match in URL_YEAR_RE.finditer(path):
        year = int(match.group(1) or match.group(2))
        if MIN_PUBLISHED_YEAR <= year <= 2100:
            return year
    return None


def url_date(url: str, tz: tzinfo) -> tuple[datetime, str] | None:
    """The day a page's URL path names (``/2022/10/08/``, ``/art/2022/10/8/``,
    ``t20221008_1.html``) at midnight in ``tz``, with the part of the path that names it."""
    for match in URL_DATE_RE.finditer(split(url).path):
        try:
            value = datetime(int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=tz)
        except ValueError:
            continue
        return value, match.group(0)
    return None


def read_script_date(doc: lxml.html.HtmlElement) -> tuple[str, str]:
    """``("json-ld", datePublished)`` from the page's JSON-LD, or a WeChat article's publish
    time (``var ct = "<Unix seconds>"`` in its script; the page itself shows only "昨天" or
    "3小时前") as ``("wechat:ct", ISO 8601)``; ``("", "")`` when neither is there. Read before
    the scripts are removed."""
    wechat = doc.get_element_by_id("js_content", None) is not None
    for script in doc.iter("script"):
        if wechat and (found := WECHAT_CT_RE.search(script.text or "")):
            return "wechat:ct", datetime.fromtimestamp(int(found.group(1)), UTC).isoformat()
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for node in iter_json_objects(data):
            value = node.get("datePublished")
            if isinstance(value, str) and value.strip():
                return "json-ld", value.strip()
    return "", ""


WRITES_RE = re.compile(r"document\.write|\.innerHTML|\.innerText|\.textContent|\.text\(|\.html\(")
WRITTEN_DATE_RE = re.compile(
    r"""["'](?P<date>(?:19|20)\d\d[-/.年]\d{1,2}[-/.月]\d{1,2}日?"""
    r"""(?:[ T]\d{1,2}:\d\d(?::\d\d)?)?)["']"""
)
MAX_WRITING_SCRIPT = 600  # characters: a line's own little script, not a library


def inline_written_dates(doc: lxml.html.HtmlElement) -> None:
    """Put in place of an inline script the date it writes into the page
    (``发布时间：<script>document.write('2019-03-08 10:00'.substring(0,10))</script>``), so
    the page text shows it as the browser would. Only a short script that writes into the page
    and holds exactly one quoted date counts. Call it before the scripts are removed."""
    for script in list(doc.iter("script")):
        code = script.text or ""
        if script.get("src") or len(code) > MAX_WRITING_SCRIPT or not WRITES_RE.search(code):
            continue
        dates = {found.group("date") for found in WRITTEN_DATE_RE.finditer(code)}
        if len(dates) != 1:
            continue
        parent = script.getparent()
        if parent is None:
            continue
        shown = lxml.html.Element("span")
        shown.text, shown.tail = dates.pop(), script.tail
        parent.replace(script, shown)


def iter_json_objects(data: Any) -> Iterator[dict[str, Any]]:
    """Yield every JSON object nested in ``data``, outermost first."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from iter_json_objects(value)
    elif isinstance(data, list):
        for item in data:
            yield from iter_json_objects(item)
