"""The explicit outbound proxy: ``[network] proxy`` and a source's own ``proxy``.

Fetches go through a real forward proxy on 127.0.0.1 (``tests.support.proxy``) only when the
configuration names it — never because ``HTTP_PROXY`` is set — the SSRF guard still checks the
target before the proxy is asked to reach it, and the proxy itself must be listed in
``[network] allow``.
"""

from __future__ import annotations

import shutil
import sqlite3
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import LOOPBACK, site_source, write_config
from tests.support.counting import CountingServer, fake_dns
from tests.support.proxy import ForwardProxy
from worker.cli import main
from worker.config import ConfigError, load_config, parse_config
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.fetch import Fetcher, FetchError
from worker.netguard import BlockedAddress, Policy, guarded_session

pytestmark = pytest.mark.timeout(60)


@pytest.fixture()
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy()
    yield server
    server.stop()


def test_a_fetch_goes_through_the_configured_proxy(site: DemoSite, proxy: ForwardProxy) -> None:
    with Fetcher(policy=LOOPBACK, proxy=proxy.url) as fetcher:
        page = fetcher.get(site.list_url)
    assert page.status == 200 and "<html" in page.text.lower()
    assert proxy.requests == [f"GET {site.list_url}"]


def test_the_environment_proxy_is_never_used(
    site: DemoSite, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Fetcher(policy=LOOPBACK) as fetcher:
        assert fetcher.get(site.list_url).status == 200
    assert proxy.requests == []


def test_a_refused_target_is_never_handed_to_the_proxy(proxy: ForwardProxy) -> None:
    target = CountingServer("127.0.0.2")  # loopback, but not in the allow list
    try:
        with Fetcher(policy=LOOPBACK, proxy=proxy.url) as fetcher, pytest.raises(FetchError) as err:
            fetcher.get(target.url("/internal"))
        assert err.value.reason == "blocked"
        assert "127.0.0.2 is a loopback address" in str(err.value)
        assert proxy.requests == [] and target.connections == 0
    finally:
        target.stop()


def test_a_proxy_the_guard_refuses_is_not_reached(site: DemoSite, proxy: ForwardProxy) -> None:
    """Built by hand, past the config check: the connection to the proxy is guarded too."""
    refusing = Policy.from_allow(["127.0.0.2/32"])  # the site would be allowed; the proxy is not
    with Fetcher(policy=refusing, proxy=proxy.url) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(site.list_url.replace("127.0.0.1", "127.0.0.2"))
    assert err.value.reason == "blocked" and proxy.requests == []


def test_proxy_credentials_are_sent_and_never_shown(site: DemoSite) -> None:
    proxy = ForwardProxy(credentials=("herald", "s3cret-pass"))
    try:
        good = proxy.url.replace("http://", "http://herald:s3cret-pass@")
        with Fetcher(policy=LOOPBACK, proxy=good) as fetcher:
            assert fetcher.get(site.list_url).status == 200
        bad = proxy.url.replace("http://", "http://herald:wrong-pass@")
        with Fetcher(policy=LOOPBACK, proxy=bad) as fetcher, pytest.raises(FetchError) as err:
            fetcher.get(site.list_url)
        assert err.value.status == 407
        assert "wrong-pass" not in str(err.value)
    finally:
        proxy.stop()


def test_a_dead_proxy_is_named_in_the_error(site: DemoSite) -> None:
    dead = ForwardProxy()
    url = dead.url
    dead.stop()
    with Fetcher(policy=LOOPBACK, proxy=url) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(site.list_url)
    assert err.value.reason == "connect"
    assert str(err.value).endswith(f"proxy: connection refused by {url.removeprefix('http://')}")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_goes_through_a_connect_tunnel_with_the_host_name_kept(
    tmp_path: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=tunnel.test", "-addext", "subjectAltName=DNS:tunnel.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen_sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment,misc,return-value]
    server = CountingServer("127.0.0.2")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    fake_dns(monkeypatch, {"tunnel.test": [["127.0.0.2"]], "hidden.test": [["127.0.0.3"]]})
    policy = Policy.from_allow(["127.0.0.1/32", "127.0.0.2/32"])
    try:
        with guarded_session(policy, proxy=proxy.url) as session:
            reply = session.get(f"https://tunnel.test:{server.port}/", timeout=5, verify=str(cert))
            assert reply.text == "ok"
            with pytest.raises(BlockedAddress, match=r"hidden\.test resolves to 127\.0\.0\.3"):
                session.get(f"https://hidden.test:{server.port}/", timeout=5, verify=str(cert))
        assert proxy.requests == [f"CONNECT tunnel.test:{server.port}"]
        assert seen_sni == ["tunnel.test"] and server.hosts == [f"tunnel.test:{server.port}"]
    finally:
        server.stop()


# --- configuration -----------------------------------------------------------------------------


def test_a_proxy_must_be_listed_in_allow() -> None:
    with pytest.raises(ConfigError, match=r"network\.proxy: the proxy '10\.1\.2\.3' is not in"):
        parse_config({"network": {"proxy": "http://10.1.2.3:3128"}})
    with pytest.raises(ConfigError, match=r"network\.proxy: the proxy 'proxy\.corp\.example'"):
        parse_config({"network": {"proxy": "http://proxy.corp.example:3128"}})
    ok = parse_config(
        {"network": {"proxy": "http://u:p@proxy.corp.example:3128",
                     "allow": ["proxy.corp.example"]}}
    )  # fmt: skip
    assert ok.network.proxy == "http://u:p@proxy.corp.example:3128"
    assert parse_config(
        {"network": {"proxy": "http://10.1.2.3:3128", "allow": ["10.0.0.0/8"]}}
    ).network.proxy


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("socks5://127.0.0.1:1080", "expected http://host:port or https://host:port"),
        ("http://127.0.0.1", "expected http://host:port"),
        ("http://127.0.0.1:3128/path", "a proxy URL has no path or query"),
        ("direct", '"direct" is for a source'),
    ],
)
def test_bad_proxy_values_are_named(value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=r"network\.proxy: ") as err:
        parse_config({"network": {"proxy": value, "allow": ["127.0.0.1"]}})
    assert words in str(err.value)


