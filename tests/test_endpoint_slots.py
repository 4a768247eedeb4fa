"""One endpoint, one budget: at most ``per_endpoint`` requests in flight to an endpoint across
every batch and every worker process — a Redis semaphore on the broker, a lock in the embedded
default. A real endpoint on 127.0.0.1 counts the requests it holds at once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import LOOPBACK_ALLOW
from worker.endpointslots import KEY_PREFIX, LocalSlots, RedisSlots, endpoint_key, slots_for

HOLD = 0.15  # seconds the endpoint holds each request


class GaugedEndpoint(ThreadingHTTPServer):
    """Answers every POST after ``HOLD`` seconds and notes the most requests it held at once."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.now = self.most = self.total = 0
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GaugedEndpoint

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.now += 1
            self.server.total += 1
            self.server.most = max(self.server.most, self.server.now)
        time.sleep(HOLD)
        with self.server.lock:
            self.server.now -= 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture()
def endpoint() -> Iterator[GaugedEndpoint]:
    server = GaugedEndpoint()
    yield server
    server.shutdown()
    server.server_close()


SENDER = """
import sys
from worker.endpointslots import slots_for
from worker.netguard import Policy
from worker.notify import Outgoing
from worker.notify.transport import Send, send_all

url, broker, count, shared = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
sends = [Send(i, url, Outgoing(url, b"{}", {"content-type": "application/json"}), lanes=2)
         for i in range(count)]
replies = []
unsent = send_all(sends, policy=Policy.from_allow(sys.argv[5:]), timeout=10, user_agent="t",
                  on_reply=lambda key, reply: replies.append(reply.status) and False,
                  slots=slots_for(broker, 20.0) if shared else None)
assert unsent == [] and replies == [200] * count, (unsent, replies)
"""


def run_senders(url: str, broker: str, *, processes: int, shared: bool) -> None:
    """``processes`` worker-like processes, each one batch of 8 requests with 2 lanes."""
    argv = [url, broker, "8", "1" if shared else "0", *LOOPBACK_ALLOW]
    running = [subprocess.Popen([sys.executable, "-c", SENDER, *argv]) for _ in range(processes)]
    assert [p.wait(timeout=60) for p in running] == [0] * processes


def test_worker_processes_share_the_endpoints_budget(
    endpoint: GaugedEndpoint, redis_url: str
) -> None:
    run_senders(endpoint.url(), redis_url, processes=3, shared=False)
    alone = endpoint.most
    assert alone > 2  # each batch keeps its own two lanes: together they exceed the budget
    endpoint.most = endpoint.total = 0
    run_senders(endpoint.url(), redis_url, processes=3, shared=True)
    assert endpoint.total == 24
    assert endpoint.most == 2  # the budget holds across processes


def test_the_redis_semaphore_takes_gives_back_and_expires(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    slots = RedisSlots(client, ttl=0.3)
    assert slots.acquire("https://a.example/hook?key=SECRET", 2, "a")
    assert slots.acquire("https://a.example/hook?key=SECRET", 2, "b")
    assert not slots.acquire("https://a.example/hook?key=SECRET", 2, "c")
    assert slots.acquire("https://b.example/hook", 2, "c")  # another endpoint, its own budget
    slots.release("https://a.example/hook?key=SECRET", "a")
    assert slots.acquire("https://a.example/hook?key=SECRET", 2, "c")
    assert not any(b"SECRET" in key for key in client.keys(f"{KEY_PREFIX}*"))
    assert client.exists(KEY_PREFIX + endpoint_key("https://a.example/hook?key=SECRET"))
    time.sleep(0.4)  # a worker that died holding slots: they expire
    assert slots.acquire("https://a.example/hook?key=SECRET", 2, "d")
    assert slots.acquire("https://a.example/hook?key=SECRET", 2, "e")


def test_the_embedded_default_counts_in_this_process() -> None:
    slots = slots_for("", 0.2)
    assert isinstance(slots, LocalSlots) and slots_for("", 0.2) is slots
    assert slots.acquire("e", 1, "a") and not slots.acquire("e", 1, "b")
    slots.release("e", "a")
    assert slots.acquire("e", 1, "b")
    time.sleep(0.25)
    assert slots.acquire("e", 1, "c")  # "b" expired
