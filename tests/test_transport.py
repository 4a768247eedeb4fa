"""The delivery transport: the SSRF guard on every spelling, no redirects followed, per-endpoint
lanes, a hanging endpoint costing only its own slot, rows held back after a retry answer, and
whatever an endpoint sends back (headers, charsets, bodies) becoming a reply, never an error."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.support.hostile import ScriptedEndpoint, StatusEndpoint
from tests.support.notify_helpers import LOOPBACK
from tests.support.notify_helpers import TEST_USER_AGENT as UA
from tests.test_netguard import (
    PUBLIC,
    SPELLINGS,
    CountingServer,
    fake_dns,
    loopback,  # noqa: F401  (fixture)
    public,  # noqa: F401  (fixture)
)
from worker.notify import Outgoing, Reply, get_notifier
from worker.notify.transport import Send, send_all

pytestmark = pytest.mark.timeout(60)


def _post(url: str) -> Outgoing:
    return Outgoing(url, b"{}", {"content-type": "application/json"})


def send_many(
    items: list[tuple[Any, Outgoing]],
    *,
    lanes: int = 2,
    stop_after: Callable[[Reply], bool] = lambda reply: False,
    **options: Any,
) -> tuple[dict[Any, Reply], list[Any]]:
    """Send ``(key, request)`` pairs, an endpoint per URL; the replies by key and the unsent."""
    replies: dict[Any, Reply] = {}

    def on_reply(key: Any, reply: Reply) -> bool:
        replies[key] = reply
        return stop_after(reply)

    sends = [Send(key, request.url, request, lanes=lanes) for key, request in items]
    unsent = send_all(sends, on_reply=on_reply, **{"user_agent": UA, **options})
    return replies, unsent


@pytest.mark.parametrize("template", SPELLINGS)
def test_every_spelling_of_loopback_is_refused_with_no_connection(
    template: str,
    loopback: CountingServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
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
    assert replies[1].location == loopback.url("/")
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
        items, policy=PUBLIC, timeout=1.5, lanes=2,
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
        lanes=2, in_flight=64,
    )  # fmt: skip
    assert held == [] and all(isinstance(r, Reply) and r.status == 200 for r in replies.values())
    assert busy.connections <= 2  # two lanes, each reusing its keep-alive connection


# --- whatever comes back is a reply --------------------------------------------------------


def _reply_from(raw: bytes, **options: Any) -> Reply:
    with ScriptedEndpoint(raw, **options) as endpoint:
        replies, unsent = send_many([(1, _post(endpoint.url()))], policy=LOOPBACK, timeout=2)
    assert unsent == []
    return replies[1]


def test_an_unknown_charset_is_read_as_utf8() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=no-such\r\n"
    raw += b"Content-Length: 6\r\n\r\n\xe5\xa5\xbdok\r\n"
    reply = _reply_from(raw)
    assert (reply.status, reply.text.strip()) == (200, "好ok")


def test_a_status_that_came_is_kept_when_the_body_is_too_slow() -> None:
    """The endpoint answered 200 and then dripped its body past the timeout: that is a reply
    (a retry would send the message twice), not a timeout."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    reply = _reply_from(head + b"x" * 100, at_once=len(head), pieces=50, pause=0.2)
    assert reply.status == 200 and reply.problem == ""


def test_huge_and_odd_headers_are_cut_not_trusted() -> None:
    raw = b"HTTP/1.1 503 Busy\r\nRetry-After: " + b"9" * 5000 + b"\r\n"
    raw += b"Location: http://x/" + b"a" * 5000 + b"\r\nContent-Length: 0\r\n\r\n"
    reply = _reply_from(raw)
    assert reply.status == 503
    assert reply.retry_after is not None and len(reply.retry_after) <= 1000
    assert reply.location is not None and len(reply.location) <= 1000


def test_garbage_instead_of_http_is_no_reply() -> None:
    reply = _reply_from(b"\x00\xff garbage \r\n\r\n")
    assert reply.status is None and reply.problem in ("connection", "error")


def test_a_refusing_gate_and_a_deadline_hold_requests_back(busy: CountingServer) -> None:
    items = [(i, _post(busy.url(f"/h/{i}"))) for i in range(6)]
    replies, unsent = send_many(items, policy=PUBLIC, timeout=5, may_start=lambda key: key % 2 == 0)
    assert sorted(replies) == [0, 2, 4] and sorted(unsent) == [1, 3, 5]
    replies, unsent = send_many(items, policy=PUBLIC, timeout=5, deadline=time.monotonic())
    assert replies == {} and sorted(unsent) == list(range(6))


