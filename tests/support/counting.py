"""Servers and DNS answers for the SSRF guard's tests: an HTTP server that counts every connection
it accepts (``CountingServer``) and ``fake_dns``, which makes chosen names resolve to chosen
addresses. They must not be used outside the test suite."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class CountingServer(ThreadingHTTPServer):
    """Answers 200 ``ok`` (or a redirect) and counts every TCP connection it accepts."""

    daemon_threads = True

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.connections = 0
        self.hosts: list[str] = []
        self.methods: list[str] = []
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
        self.server.methods.append(self.command)
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

    do_POST = do_PUT = do_DELETE = do_GET


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
