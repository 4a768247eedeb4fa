"""The demo site's HTTP plumbing: a threaded ``http.server`` whose handler asks its
``DemoSite`` for each path and answers with validators, 304s and the configured latency.

It must NOT render pages (``worker.demo.pages``) nor hold the site's state (``worker.demo.site``).
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from worker.demo.pages import format_http_date, is_not_modified

if TYPE_CHECKING:
    from worker.demo.site import DemoSite


class DemoServer(ThreadingHTTPServer):
    """The HTTP server of one ``DemoSite``."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: DemoSite) -> None:
        super().__init__(address, DemoHandler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients dropping connections is normal under benchmarks."""


class DemoHandler(BaseHTTPRequestHandler):
    """Routes GET/HEAD requests to the site's pages; logs nothing to stderr."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "HanwebDemo/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in ``DemoSite.requests_log`` instead."""

    def answer(self, *, send_body: bool) -> None:
        """Serve one request: latency, routing, conditional GET, logging."""
        assert isinstance(self.server, DemoServer)
        site = self.server.site
        if site.latency > 0:
            time.sleep(site.latency)
        page = site.render_path(urlsplit(self.path).path)
        if page is None:
            status, page = 404, site.render_not_found()
        elif is_not_modified(
            self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), page
        ):
            status = 304
        else:
            status = 200
        site.log_request(self.command, self.path, status)
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
        if status != 404:
            self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", format_http_date(page.last_modified))
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(page.body)
