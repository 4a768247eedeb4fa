"""OPML 2.0 subscription lists: reading the feeds one names, writing herald's feeds as one.

Pure: bytes in, bytes out. The parser resolves no entities and fetches nothing (an OPML file is
untrusted input). It must not touch the config, the database or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree


class OpmlError(ValueError):
    """The file is no OPML document; ``str()`` says why."""


@dataclass(frozen=True)
class Outline:
    title: str
    xml_url: str
    html_url: str = ""


def read_opml(data: bytes) -> list[Outline]:
    """Every outline with an ``xmlUrl``, in document order (nested folders included)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise OpmlError(f"not well-formed XML: {err}") from None
    if root.tag != "opml" or root.find("body") is None:
        raise OpmlError("not an OPML document (no <opml> with a <body>)")
    found = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if url:
            title = (outline.get("title") or outline.get("text") or "").strip()
            found.append(Outline(title, url, (outline.get("htmlUrl") or "").strip()))
    return found


def write_opml(title: str, outlines: Sequence[Outline]) -> bytes:
    """An OPML 2.0 document listing ``outlines`` as RSS subscriptions."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    for item in outlines:
        attributes = {"type": "rss", "text": item.title, "title": item.title,
                      "xmlUrl": item.xml_url}  # fmt: skip
        if item.html_url:
            attributes["htmlUrl"] = item.html_url
        etree.SubElement(body, "outline", attributes)
    etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data
