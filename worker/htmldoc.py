"""One way to turn a decoded page into an lxml document, as a browser would read its markup.

It drops an XML declaration (lxml refuses one on a ``str``) and characters XML cannot hold, and
ignores stray ``</body>`` and ``</html>`` end tags: browsers keep reading what follows them into
the body, while libxml2 drops everything after ``</html>`` — a page that closes its ``<html>``
after the head (some blog themes do) would otherwise have no body at all. It must not change
anything else in the markup, fetch, or judge content.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

from worker.sanitize import strip_xml_illegal

__all__ = ["read_document"]

XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
STRAY_END_TAG_RE = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)


def read_document(html: str) -> lxml.html.HtmlElement | None:
    """The page as an lxml document; None when it is empty or cannot be parsed at all."""
    source = XML_DECLARATION_RE.sub("", strip_xml_illegal(html), count=1)
    source = STRAY_END_TAG_RE.sub("", source).strip()
    if not source:
        return None
    try:
        return lxml.html.document_fromstring(source)
    except (lxml.etree.ParserError, ValueError):
        return None