def test_one_lane_keeps_order_and_waits_its_turn(busy: CountingServer) -> None:
    order: list[int] = []

    def on_reply(key: int, reply: Reply) -> bool:
        order.append(key)
        return False

    url = busy.url("/chat")
    sends = [Send(i, "chat", _post(url), lanes=1, not_before=0.1 * i) for i in range(5)]
    started = time.monotonic()
    assert send_all(sends, policy=PUBLIC, timeout=5, user_agent=UA, on_reply=on_reply) == []
    assert order == [0, 1, 2, 3, 4] and time.monotonic() - started >= 0.4


def test_a_stop_sends_the_waiting_requests_back_at_once(busy: CountingServer) -> None:
    """A worker shutting down: the request in flight is answered, the ones waiting for their
    platform's window (seconds away) come back unsent at once, not when their turn comes."""
    stop = threading.Event()
    order: list[int] = []

    def on_reply(key: int, reply: Reply) -> bool:
        order.append(key)
        stop.set()  # the shutdown comes while the first request is out
        return False

    url = busy.url("/chat")
    sends = [Send(i, "chat", _post(url), lanes=1, not_before=3.0 * i) for i in range(4)]
    started = time.monotonic()
    unsent = send_all(sends, policy=PUBLIC, timeout=5, user_agent=UA, on_reply=on_reply, stop=stop)
    assert order == [0] and sorted(unsent) == [1, 2, 3]
    assert time.monotonic() - started < 1.5


def test_a_callback_that_raises_stops_every_lane(busy: CountingServer) -> None:
    calls: list[int] = []

    def on_reply(key: int, reply: Reply) -> bool:
        calls.append(key)
        raise RuntimeError("recording failed")

    sends = [Send(i, "one", _post(busy.url("/x")), lanes=1) for i in range(5)]
    with pytest.raises(RuntimeError):
        send_all(sends, policy=PUBLIC, timeout=5, user_agent=UA, on_reply=on_reply)
    assert calls == [0]


