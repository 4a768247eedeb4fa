"""A WebSub hub on 127.0.0.1 that takes publish pings the way public hubs do.

It accepts ``POST`` with ``application/x-www-form-urlencoded`` ``hub.mode=publish`` and one
``hub.url`` (an http(s) URL), answers 204, and refuses anything else with 400, as hubs such as
websub.rocks and pubsubhubbub.appspot.com do. ``fail_next(n)`` answers 503 to the next n pings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Ping:
    url: str
    content_type: str


class FakeHub:
    def __init__(self) -> None:
        self.pings: list[Ping] = []
        self.refused: list[str] = []
        self.failed = 0
        self._fail = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                kind = self.headers.get("Content-Type", "")
                self.send_response(hub.answer(kind, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def answer(self, content_type: str, body: str) -> int:
        fields = parse_qs(body, keep_blank_values=True)
        with self._lock:
            if self._fail > 0:
                self._fail -= 1
                self.failed += 1
                return 503
            urls = fields.get("hub.url", [])
            good = (
                content_type.split(";")[0].strip() == "application/x-www-form-urlencoded"
                and fields.get("hub.mode") == ["publish"]
                and len(urls) == 1
                and urls[0].startswith(("http://", "https://"))
            )
            if not good:
                self.refused.append(body)
                return 400
            self.pings.append(Ping(urls[0], content_type))
            return 204

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._fail = count

    def urls(self) -> list[str]:
        with self._lock:
            return [ping.url for ping in self.pings]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hub"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
