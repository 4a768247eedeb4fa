"""Hostile webhook endpoints on 127.0.0.1: a fixed status, a hang, a one-byte-a-second drip.

``StatusEndpoint`` answers every POST with one status (and headers such as Retry-After),
after a delay when asked.
``HangingEndpoint`` accepts the connection, reads the request and never answers.
``DrippingEndpoint`` reads the request, then writes a valid 200 reply one byte a second.
``ScriptedEndpoint`` answers with any raw bytes at all, in pieces, at any pace.
Every connection is recorded with when it was accepted and when the client hung up, so a test
can tell when the sender gave up. The raw endpoints stop on their own after ``limit`` seconds
(a test must stay bounded even when the sender never gives up). Never a production server.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Connection:
    """One connection to a raw endpoint (wall-clock times, ``time.time()``)."""

    accepted_at: float
    request: bytes = b""
    sent: int = 0  # reply bytes written
    client_closed_at: float | None = None  # the client hung up
    server_closed_at: float | None = None  # the endpoint gave up first (``limit``)

    @property
    def held_for(self) -> float:
        """Seconds the client kept the connection open."""
        end = self.client_closed_at or self.server_closed_at or time.time()
        return end - self.accepted_at


class RawEndpoint:
    """A TCP server running ``serve`` in a thread per connection."""

    def __init__(self, *, limit: float = 30.0) -> None:
        self.limit = limit
        self.connections: list[Connection] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._threads: list[threading.Thread] = []

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> RawEndpoint:
        thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> RawEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def records(self) -> list[Connection]:
        with self._lock:
            return list(self.connections)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            record = Connection(accepted_at=time.time())
            with self._lock:
                self.connections.append(record)
            thread = threading.Thread(target=self._run, args=(conn, record), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, conn: socket.socket, record: Connection) -> None:
        try:
            record.request = read_request(conn)
            self.serve(conn, record)
        except OSError:
            if record.client_closed_at is None:
                record.client_closed_at = time.time()
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def serve(self, conn: socket.socket, record: Connection) -> None:
        raise NotImplementedError

    def wait_closed(self, conn: socket.socket, record: Connection, seconds: float) -> bool:
        """Wait up to ``seconds`` for the client to hang up; True if it did (recorded)."""
        readable, _, _ = select.select([conn], [], [], max(0.0, seconds))
        if readable and conn.recv(4096) == b"":
            record.client_closed_at = time.time()
            return True
        return False

    def over(self, record: Connection) -> bool:
        """The endpoint's own limit is up (or it is being stopped): it closes the connection."""
        if self._stopping.is_set() or time.time() - record.accepted_at >= self.limit:
            record.server_closed_at = time.time()
            return True
        return False


class HangingEndpoint(RawEndpoint):
    """Reads the request and never answers (until the client hangs up or ``limit``)."""

    def serve(self, conn: socket.socket, record: Connection) -> None:
        while not self.over(record):
            if self.wait_closed(conn, record, 0.1):
                return


DRIP_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    + b'{"ok":true,"note":"every byte of this reply took a second..."}  '
)


class DrippingEndpoint(RawEndpoint):
    """Writes a valid 200 reply one byte every ``interval`` seconds (until the client hangs up
    or ``limit``; the whole reply would take ``len(DRIP_REPLY)`` seconds)."""

    def __init__(self, *, interval: float = 1.0, limit: float = 30.0) -> None:
        super().__init__(limit=limit)
        self.interval = interval

    def serve(self, conn: socket.socket, record: Connection) -> None:
        for index in range(len(DRIP_REPLY)):
            if self.over(record):
                return
            conn.sendall(DRIP_REPLY[index : index + 1])
            record.sent += 1
            if self.wait_closed(conn, record, self.interval):
                return
        self.wait_closed(conn, record, 1.0)


class ScriptedEndpoint(RawEndpoint):
    """Answers every request with ``reply``, raw bytes (any status line, headers and body): its
    first ``at_once`` bytes at once, the rest in ``pieces`` parts ``pause`` seconds apart."""

    def __init__(
        self,
        reply: bytes,
        *,
        at_once: int = 0,
        pieces: int = 1,
        pause: float = 0.0,
        limit: float = 30.0,
    ) -> None:
        super().__init__(limit=limit)
        self.reply, self.at_once, self.pieces, self.pause = reply, at_once, max(1, pieces), pause

    def serve(self, conn: socket.socket, record: Connection) -> None:
        head, rest = self.reply[: self.at_once], self.reply[self.at_once :]
        size = -(-len(rest) // self.pieces) or 1
        parts = [head] + [rest[start : start + size] for start in range(0, len(rest), size)]
        for part in parts:
            if self.over(record):
                return
            conn.sendall(part)
            record.sent += len(part)
            if self.pause and self.wait_closed(conn, record, self.pause):
                return


def read_request(conn: socket.socket, timeout: float = 5.0) -> bytes:
    """The request head and its Content-Length body (or what came within ``timeout``)."""
    conn.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    conn.settimeout(None)
    return head + b"\r\n\r\n" + body


# --------------------------------------------------------------------------------------------


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class StatusEndpoint:
    """Answers every POST with ``status`` (and ``headers``), recording each request."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":false}'
    hits: list[Hit] = field(default_factory=list)
    delay: tuple[float, float] = (0.0, 0.0)  # seconds before answering, drawn from this range
    _server: ThreadingHTTPServer | None = None

    def start(self) -> StatusEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                endpoint.hits.append(Hit(self.path, headers, body, time.time()))
                time.sleep(random.uniform(*endpoint.delay))
                self.send_response(endpoint.status)
                for name, value in endpoint.headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(endpoint.body)))
                self.end_headers()
                self.wfile.write(endpoint.body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._server = server
        return self

    def url(self, path: str = "/hook") -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