def test_a_reply_in_several_segments_is_read_whole() -> None:
    """A platform's JSON verdict split across TCP segments is read to its end: judged on half
    of ``{"errcode":0,"errmsg":"ok"}`` a delivered message would be sent again."""
    body = b'{"errcode":0,"errmsg":"ok"}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    reply = _reply_from(head + body, at_once=len(head) + 5, pieces=3, pause=0.1)
    assert reply.text == body.decode()
    assert get_notifier("wecom").classify(reply).status == "delivered"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_certificate_that_does_not_verify_is_retried_not_failed(tmp_path: Path) -> None:
    """An expired or self-signed certificate may be fixed within the hour: a retry."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = CountingServer("127.0.0.1")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    try:
        replies, _ = send_many(
            [(1, _post(f"https://127.0.0.1:{server.port}/hook"))], policy=LOOPBACK, timeout=5
        )
    finally:
        server.stop()
    assert replies[1].problem == "connection", replies[1]
    assert get_notifier("webhook").classify(replies[1]).status == "retry"


def test_a_slot_is_held_before_the_gate_is_asked(busy: CountingServer) -> None:
    """With one request in flight in all, the second row is asked about only once the first
    has its reply: a lease checked before a long wait for a slot proves nothing."""
    events: list[str] = []

    def may_start(key: int) -> bool:
        events.append(f"ask {key}")
        return True

    def on_reply(key: int, reply: Reply) -> bool:
        events.append(f"reply {key}")
        return False

    sends = [Send(i, f"e{i}", _post(busy.url(f"/{i}"))) for i in range(2)]
    send_all(
        sends,
        policy=PUBLIC,
        timeout=5,
        user_agent=UA,
        in_flight=1,
        on_reply=on_reply,
        may_start=may_start,
    )
    assert events in (
        ["ask 0", "reply 0", "ask 1", "reply 1"],
        ["ask 1", "reply 1", "ask 0", "reply 0"],
    )


def test_not_yet_waits_for_the_gate_instead_of_giving_the_row_back(busy: CountingServer) -> None:
    answers = iter([None, None, None, True])
    replies, unsent = send_many(
        [(0, _post(busy.url("/x")))], policy=PUBLIC, timeout=5,
        may_start=lambda key: next(answers),
    )  # fmt: skip
    assert unsent == [] and replies[0].status == 200


def test_a_paced_lane_keeps_its_gap_after_a_slow_reply() -> None:
    """Rows planned 0.3 s apart on one lane: when the first reply takes 0.6 s, the second
    still waits 0.3 s after it (a platform's window counts sends, not plans)."""
    slow = StatusEndpoint(200, body=b"{}", delay=(0.6, 0.6)).start()
    try:
        sends = [
            Send(i, "chat", _post(slow.url("/c")), lanes=1, not_before=0.3 * i) for i in (0, 1)
        ]
        send_all(
            sends, policy=LOOPBACK, timeout=5, user_agent=UA, on_reply=lambda key, reply: False
        )
    finally:
        slow.stop()
    first, second = (hit.at for hit in slow.hits)
    assert second - first >= 0.6 + 0.3 - 0.05


class _CookieHandler(_ReadingHandler):
    """Sets a cookie on every reply and notes the Cookie header each request brought."""

    def do_POST(self) -> None:
        self.server.cookies.append(self.headers.get("Cookie", ""))  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Set-Cookie", "session=from-the-endpoint; Path=/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_an_endpoints_cookie_is_never_sent_back() -> None:
    """A receiver's ``Set-Cookie`` is not kept: neither it nor the next endpoint on the same
    host ever sees it on a later request (over the same kept connection and session)."""
    server = BusyServer("127.0.0.1")
    server.RequestHandlerClass = _CookieHandler
    server.cookies = []  # type: ignore[attr-defined]
    try:
        for _ in range(2):  # a second call reuses this thread's session
            url = f"http://localhost:{server.port}/h/"  # a name: cookies are kept for names
            items = [(i, _post(f"{url}{i % 2}")) for i in range(6)]
            replies, unsent = send_many(items, lanes=1, policy=LOOPBACK, timeout=5)
            assert len(replies) == 6 and unsent == []
        assert server.cookies == [""] * 12  # type: ignore[attr-defined]
    finally:
        server.stop()


class _HoldingHandler(_ReadingHandler):
    """Holds each request 0.3 s and notes how many were being served at once."""

    def do_POST(self) -> None:
        server: Any = self.server
        with server.lock:
            server.now += 1
            server.most = max(server.most, server.now)
        time.sleep(0.3)
        with server.lock:
            server.now -= 1
        super().do_POST()


def test_in_flight_bounds_the_whole_process_not_each_batch() -> None:
    """Three batches sent at once from three threads (as a worker's threads do) share one
    ``in_flight``: the endpoints never see more than that many requests at a time."""
    server: Any = BusyServer("127.0.0.2")
    server.RequestHandlerClass = _HoldingHandler
    server.now = server.most = 0
    results: list[tuple[dict[Any, Reply], list[Any]]] = []

    def batch(n: int) -> None:
        items = [((n, i), _post(server.url(f"/h/{n}/{i}"))) for i in range(8)]
        results.append(send_many(items, policy=PUBLIC, timeout=10, in_flight=4))

    try:
        threads = [threading.Thread(target=batch, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert [len(replies) for replies, _ in results] == [8, 8, 8]
        assert all(unsent == [] for _, unsent in results)
        assert server.most == 4  # 12 at once if each batch had its own four
    finally:
        server.stop()


def test_an_endpoints_lanes_hold_across_batches() -> None:
    """Three batches at once, each with requests to the same endpoint: it never sees more
    than its two lanes, though each batch alone would stay within them."""
    server: Any = BusyServer("127.0.0.2")
    server.RequestHandlerClass = _HoldingHandler
    server.now = server.most = 0
    results: list[tuple[dict[Any, Reply], list[Any]]] = []

    def batch(n: int) -> None:
        items = [((n, i), _post(server.url("/same"))) for i in range(3)]
        results.append(send_many(items, policy=PUBLIC, timeout=10, lanes=2))

    try:
        threads = [threading.Thread(target=batch, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(len(replies) for replies, _ in results) == [3, 3, 3]
        assert server.most == 2  # 6 at once if each batch had its own two lanes
    finally:
        server.stop()
