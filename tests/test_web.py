"""`herald serve` as a real process: pages, feed files (validators, options), health, metrics."""

from __future__ import annotations

import gzip
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
import requests

from tests.support.served import Served, served_herald

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_herald(tmp_path_factory.mktemp("served"), hub="http://127.0.0.1:9/hub") as found:
        yield found


def test_every_page_carries_a_content_security_policy(served: Served) -> None:
    for path in ("", "sources/cases", "digests/team/", "feeds/all.xml", "healthz", "nothing"):
        reply = served.get(path)
        policy = reply.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in policy and "script-src" not in policy, path
        assert reply.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_index_lists_sources_and_feeds_with_relative_links(served: Served) -> None:
    reply = served.get("")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    page = reply.text
    assert 'href="sources/cases"' in page and ">cases</a>" in page
    assert "新增：关于开展 2026 年科普月活动的通知" in page  # the newest article
    for path in ("feeds/all.xml", "feeds/sources/cases.atom", "feeds/digests/team.json"):
        assert f'href="{path}"' in page
        assert served.get(path).status_code == 200
    tag = "feeds/tags/%E5%B7%A5%E4%BD%9C%E6%A1%88%E4%BE%8B.xml"  # 工作案例
    assert f'href="{tag}"' in page and served.get(tag).status_code == 200
    assert 'href="digests/team/"' in page
    assert 'name="viewport"' in page


def test_a_source_page_shows_titles_and_dates_in_the_source_timezone(served: Served) -> None:
    reply = served.get("sources/cases")
    assert reply.status_code == 200
    page = reply.text
    for article in served.site.articles[:10]:
        assert article.title in page
        # the column gives days only: herald stores midnight Beijing time, 16:00 UTC the day before
        day = article.published.astimezone(SHANGHAI).strftime("%Y-%m-%d")
        assert f">{day} 00:00</time>" in page, article.title
    assert "16:00</time>" not in page
    assert 'href="../feeds/sources/cases.xml"' in page and 'href="../"' in page
    assert served.get("sources/nope").status_code == 404
    assert served.get("sources/..%2Fherald.toml").status_code == 404


def test_the_digest_archive_and_page_are_served(served: Served) -> None:
    assert served.get("digests/team", allow_redirects=False).status_code == 308
    archive = served.get("digests/team/")
    assert archive.status_code == 200 and f'href="{served.digest_key}.html"' in archive.text
    page = served.get(f"digests/team/{served.digest_key}.html")
    assert page.status_code == 200 and "摘要" in page.text
    assert 'href="./"' in page.text  # back to the archive, wherever it is served
    assert "新增：关于开展 2026 年科普月活动的通知" in page.text
    assert served.get("digests/nobody/").status_code == 404
    assert served.get("digests/team/..%2F..%2Fherald.toml").status_code == 404


def test_feed_files_have_their_types_and_answer_conditional_requests(served: Served) -> None:
    types = {"xml": "application/rss+xml", "atom": "application/atom+xml"}
    types["json"] = "application/feed+json"
    for extension, media_type in types.items():
        reply = served.get(f"feeds/sources/cases.{extension}")
        assert reply.status_code == 200
        assert reply.headers["content-type"] == f"{media_type}; charset=utf-8"
        etag, modified = reply.headers["ETag"], reply.headers["Last-Modified"]
        again = served.get(f"feeds/sources/cases.{extension}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        since = served.get(
            f"feeds/sources/cases.{extension}", headers={"If-Modified-Since": modified}
        )
        assert since.status_code == 304
        other = served.get(f"feeds/sources/cases.{extension}", headers={"If-None-Match": '"x"'})
        assert other.status_code == 200 and other.content == reply.content


