"""The SSRF guard against real servers on loopback: refused spellings reach no socket, redirect
hops are checked, the vetted address is pinned (DNS rebinding), and refusals are reported."""

from __future__ import annotations

import shutil
import sqlite3
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.counting import CountingServer, fake_dns
from tests.support.notify_helpers import post
from worker.config import load_config
from worker.demo.site import DemoSite
from worker.embedded import run_once
from worker.fetch import Fetcher, FetchError
from worker.netguard import (
    BlockedAddress,
    Policy,
    check_address,
    guarded_session,
    resolve_and_check,
)
from worker.notify import Outgoing, get_notifier
from worker.notify.webhook import WebhookNotifier

pytestmark = pytest.mark.timeout(30)

HINT = "(add it to [network] allow to permit)"


# --- servers that count connections ---------------------------------------------------------


@pytest.fixture()
def loopback() -> Iterator[CountingServer]:
    """The server an attacker wants to reach: 127.0.0.1, never allowed in these tests."""
    server = CountingServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture()
def public() -> Iterator[CountingServer]:
    """Stands in for a public site: 127.0.0.2, the only address ``PUBLIC`` allows."""
    server = CountingServer("127.0.0.2")
    yield server
    server.stop()


PUBLIC = Policy.from_allow(["127.0.0.2/32"])


def twin_servers() -> tuple[CountingServer, CountingServer]:
    """Servers on 127.0.0.2 and 127.0.0.1 listening on the SAME port (for one host name)."""
    for _ in range(20):
        allowed = CountingServer("127.0.0.2")
        try:
            return allowed, CountingServer("127.0.0.1", allowed.port)
        except OSError:
            allowed.stop()
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


# --- every spelling of loopback is refused before any socket opens --------------------------

SPELLINGS = [
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f.1:{port}/",
    "http://0x7f000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://127.000.000.001:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[::ffff:0:7f00:1]:{port}/",  # IPv4-translated (SIIT, RFC 2765)
    "http://localhost:{port}/",
    "http://LocalHost:{port}/",
    "http://evil.test:{port}/",  # a name whose DNS answer is 127.0.0.1
    "https://127.1:{port}/",
    "http://0:{port}/",  # 0.0.0.0 reaches the local host on Linux
]


@pytest.mark.parametrize("template", SPELLINGS)
def test_spellings_of_loopback_are_refused_by_the_fetcher(
    template: str, loopback: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"evil.test": [["127.0.0.1"]]})
    url = template.format(port=loopback.port)
    with (
        Fetcher(connect_timeout=2, read_timeout=2, deadline=5) as fetcher,
        pytest.raises(FetchError) as caught,
    ):
        fetcher.get(url)
    assert caught.value.reason == "blocked"
    assert "blocked: " in caught.value.detail and HINT in caught.value.detail
    assert "127.0.0.1" in caught.value.detail or "0.0.0.0" in caught.value.detail
    assert loopback.connections == 0


@pytest.mark.parametrize("template", SPELLINGS)
def test_spellings_of_loopback_are_refused_by_a_guarded_session(
    template: str, loopback: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"evil.test": [["127.0.0.1"]]})
    with guarded_session(Policy()) as session, pytest.raises(BlockedAddress) as caught:
        session.get(template.format(port=loopback.port), timeout=2)
    assert isinstance(caught.value, requests.ConnectionError)  # RequestException handlers see it
    assert str(caught.value).startswith("blocked: ")
    assert loopback.connections == 0


def test_the_reason_reads_plainly() -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_address("127.0.0.1", Policy())
    assert str(caught.value) == f"blocked: 127.0.0.1 is a loopback address {HINT}"
    with pytest.raises(BlockedAddress) as caught:
        resolve_and_check("0x7f.1", 80, Policy())
    assert str(caught.value) == f"blocked: 0x7f.1 resolves to 127.0.0.1, a loopback address {HINT}"


def test_allowed_address_is_reached_however_spelled(loopback: CountingServer) -> None:
    """The control: the counting server does count, and an allowed address passes."""
    policy = Policy.from_allow(["127.0.0.1"])
    with Fetcher(policy=policy) as fetcher:
        assert fetcher.get(f"http://127.1:{loopback.port}/").text == "ok"
        assert fetcher.get(f"http://localhost:{loopback.port}/").text == "ok"
    assert loopback.connections >= 1


def test_allowed_host_name_is_reached(loopback: CountingServer) -> None:
    with guarded_session(Policy.from_allow(["LOCALHOST"])) as session:
        assert session.get(f"http://localhost:{loopback.port}/", timeout=2).text == "ok"
        with pytest.raises(BlockedAddress):  # the name is allowed, not its address
            session.get(f"http://127.0.0.1:{loopback.port}/", timeout=2)
    assert loopback.connections == 1


