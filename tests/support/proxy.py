"""A small forward proxy on 127.0.0.1 for tests: absolute-form requests and CONNECT tunnels.

It records every request line it receives (``GET http://host:port/path``, ``CONNECT host:port``)
and the ``Proxy-Authorization`` header, checks credentials when ``credentials`` is set (407
otherwise, as a real proxy answers), and relays bytes to the target. It must not be used outside
the test suite.
"""

from __future__ import annotations

import base64
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

RELAY_CHUNK = 65536


class ForwardProxy(ThreadingHTTPServer):
    """Listens on 127.0.0.1; ``requests`` holds the request lines seen, in order."""

    daemon_threads = True

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.credentials = credentials
        self.requests: list[str] = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ForwardProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _authorised(self) -> bool:
        with self.server.lock:
            self.server.requests.append(f"{self.command} {self.path}")
        expected = self.server.credentials
        if expected is None:
            return True
        token = base64.b64encode(f"{expected[0]}:{expected[1]}".encode()).decode()
        if self.headers.get("Proxy-Authorization", "") == f"Basic {token}":
            return True
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_CONNECT(self) -> None:
        if not self._authorised():
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=5)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self._relay(upstream)

    def _forward(self) -> None:
        if not self._authorised():
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self.send_error(400, "absolute http:// URI expected")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = f"?{target.query}" if target.query else ""
        lines = [f"{self.command} {target.path or '/'}{query} HTTP/1.1"]
        for name, value in self.headers.items():
            if name.lower() not in ("proxy-authorization", "proxy-connection", "connection"):
                lines.append(f"{name}: {value}")
        lines.append("Connection: close")
        try:
            upstream = socket.create_connection((target.hostname, target.port or 80), timeout=5)
        except OSError:
            self.send_error(502)
            return
        with upstream:
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            chunks = []
            while chunk := upstream.recv(RELAY_CHUNK):
                chunks.append(chunk)
        self.wfile.write(b"".join(chunks))
        self.close_connection = True

    do_GET = _forward
    do_POST = _forward

    def _relay(self, upstream: socket.socket) -> None:
        client = self.connection
        with upstream:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 5)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(RELAY_CHUNK)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        self.close_connection = True
