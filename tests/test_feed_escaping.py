"""Escaped markup in a source stays text in herald's feeds: no reader may see it as HTML.

A description such as ``Use &amp;lt;img src=x onerror=…&amp;gt;`` means the text
``Use <img src=x onerror=…>``. Written into RSS ``<description>`` (which readers parse as HTML)
it must arrive escaped; the written files are parsed the way a reader would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from tests.conftest import write_config
from tests.support.hostile_sites import HostileSite
from worker.config import load_config
from worker.embedded import run_once

TEXT = "Use <img src=x onerror=alert(1)> to load"
BODY = (  # full content, so the article page is not read and the description is the summary
    '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>'
    + "The full text of the article. " * 10
    + "<img src=x onerror=alert(4)></p>]]></content:encoded>"
)
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>http://e/</link>
<item><title>Escaped markup</title><link>LINK</link><guid>g1</guid>
<pubDate>Sat, 08 Oct 2022 10:21:00 +0800</pubDate>
<description>Use &amp;lt;img src=x onerror=alert(1)&amp;gt; to load</description>{BODY}</item>
<item><title>Live markup</title><link>LINK2</link><guid>g2</guid>
<pubDate>Sat, 08 Oct 2022 11:21:00 +0800</pubDate>
<description>&lt;p&gt;Hi&lt;img src=x onerror=alert(2)&gt;
&lt;script&gt;alert(3)&lt;/script&gt;&lt;/p&gt;</description>{BODY}</item>
</channel></rss>"""


@pytest.fixture()
def feeds_dir(tmp_path: Path) -> Iterator[Path]:
    with HostileSite() as site:
        article = "<html><body><article><p>短</p></article></body></html>"
        site.add("/a1", article)
        site.add("/a2", article)
        feed = FEED.replace("LINK2", site.url("/a2")).replace("LINK", site.url("/a1"))
        url = site.add("/feed.xml", feed, content_type="application/rss+xml")
        source = f'[[sources]]\nname = "esc"\nurl = "{url}"\nkind = "feed"\n'
        run_once(load_config(write_config(tmp_path, sources=source)))
    yield tmp_path / "feeds" / "sources"


def html_of(fragment: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(fragment, create_parent="div")


def test_rss_descriptions_carry_escaped_text_or_sanitised_html(feeds_dir: Path) -> None:
    root = etree.parse(str(feeds_dir / "esc.xml")).getroot()
    descriptions = {
        item.findtext("title"): item.findtext("description") or "" for item in root.iter("item")
    }
    escaped = html_of(descriptions["Escaped markup"])
    assert escaped.text_content() == TEXT  # a reader shows the text the source meant
    assert escaped.find(".//img") is None
    for description in descriptions.values():
        fragment = html_of(description)
        assert fragment.find(".//script") is None
        assert all("onerror" not in element.attrib for element in fragment.iter())


def test_atom_and_json_feed_keep_text_as_text_and_html_sanitised(feeds_dir: Path) -> None:
    atom = etree.parse(str(feeds_dir / "esc.atom")).getroot()
    namespace = "{http://www.w3.org/2005/Atom}"
    for entry in atom.iter(f"{namespace}entry"):
        summary = entry.find(f"{namespace}summary")
        if summary is not None:
            assert summary.get("type", "text") == "text"
        for content in entry.iter(f"{namespace}content"):
            if content.get("type") == "html":
                fragment = html_of(content.text or "")
                assert all("onerror" not in element.attrib for element in fragment.iter())
    items = json.loads((feeds_dir / "esc.json").read_text())["items"]
    for item in items:
        fragment = html_of(item.get("content_html") or "<p></p>")
        assert fragment.find(".//script") is None
        assert all("onerror" not in element.attrib for element in fragment.iter())
    assert {item["summary"] for item in items if item["title"] == "Escaped markup"} == {TEXT}
