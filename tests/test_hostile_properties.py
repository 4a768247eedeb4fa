"""Property tests: whatever a site sends, herald reads it or skips it cleanly, and the feeds it
writes stay valid.

Hypothesis builds feeds and pages from random bytes, control characters, lone surrogates,
broken URLs, deep nesting and huge attributes. The parsers may only answer with items or with
their own clean errors (``SourceError``, ``ExtractError``); a full pass (poll, ingest, feeds)
over a served feed never raises, and every written RSS and Atom file parses as XML and every
JSON Feed as JSON. Derandomised and without an example database, so CI runs are repeatable.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import write_config
from tests.support.hostile_sites import HostileSite
from worker.charset import decode_body
from worker.config import load_config
from worker.embedded import run_once
from worker.extract import ExtractError, extract_article
from worker.feeds import FeedSpec, render_atom, render_json_feed, render_rss
from worker.health import layout_fingerprint
from worker.ingest import cap_article, from_feed_entry
from worker.models import Article, Discovered, ListSelectors
from worker.sources.base import SourceError
from worker.sources.detect import detect_family
from worker.sources.feed import parse_feed
from worker.sources.guess import guess_list
from worker.sources.hanweb import parse_datastore, parse_hanweb_column
from worker.sources.html import parse_list
from worker.sources.jpaas import parse_jpaas_answer
from worker.sources.trs import parse_trs_list

pytestmark = pytest.mark.timeout(300)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, tzinfo=UTC)
PAGE = "http://site.test/col/col1/index.html"
FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -------------------------------------------------------------------------------

junk_char = st.one_of(
    st.characters(codec="utf-8"),  # any scalar value, controls included
    st.sampled_from(["\x00", "\x0b", "\ufffe", "\u202e", "<", ">", "&", '"', "'", "]", "\n"]),
)
junk_text = st.text(junk_char, max_size=60) | st.just("]]><![CDATA[")
with_surrogates = st.text(st.one_of(junk_char, st.sampled_from(["\ud800", "\udfff"])), max_size=40)
broken_url = st.one_of(
    st.sampled_from(
        [
            "http://[x",
            "http://[::1",
            "http://a:99999/",
            "javascript:alert(1)",
            "//evil.test/x",
            "",
            "http://site.test/" + "a" * 5000,
            "http://site.test/art/2022/2/30/art_1_1.html",
            "./202210/t20221008_1.html",
        ]
    ),
    st.builds(lambda path: f"http://site.test/{path}", junk_text),
    junk_text,
)
TAGS = ["div", "p", "li", "ul", "a", "span", "table", "tr", "td", "script", "style", "img", "b"]


@st.composite
def html_fragment(draw: st.DrawFn, depth: int = 0) -> str:
    """Random markup: nested tags with hostile attributes, text, and sometimes no closers."""
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 0))):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            parts.append(escape(draw(junk_text)))
        elif kind == 1:
            parts.append(draw(junk_text))  # raw: stray "<", "&", controls
        elif kind == 2:  # a link, the element every reader looks at
            parts.append(f"<a href={quoteattr(draw(broken_url))}>{escape(draw(junk_text))}</a>")
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = " ".join(
                f"{name}={quoteattr(value)}"
                for name, value in draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(["href", "src", "title", "class", "onerror", "id"]),
                            st.one_of(broken_url, st.just("x" * 20_000)),
                        ),
                        max_size=3,
                    )
                )
            )
            inner = draw(html_fragment(depth + 1))
            closer = f"</{tag}>" if draw(st.booleans()) else ""
            parts.append(f"<{tag} {attrs}>{inner}{closer}")
    if depth == 0 and draw(st.booleans()):
        nesting = draw(st.integers(1, 3000))
        parts.append("<div>" * nesting + "x" + "</div>" * draw(st.integers(0, nesting)))
    return "".join(parts)


@st.composite
def rss_document(draw: st.DrawFn) -> bytes:
    items = []
    for _ in range(draw(st.integers(0, 5))):
        link = escape(draw(broken_url))
        enclosure = f"<enclosure url={quoteattr(draw(broken_url))} type='image/png'/>"
        description = escape(draw(html_fragment()))
        date = escape(draw(st.one_of(junk_text, st.just("Sat, 08 Oct 0000 99:99:99 +9999"))))
        items.append(
            f"<item><title>{escape(draw(junk_text))}</title><link>{link}</link>"
            f"<guid>{escape(draw(junk_text))}</guid><pubDate>{date}</pubDate>"
            f"<description>{description}</description>{enclosure}</item>"
        )
    text = f'<rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>'
    data = text.encode("utf-8", errors="surrogatepass")
    encoding = draw(st.sampled_from(["utf-8", "gb2312", "latin-1", "bogus"]))
    return f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + data


@st.composite
def json_feed_document(draw: st.DrawFn) -> bytes:
    item = st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(junk_text, st.integers()),
            "url": broken_url,
            "title": st.one_of(junk_text, st.integers(), st.none()),
            "content_html": html_fragment(),
            "date_published": junk_text,
            "attachments": st.one_of(
                st.integers(), st.lists(st.dictionaries(junk_text, junk_text))
            ),
            "authors": st.one_of(st.integers(), st.lists(st.integers())),
            "image": broken_url,
        },
    )
    items = draw(st.lists(st.one_of(item, junk_text, st.integers()), max_size=5))
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}
    return json.dumps(feed).encode()


any_document = st.one_of(st.binary(max_size=2_000), rss_document(), json_feed_document())

# --- parsers: items or their own clean error, never anything else ----------------------------


@FAST
@given(document=any_document)
def test_any_feed_document_reads_as_items_or_a_source_error(document: bytes) -> None:
    try:
        page = parse_feed(document, "http://site.test/feed", tz=TZ)
    except SourceError:
        return
    assert all(item.url.startswith(("http://", "https://")) for item in page.items)


@FAST
@given(fragment=html_fragment())
def test_any_page_reads_as_items_or_a_clean_error(fragment: str) -> None:
    page = f"<html><body>{fragment}</body></html>"
    for read in (
        lambda: parse_list(page, PAGE, ListSelectors(item="li", date="span"), tz=TZ, now=NOW),
        lambda: parse_hanweb_column(page, PAGE, tz=TZ, now=NOW),
        lambda: parse_hanweb_column(
            f"<script type='text/xml'><datastore>{fragment}</datastore></script>", PAGE, tz=TZ
        ),
        lambda: parse_datastore(f"<datastore><record>{fragment}</record>", PAGE, tz=TZ),
        lambda: parse_jpaas_answer(json.dumps({"data": {"html": fragment}}), PAGE, tz=TZ),
        lambda: parse_trs_list(page, PAGE, tz=TZ, now=NOW),
        lambda: guess_list(page, PAGE, tz=TZ, now=NOW),
        lambda: detect_family(page, PAGE),
        lambda: layout_fingerprint(page, PAGE, ["http://site.test/a"]),
        lambda: extract_article(page, PAGE, tz=TZ, now=NOW),
    ):
        with contextlib.suppress(SourceError, ExtractError):
            read()


@FAST
@given(data=st.binary(max_size=3_000), label=st.sampled_from(["", "gbk", "utf-16", "x", "utf-7"]))
def test_any_bytes_decode(data: bytes, label: str) -> None:
    text, codec = decode_body(data, f"text/html; charset={label}")
    assert isinstance(text, str) and codec


# --- feed output: whatever an item holds, the written files parse -----------------------------


@st.composite
def article(draw: st.DrawFn, index: int = 1) -> Article:
    item = Discovered(
        url=draw(broken_url),
        title=draw(with_surrogates),
        summary=draw(with_surrogates),
        content_html=draw(html_fragment()),
        author=draw(with_surrogates),
        guid=draw(with_surrogates),
        images=tuple(draw(st.lists(broken_url, max_size=2))),
    )
    extracted = cap_article(from_feed_entry(item), max_html_bytes=4096, max_title_chars=80)
    return Article(
        id=index,
        source_name="s",
        url=extracted.url,
        guid=item.guid,
        title=extracted.title,
        author=extracted.author,
        published_at=None,
        summary=extracted.summary,
        content_html=extracted.content_html,
        text=extracted.text,
        images=extracted.images,
        version=1,
        first_seen_at=NOW,
        updated_at=NOW,
        tags=tuple(draw(st.lists(with_surrogates, max_size=2))),
        attachments=extracted.attachments,
    )


@FAST
@given(articles=st.lists(article(), max_size=4))
def test_any_items_render_as_valid_rss_atom_and_json_feed(articles: list[Article]) -> None:
    numbered = [
        Article(**{**a.__dict__, "id": i}) for i, a in enumerate(articles, 1)
    ]  # distinct ids
    spec = FeedSpec(key="sources/s", title="s", articles=tuple(numbered))
    for rendered in (render_rss(spec, base_url="http://f.test"), render_atom(spec, base_url="x")):
        etree.fromstring(rendered)
    assert json.loads(render_json_feed(spec, base_url="http://f.test"))["version"]


# --- a full pass over a served feed never raises, and its files parse -------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[HostileSite]:
    with HostileSite() as site:
        yield site


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(document=st.one_of(rss_document(), json_feed_document()))
def test_a_full_pass_over_any_feed_writes_valid_feeds(
    document: bytes, served: HostileSite, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = served.add("/feed", document, content_type="application/rss+xml")
    served.add("/", "<html><body><article><p>正文</p></article></body></html>")
    directory = tmp_path_factory.mktemp("pass")
    source = f'[[sources]]\nname = "any"\nurl = "{url}"\nkind = "feed"\nnotify_existing = true\n'
    run_once(load_config(write_config(directory, sources=source)))
    feeds = Path(directory / "feeds")
    for path in feeds.rglob("*.xml"):
        etree.parse(str(path))
    for path in feeds.rglob("*.atom"):
        etree.parse(str(path))
    for path in feeds.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    assert (feeds / "sources" / "any.xml").exists()