def test_a_bad_proxy_password_is_never_shown() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"network": {"proxy": "socks5://u:hunter22@127.0.0.1:1080"}})
    assert "hunter22" not in str(err.value)


def test_the_proxy_may_be_read_from_a_named_variable() -> None:
    """Only where the file says so (``env:NAME``): never from HTTP_PROXY by itself."""
    secret = "http://u:hunter22@127.0.0.1:3128"
    config = parse_config(
        {"network": {"proxy": "env:HERALD_PROXY", "allow": ["127.0.0.1"]}},
        environ={"HERALD_PROXY": secret, "HTTP_PROXY": "http://127.0.0.1:9"},
    )
    assert config.network.proxy == secret
    with pytest.raises(ConfigError, match="environment variable HERALD_PROXY") as err:
        parse_config(
            {"network": {"proxy": "env:HERALD_PROXY"}},
            environ={"HERALD_PROXY": "socks5://u:hunter22@127.0.0.1:1080"},
        )
    assert "hunter22" not in str(err.value)
    assert parse_config({}, environ={"HTTP_PROXY": "http://127.0.0.1:9"}).network.proxy == ""


def test_a_sources_proxy_is_checked_and_direct_opts_out(site: DemoSite) -> None:
    block = site.source_toml("cases", settings='proxy = "http://192.168.9.9:3128"')
    import tomllib

    with pytest.raises(ConfigError, match=r'sources\["cases"\]\.proxy: the proxy'):
        parse_config({**tomllib.loads(block), "network": {"allow": ["127.0.0.1"]}})
    direct = parse_config(
        {**tomllib.loads(site.source_toml("cases", settings='proxy = "direct"')),
         "network": {"allow": ["127.0.0.1"], "proxy": "http://127.0.0.1:3128"}}
    )  # fmt: skip
    assert direct.source_proxy(direct.sources[0]) == ""
    inherit = parse_config(
        {**tomllib.loads(site.source_toml("cases")),
         "network": {"allow": ["127.0.0.1"], "proxy": "http://127.0.0.1:3128"}}
    )  # fmt: skip
    assert inherit.source_proxy(inherit.sources[0]) == "http://127.0.0.1:3128"


# --- a whole pass ------------------------------------------------------------------------------


def test_a_source_with_its_own_proxy_is_read_through_it(
    tmp_path: Path, site: DemoSite, proxy: ForwardProxy
) -> None:
    block = site.source_toml("cases", settings=f'backfill = 1\nproxy = "{proxy.url}"')
    path = write_config(tmp_path, sources=block)
    run_once(load_config(path))
    assert stored_articles(tmp_path) == 10  # the first list page's ten articles
    assert f"GET {site.list_url}" in proxy.requests
    assert len(proxy.requests) == len(site.requests_log) == 11
    result = CliRunner().invoke(main, ["--config", str(path), "doctor", "--sources"])
    assert f"through the proxy {proxy.url}" in result.output


def test_network_proxy_applies_to_every_source(
    tmp_path: Path, site: DemoSite, proxy: ForwardProxy
) -> None:
    path = write_config(
        tmp_path, sources=site_source(site, backfill=1), network=f'proxy = "{proxy.url}"'
    )
    run_once(load_config(path))
    assert stored_articles(tmp_path) == 10
    assert len(proxy.requests) == len(site.requests_log) == 11


def stored_articles(directory: Path) -> int:
    with sqlite3.connect(directory / "herald.db") as conn:
        return int(conn.execute("select count(*) from articles").fetchone()[0])
