"""`herald sources add/remove/import/export`: the config file edited (comments kept), checked."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.conftest import SECRET, site_source, write_config
from tests.support.cms_sites import HanwebSite
from worker.cli import main
from worker.config import load_config
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.opml import read_opml


def _cli(path: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--config", str(path), *args], env={"COLUMNS": "200"})


def _config(tmp_path: Path, sources: str = "", subscribers: str = "") -> Path:
    path = write_config(tmp_path, sources=sources, subscribers=subscribers)
    path.write_text("# kept comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_add_recognises_the_family_and_the_source_is_then_polled(tmp_path: Path) -> None:
    path = _config(tmp_path)
    with HanwebSite(articles=12, per_page=5) as column:
        result = _cli(path, "sources", "add", column.list_url, "--name", "column")
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "added source column (hanweb" in result.output  # type: ignore[attr-defined]
        config = load_config(path)
        (source,) = config.sources
        assert (source.name, source.kind, source.url) == ("column", "hanweb", column.list_url)
        assert path.read_text(encoding="utf-8").startswith("# kept comment\n")
        run_once(config)
    feed = (tmp_path / "feeds" / "sources" / "column.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") >= 5


def test_add_refuses_what_it_cannot_recognise_and_a_taken_name(
    tmp_path: Path, site: DemoSite
) -> None:
    path = _config(tmp_path, sources=site_source(site))
    before = path.read_bytes()
    with HanwebSite(articles=3) as column:
        taken = _cli(path, "sources", "add", column.list_url, "--name", "cases")
    assert taken.exit_code == 2 and "already exists" in taken.output  # type: ignore[attr-defined]
    dead = _cli(path, "sources", "add", "http://127.0.0.1:9/nothing")
    assert dead.exit_code == 1 and "cannot read" in dead.output  # type: ignore[attr-defined]
    assert path.read_bytes() == before


def test_remove_keeps_a_source_a_subscriber_names(tmp_path: Path, site: DemoSite) -> None:
    subscriber = f"""
[[subscribers]]
name = "hook"
channel = "webhook"
url = "https://example.org/h"
secret = "{SECRET}"
sources = ["cases"]
"""
    path = _config(tmp_path, sources=site_source(site), subscribers=subscriber)
    refused = _cli(path, "sources", "remove", "cases")
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "subscribers[\"hook\"].sources: no source named 'cases'" in refused.output  # type: ignore[attr-defined]
    assert _cli(path, "subscribers", "remove", "hook").exit_code == 0  # type: ignore[attr-defined]
    assert _cli(path, "sources", "remove", "cases").exit_code == 0  # type: ignore[attr-defined]
    assert load_config(path).sources == ()
    assert path.read_text(encoding="utf-8").startswith("# kept comment\n")


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>mine</title></head><body>
  <outline text="example" xmlUrl="https://www.example.org/feed.xml"/>
  <outline text="folder">
    <outline text="&#x79D1;&#x534F;" xmlUrl="https://www.cast.org.cn/rss.xml" htmlUrl="https://www.cast.org.cn/"/>
    <outline text="again" xmlUrl="https://www.example.org/feed.xml"/>
  </outline>
  <outline text="no feed here" htmlUrl="https://x.example/"/>
</body></opml>
"""


def test_import_adds_each_feed_once_and_export_lists_herald_feeds(tmp_path: Path) -> None:
    path = _config(tmp_path)
    (tmp_path / "subs.opml").write_bytes(OPML)
    result = _cli(path, "sources", "import", str(tmp_path / "subs.opml"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "imported 2 source(s)" in result.output and "1 skipped" in result.output  # type: ignore[attr-defined]
    config = load_config(path)
    assert [(s.url, s.kind) for s in config.sources] == [
        ("https://www.example.org/feed.xml", "feed"),
        ("https://www.cast.org.cn/rss.xml", "feed"),
    ]
    exported = _cli(path, "sources", "export")
    assert exported.exit_code == 0  # type: ignore[attr-defined]
    outlines = read_opml(exported.output.encode("utf-8"))  # type: ignore[attr-defined]
    names = [s.name for s in config.sources]
    assert [o.xml_url for o in outlines] == [
        f"http://feeds.test/feeds/sources/{name}.xml" for name in names
    ]
    assert [o.html_url for o in outlines] == [s.url for s in config.sources]
    bad = tmp_path / "bad.opml"
    bad.write_text("<html>no</html>", encoding="utf-8")
    refused = _cli(path, "sources", "import", str(bad))
    assert refused.exit_code == 2 and "not an OPML document" in refused.output  # type: ignore[attr-defined]
    hostile = tmp_path / "xxe.opml"
    hostile.write_bytes(
        b'<!DOCTYPE opml [<!ENTITY s SYSTEM "file:///etc/passwd">]><opml version="2.0"><body>'
        b'<outline text="&s;" xmlUrl="https://a.example/f.xml"/></body></opml>'
    )
    xxe = _cli(path, "sources", "import", str(hostile))
    assert xxe.exit_code == 2 and "root:" not in xxe.output  # type: ignore[attr-defined]
    assert "root:" not in path.read_text(encoding="utf-8")