def test_feeds_are_gzipped_for_clients_that_ask(served: Served) -> None:
    raw = requests.get(
        served.root + "feeds/all.xml", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10
    )
    body = raw.raw.read(decode_content=False)
    assert raw.headers["Content-Encoding"] == "gzip"
    plain = served.get("feeds/all.xml", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(body) == plain.content
    assert len(body) < len(plain.content) / 2


def test_websub_link_headers_and_hub_links_in_every_format(served: Served) -> None:
    reply = served.get("feeds/all.atom")
    assert reply.headers["Link"] == (
        '<http://127.0.0.1:9/hub>; rel="hub", <http://feeds.test/feeds/all.atom>; rel="self"'
    )
    atom = feedparser.parse(reply.content)
    rels = {link["rel"]: link["href"] for link in atom.feed.links}
    assert rels["hub"] == "http://127.0.0.1:9/hub"
    assert rels["self"] == "http://feeds.test/feeds/all.atom"
    rss = served.get("feeds/all.xml").text
    assert '<atom:link href="http://127.0.0.1:9/hub" rel="hub"/>' in rss
    assert 'rel="self"' in rss
    doc = served.get("feeds/all.json").json()
    assert doc["hubs"] == [{"type": "WebSub", "url": "http://127.0.0.1:9/hub"}]


def test_query_options_limit_filter_and_format(served: Served) -> None:
    full = feedparser.parse(served.get("feeds/sources/cases.xml").content)
    assert len(full.entries) == 16
    two = feedparser.parse(served.get("feeds/sources/cases.xml?limit=2").content)
    assert [e.title for e in two.entries] == [e.title for e in full.entries[:2]]
    kept = feedparser.parse(served.get("feeds/all.atom?filter=科普月|不存在").content)
    assert [e.title for e in kept.entries] == ["新增：关于开展 2026 年科普月活动的通知"]
    dropped = feedparser.parse(served.get("feeds/all.atom?filterout=科普月").content)
    assert len(dropped.entries) == 15
    as_json = served.get("feeds/sources/cases.xml?format=json&limit=3")
    assert as_json.headers["content-type"] == "application/feed+json; charset=utf-8"
    assert len(as_json.json()["items"]) == 3
    etag = as_json.headers["ETag"]
    again = served.get(
        "feeds/sources/cases.xml?format=json&limit=3", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("query", "named"),
    [("limit=0", "limit"), ("limit=x", "limit"), ("format=pdf", "format"),
     ("filter=(", "filter"), ("filterout=[", "filterout")],
)  # fmt: skip
def test_bad_query_options_get_a_400_naming_the_option(
    served: Served, query: str, named: str
) -> None:
    reply = served.get(f"feeds/all.xml?{query}")
    assert reply.status_code == 400 and reply.text.startswith(f"{named}:")


def test_only_feed_files_under_feeds_dir_are_served(served: Served) -> None:
    (served.directory / "feeds" / "notes.txt").write_text("private", encoding="utf-8")
    for path in ("feeds/notes.txt", "feeds/../herald.toml", "feeds/%2E%2E/herald.toml",
                 "feeds/..%2Fherald.db", "feeds/nothing.xml", "feeds/sources/cases",
                 "feeds/digests/team/../../../herald.toml",
                 "feeds/digests/team/x.toml"):  # fmt: skip
        reply = served.get(path)
        assert reply.status_code == 404, path
        assert "private" not in reply.text and "[herald]" not in reply.text


def test_healthz_answers_for_the_database_and_the_embedded_broker(served: Served) -> None:
    reply = served.get("healthz")
    assert reply.status_code == 200
    report = reply.json()
    assert report["status"] == "ok"
    assert report["checks"]["database"]["ok"] and report["checks"]["broker"]["detail"] == "embedded"


def test_metrics_count_articles_polls_and_deliveries(served: Served) -> None:
    reply = served.get("metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    assert 'herald_articles_ingested_total{source="cases"} 16.0' in text
    assert 'herald_polls_total{outcome="ok",source="cases"} 2.0' in text
    assert re.search(r'herald_poll_fetch_seconds_count\{source="cases"\} 2\.0', text)
    assert 'herald_deliveries{channel="webhook",status="delivered"} 1.0' in text
    assert 'herald_sources{status="ok"} 1.0' in text
    # the hub (a dead port) has not taken its pings: they wait in the ledger, and show
    assert re.search(r'herald_deliveries\{channel="websub",status="pending"\} \d+\.0', text)
    lag = re.search(r"^herald_ledger_lag_seconds (\S+)$", text, re.M)
    assert lag and 0.0 <= float(lag.group(1)) < 600
    assert "herald_breaker_openings_total 0.0" in text
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert names and all(name.startswith("herald_") for name in names)


def test_healthz_is_503_when_the_broker_is_down_and_prints_no_password(tmp_path: Path) -> None:
    from tests.conftest import write_config
    from tests.support.fault_cluster import free_port
    from tests.support.served import serve_process

    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        port = dead.getsockname()[1]
    broker = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    path = write_config(tmp_path, sources="", broker_url=broker)
    with serve_process(path, free_port(), tmp_path / "serve.log") as root:
        reply = requests.get(root + "healthz", timeout=10)
        metrics = requests.get(root + "metrics", timeout=10)
    assert reply.status_code == 503
    report = reply.json()
    assert report["status"] == "fail" and report["checks"]["database"]["ok"] is True
    assert report["checks"]["broker"]["ok"] is False
    assert "s3cret-pass" not in reply.text and "s3cret-pass" not in metrics.text
    assert metrics.status_code == 200  # the store's figures still show
    assert "s3cret-pass" not in (tmp_path / "serve.log").read_text()


def test_serve_refuses_a_port_in_use_with_a_clear_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tests.conftest import write_config
    from worker.cli import main

    path = write_config(tmp_path, sources="")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["--config", str(path), "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_json_feed_items_are_the_atom_entries(served: Served) -> None:
    doc = json.loads(served.get("feeds/all.json").content)
    atom = feedparser.parse(served.get("feeds/all.atom").content)
    assert [i["title"] for i in doc["items"]] == [e.title for e in atom.entries]


def test_every_served_feed_validates(served: Served) -> None:
    from tests.support.feedrules import check_feed
    from tests.test_feed_validity import json_feed_errors

    keys = ["all", "sources/cases", "tags/%E5%B7%A5%E4%BD%9C%E6%A1%88%E4%BE%8B", "digests/team"]
    for key in keys:
        for extension in ("xml", "atom"):
            body = served.get(f"feeds/{key}.{extension}").content
            assert check_feed(body) == [], key
            parsed = feedparser.parse(body)
            assert parsed.bozo is False and parsed.entries, key
        assert json_feed_errors(served.get(f"feeds/{key}.json").content) == [], key
    digest = feedparser.parse(served.get("feeds/digests/team.atom").content)
    (entry,) = digest.entries
    assert entry.link == f"http://feeds.test/digests/team/{served.digest_key}.html"
    assert "摘要" in entry.title and "新增：关于开展" in entry.content[0].value


def test_costly_filter_patterns_are_refused_quickly(served: Served) -> None:
    import time

    for pattern in ("(?:a{4294967294})", "((a{1000}){1000}){10}", "a{5}b{5}c{5}", "x" * 201):
        started = time.monotonic()
        reply = served.get("feeds/all.xml", params={"filter": pattern})
        assert reply.status_code == 400, pattern
        assert time.monotonic() - started < 2


def test_digest_redirects_stay_on_the_site(served: Served) -> None:
    for path in ("digests/http:evil.example", "digests/%2F%2Fevil.example"):
        reply = served.get(path, allow_redirects=False)
        assert reply.status_code == 404, path
    old = served.get(f"feeds/digests/team/{served.digest_key}.html", allow_redirects=False)
    assert old.status_code == 308
    moved = served.get(f"feeds/digests/team/{served.digest_key}.html")
    assert moved.status_code == 200 and moved.url.endswith(
        f"/digests/team/{served.digest_key}.html"
    )
