"""The SSRF guard against real servers on loopback: refused spellings reach no socket, redirect
hops are checked, the vetted address is pinned (DNS rebinding), and refusals are reported."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import sqlite3
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import site_source, webhook_subscriber, write_config
from tests.support.notify_helpers import post
from worker.config import ConfigError, load_config, parse_config
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


class CountingServer(ThreadingHTTPServer):
    """Answers 200 ``ok`` (or a redirect) and counts every TCP connection it accepts."""

    daemon_threads = True

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.connections = 0
        self.hosts: list[str] = []
        self.redirect_to = ""
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.server_address[0]}:{self.port}{path}"

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.lock:
            self.connections += 1
        return True

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hosts.append(self.headers.get("Host", ""))
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET


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


Answer = list[str]


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[Answer]]) -> list[str]:
    """Names in ``answers`` resolve to their next answer (the last one repeats); others are
    resolved for real. Returns the log of fake lookups."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, family: int = 0, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, family, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        result = []
        for ip in ips:
            if ipaddress.ip_address(ip).version == 6:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)))
        return result

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


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


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "words"),
    [
        ("169.254.169.254", "is a link-local address"),
        ("100.64.0.1", "is a shared (CGNAT) address"),
        ("10.1.2.3", "is a private address"),
        ("172.16.0.1", "is a private address"),
        ("192.168.1.1", "is a private address"),
        ("224.0.0.1", "is a multicast address"),
        ("0.0.0.0", "is the unspecified address"),
        ("0.1.2.3", "'this network'"),
        ("198.18.0.1", "is a benchmarking address"),
        ("192.0.2.1", "is a documentation address"),
        ("240.0.0.1", "is a reserved address"),
        ("255.255.255.255", "is the broadcast address"),
        ("::", "is the unspecified address"),
        ("::1", "is a loopback address"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("fd12:3456::1", "is a unique-local (private) address"),
        ("fe80::1", "is a link-local address"),
        ("fec0::1", "is a site-local address"),
        ("ff02::1", "is a multicast address"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1, a private address"),
        ("::ffff:0:7f00:1", "embeds 127.0.0.1, a loopback address"),  # IPv4-translated (SIIT)
        ("::ffff:0:a9fe:a9fe", "embeds 169.254.169.254, a link-local address"),
        ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254, a link-local address"),
        ("64:ff9b:1::808:808", "local-use NAT64"),
        ("2002:a9fe:a9fe::1", "embeds 169.254.169.254, a link-local address"),
        # Teredo: the client is the NOT of the last 32 bits (0xf5fffffe -> 10.0.0.1)
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "embeds 10.0.0.1, a private address"),
    ],
)
def test_refused_addresses(ip: str, words: str) -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_address(ip, Policy())
    assert words in str(caught.value) and HINT in str(caught.value)


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "::ffff:0:808:808",  # IPv4-translated 8.8.8.8
        "64:ff9b::808:808",  # DNS64 answers for IPv4-only sites
        "2002:808:808::1",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo client 8.8.8.8
    ],
)
def test_public_addresses_pass(ip: str) -> None:
    check_address(ip, Policy())


def test_allow_list_opens_networks_and_their_mapped_forms() -> None:
    policy = Policy.from_allow(["10.0.0.0/8", "fd00::/8"])
    for ip in ("10.1.2.3", "::ffff:10.1.2.3", "::ffff:0:a01:203", "fd00::5"):
        check_address(ip, policy)
    with pytest.raises(BlockedAddress):
        check_address("192.168.0.1", policy)


# --- the allow list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("10.1.2.3/8", "did you mean 10.0.0.0/8?"),
        ("10.0.0.0/33", "not a valid network"),
        ("fe80::/zz", "not a valid network"),
        ("http://intranet", "is a URL"),
        ("*.corp.example", "wildcards"),
        ("127.1", "unusual form"),
        ("0x7f000001", "unusual form"),
        ("", "empty entry"),
        ("bad host", "neither a network nor a host name"),
        ("-x.example", "neither a network nor a host name"),
        ("intranet:8080", "not a valid network"),
    ],
)
def test_bad_allow_entries_are_named(entry: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        Policy.from_allow(["192.168.0.0/16", entry])
    assert words in str(caught.value) and f"{entry!r}" in str(caught.value)


def test_allow_entries_are_normalized() -> None:
    policy = Policy.from_allow(["10.0.0.0/8", "::1", "Intranet.Example.", "bücher.example"])
    assert policy.hosts == {"intranet.example", "xn--bcher-kva.example"}
    assert [str(n) for n in policy.networks] == ["10.0.0.0/8", "::1/128"]
    assert policy.allows_host("INTRANET.example.")


def test_a_bad_allow_entry_stops_loading_the_config() -> None:
    with pytest.raises(ConfigError, match=r"network\.allow: .*did you mean 10\.0\.0\.0/8"):
        parse_config({"network": {"allow": ["10.1.2.3/8"]}})


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