# --- redirect hops ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/", "http://2130706433:{port}/x"])
def test_redirect_to_loopback_is_refused_at_the_hop(
    target: str, public: CountingServer, loopback: CountingServer
) -> None:
    public.redirect_to = target.format(port=loopback.port)
    with Fetcher(policy=PUBLIC) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.get(public.url("/start"))
    err = caught.value
    assert err.reason == "blocked"
    assert "127.0.0.1, a loopback address" in err.detail or "127.0.0.1 is a loopback" in err.detail
    assert f"after a redirect to {public.redirect_to}" in err.detail
    assert public.connections == 1 and loopback.connections == 0


def test_redirect_within_allowed_addresses_is_followed(public: CountingServer) -> None:
    second = CountingServer("127.0.0.2")
    try:
        public.redirect_to = second.url("/final")
        with Fetcher(policy=PUBLIC) as fetcher:
            result = fetcher.get(public.url("/start"))
        assert result.text == "ok" and result.url == second.url("/final")
    finally:
        second.stop()


def test_webhook_send_does_not_follow_a_redirect(
    public: CountingServer, loopback: CountingServer
) -> None:
    public.redirect_to = loopback.url("/")
    request = Outgoing(url=public.url("/hook"), body=b"{}", headers={})
    outcome = post(WebhookNotifier(), request, timeout=2, policy=PUBLIC)
    assert (outcome.status, outcome.http_status) == ("failed", 302)
    assert "not followed" in outcome.error
    assert loopback.connections == 0


# --- pinning -----------------------------------------------------------------------------------


def test_dns_rebinding_connects_only_to_the_vetted_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allowed, blocked = twin_servers()
    try:
        lookups = fake_dns(monkeypatch, {"rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
        url = f"http://rebind.test:{allowed.port}/"
        with guarded_session(PUBLIC) as session:
            assert session.get(url, timeout=2).text == "ok"
            assert session.get(url, timeout=2).text == "ok"  # the pooled, vetted connection
        assert lookups == ["rebind.test"]  # resolved once: checked and connected alike
        assert allowed.hosts == [f"rebind.test:{allowed.port}"] * 2  # Host header kept
        with guarded_session(PUBLIC) as session, pytest.raises(BlockedAddress) as caught:
            session.get(url, timeout=2)  # a new connection sees the new answer: refused
        assert "rebind.test resolves to 127.0.0.1, a loopback address" in str(caught.value)
        assert allowed.connections == 1 and blocked.connections == 0
    finally:
        allowed.stop()
        blocked.stop()


def test_a_name_with_any_refused_address_is_refused_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allowed, blocked = twin_servers()
    try:
        fake_dns(monkeypatch, {"mixed.test": [["127.0.0.2", "127.0.0.1"]]})
        with Fetcher(policy=PUBLIC) as fetcher, pytest.raises(FetchError) as caught:
            fetcher.get(f"http://mixed.test:{allowed.port}/")
        assert caught.value.reason == "blocked"
        assert allowed.connections == 0 and blocked.connections == 0
    finally:
        allowed.stop()
        blocked.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_keeps_the_host_name_for_sni_and_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=pinned.test", "-addext", "subjectAltName=DNS:pinned.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    seen_sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment,misc,return-value]
    server = CountingServer("127.0.0.2")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    try:
        fake_dns(monkeypatch, {"pinned.test": [["127.0.0.2"]]})
        with guarded_session(PUBLIC) as session:
            reply = session.get(f"https://pinned.test:{server.port}/", timeout=5, verify=str(cert))
        assert reply.text == "ok"
        assert seen_sni == ["pinned.test"] and server.hosts == [f"pinned.test:{server.port}"]
    finally:
        server.stop()


# --- notifiers: a permanent failure naming the reason -------------------------------------------


def test_chat_post_to_a_refused_address_fails_for_good(loopback: CountingServer) -> None:
    url = f"http://0x7f.1:{loopback.port}/cgi-bin/webhook/send?key=SECRET-KEY"
    outcome = post(get_notifier("wecom"), Outgoing(url, b"{}", {}), timeout=2, policy=Policy())
    assert outcome.status == "failed" and outcome.http_status is None
    assert "blocked: 0x7f.1 resolves to 127.0.0.1, a loopback address" in outcome.error
    assert "SECRET-KEY" not in outcome.error
    assert loopback.connections == 0


def test_webhook_subscriber_on_a_refused_address_ends_failed(
    tmp_path: Path, site: DemoSite, public: CountingServer
) -> None:
    """The suite's config allows 127.0.0.1 (the demo site) only: 127.0.0.2 is refused."""
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1, notify_existing=True),
        subscribers=webhook_subscriber(public.url("/hook")),
    )
    summary = run_once(load_config(path))
    with sqlite3.connect(tmp_path / "herald.db") as conn:
        rows = conn.execute("select status, attempts, last_error from deliveries").fetchall()
    assert len(rows) == 10 and summary.deliveries == {"failed": 10}
    for status, attempts, error in rows:
        assert (status, attempts) == ("failed", 1)
        assert f"blocked: 127.0.0.2 is a loopback address {HINT}" in error
    assert public.connections == 0
