"""The concurrent sender: the SSRF guard on every spelling, no redirects followed, per-endpoint
lanes, a hanging endpoint costing only its own slot, and held rows after a retry answer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.test_netguard import (
    PUBLIC,
    SPELLINGS,
    CountingServer,
    fake_dns,
    loopback,  # noqa: F401  (fixture)
    public,  # noqa: F401  (fixture)
)
from worker.notify import Outgoing
from worker.sendmany import RawReply, send_many

pytestmark = pytest.mark.timeout(60)


def _post(url: str) -> Outgoing:
    return Outgoing(url, b"{}", {"content-type": "application/json"})


@pytest.mark.parametrize("template", SPELLINGS)
def test_every_spelling_of_loopback_is_refused_with_no_connection(
    template: str, loopback: CountingServer, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    fake_dns(monkeypatch, {"evil.test": [["127.0.0.1"]]})
    replies, held = send_many([(1, _post(template.format(port=loopback.port)))],
                              policy=PUBLIC, timeout=5)  # fmt: skip
    assert held == [] and replies[1].status is None
    assert replies[1].problem == "blocked", replies[1]
    assert "blocked" in replies[1].error
    assert loopback.connections == 0


def test_a_redirect_to_loopback_is_not_followed(
    public: CountingServer,  # noqa: F811
    loopback: CountingServer,  # noqa: F811
) -> None:
    public.redirect_to = loopback.url("/")
    replies, _ = send_many([(1, _post(public.url("/hook")))], policy=PUBLIC, timeout=5)
    assert replies[1].status == 302 and public.connections == 1
    assert loopback.connections == 0


@pytest.fixture()
def hanging() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.2", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.2:{sock.getsockname()[1]}/hook"
    stop.set()
    for conn in accepted:
        conn.close()
    sock.close()


class _ReadingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class BusyServer(CountingServer):
    """Reads request bodies (so keep-alive works) and takes fifty connections at once."""

    request_queue_size = 128

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.RequestHandlerClass = _ReadingHandler


@pytest.fixture()
def busy() -> Iterator[CountingServer]:
    server = BusyServer("127.0.0.2")
    yield server
    server.stop()


def test_a_hanging_endpoint_costs_its_own_slot_only(busy: CountingServer, hanging: str) -> None:
    items = [(f"hang-{i}", _post(hanging)) for i in range(5)]
    items += [(f"ok-{i}", _post(busy.url(f"/h/{i}"))) for i in range(50)]
    started = time.monotonic()
    replies, held = send_many(
        items, policy=PUBLIC, timeout=1.5, per_endpoint=2,
        stop_after=lambda reply: reply.status is None or reply.status >= 500,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert all(replies[f"ok-{i}"].status == 200 for i in range(50)), [
        r for k, r in replies.items() if k.startswith("ok") and r.status != 200
    ][:3]
    assert all(replies[f"ok-{i}"].latency_ms < 1000 for i in range(50))  # not behind the hang
    timed_out = [k for k, r in replies.items() if k.startswith("hang") and r.problem == "timeout"]
    assert len(timed_out) == 2 and sorted(held) == ["hang-2", "hang-3", "hang-4"]
    assert 1.4 < elapsed < 3.0  # one timeout (two lanes in parallel), not five in a row


def test_at_most_two_requests_in_flight_per_endpoint(busy: CountingServer) -> None:
    replies, held = send_many(
        [(i, _post(busy.url("/same"))) for i in range(20)], policy=PUBLIC, timeout=5,
        per_endpoint=2, in_flight=64,
    )  # fmt: skip
    assert held == [] and all(isinstance(r, RawReply) and r.status == 200 for r in replies.values())
    assert busy.connections <= 2  # two lanes, each reusing its keep-alive connection
