"""A real Standard Webhooks receiver on 127.0.0.1 for ``herald demo`` and the test-suite.

It verifies signatures with ``worker.notify.webhook.verify`` when given a secret, records the
accepted messages, counts duplicates by ``webhook-id`` and can be told to fail the next
requests. It must not be used as a production endpoint and must not send anything itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from worker.notify.webhook import WebhookVerificationError, decode_secret, verify

MAX_BODY_BYTES = 1024 * 1024
POLL_INTERVAL = 0.05


@dataclass
class Received:
    """One accepted webhook message."""

    webhook_id: str
    timestamp: int
    payload: dict[str, Any]
    path: str
    received_at: float


@dataclass
class Failure:
    """A forced reply for the next requests (see ``WebhookReceiver.fail_next``)."""

    remaining: int
    status: int
    retry_after: str | None


class WebhookReceiver:
    """A threaded HTTP server that accepts Standard Webhooks POSTs on any path."""

    def __init__(
        self,
        *,
        secret: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        echo: Callable[[Received], None] | None = None,
    ) -> None:
        if secret:
            decode_secret(secret)
        self.secret = secret
        self.host = host
        self.port = port
        self.echo = echo
        self.received: list[Received] = []
        self.rejected = 0
        self._duplicates = 0
        self._seen: set[str] = set()
        self._failure: Failure | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url = ""

    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL."""
        if self._server is not None:
            raise RuntimeError("receiver: already started")
        server = ThreadingHTTPServer((self.host, self.port), make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str = "/hook") -> str:
        """Return the full URL of ``path`` on this receiver (after ``start``)."""
        if not self._base_url:
            raise RuntimeError("receiver: not started")
        return self._base_url + (path if path.startswith("/") else "/" + path)

    def messages(self) -> list[Received]:
        """Return a copy of the accepted messages in arrival order."""
        with self._lock:
            return list(self.received)

    def unique_ids(self) -> set[str]:
        """Return the distinct webhook ids accepted so far."""
        with self._lock:
            return set(self._seen)

    def duplicates(self) -> int:
        """Return how many accepted deliveries repeated an already seen webhook id."""
        with self._lock:
            return self._duplicates

    def fail_next(self, n: int, status: int = 500, retry_after: str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (and Retry-After) without recording."""
        with self._lock:
            self._failure = Failure(n, status, retry_after) if n > 0 else None

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` distinct ids were accepted; return whether that happened."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._seen) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def take_failure(self) -> Failure | None:
        """Consume one forced failure, if any is pending."""
        with self._lock:
            failure = self._failure
            if failure is None:
                return None
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failure = None
            return failure

    def count_rejected(self) -> None:
        """Count one refused request."""
        with self._lock:
            self.rejected += 1

    def accept(self, message: Received) -> None:
        """Record one accepted message and wake waiters."""
        with self._arrived:
            if message.webhook_id in self._seen:
                self._duplicates += 1
            self._seen.add(message.webhook_id)
            self.received.append(message)
            self._arrived.notify_all()

    def check_message(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[str, int, dict[str, Any]]:
        """Return (id, timestamp, payload) of a valid message; raise ValueError otherwise."""
        if self.secret:
            verify(self.secret, headers, body)
        webhook_id = headers.get("webhook-id", "").strip()
        if not webhook_id:
            raise WebhookVerificationError("receiver: missing header webhook-id")
        try:
            timestamp = int(headers.get("webhook-timestamp", ""))
        except ValueError as exc:
            raise WebhookVerificationError("receiver: bad webhook-timestamp") from exc
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"receiver: body is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise ValueError("receiver: body is not a JSON object")
        return webhook_id, timestamp, payload


def make_handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to ``receiver``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "herald-demo-receiver"
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.read_body()
            if body is None:
                return
            failure = receiver.take_failure()
            if failure is not None:
                extra = {"retry-after": failure.retry_after} if failure.retry_after else {}
                self.reply(failure.status, {"ok": False, "error": "forced failure"}, extra)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                webhook_id, timestamp, payload = receiver.check_message(headers, body)
            except WebhookVerificationError as exc:
                receiver.count_rejected()
                self.reply(401, {"ok": False, "error": str(exc)})
                return
            except ValueError as exc:
                receiver.count_rejected()
                self.reply(400, {"ok": False, "error": str(exc)})
                return
            message = Received(webhook_id, timestamp, payload, self.path, time.time())
            receiver.accept(message)
            self.reply(200, {"ok": True})
            if receiver.echo is not None:
                receiver.echo(message)

        def do_GET(self) -> None:
            self.reply(405, {"ok": False, "error": "POST only"}, {"allow": "POST"})

        def read_body(self) -> bytes | None:
            try:
                length = int(self.headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                receiver.count_rejected()
                self.close_connection = True
                self.reply(413, {"ok": False, "error": "bad or too large content-length"})
                return None
            return self.rfile.read(length)

        def reply(
            self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            self.send_response(status)
            self.send_header("content-type", "application/json; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
