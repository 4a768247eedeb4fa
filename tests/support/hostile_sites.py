"""Hostile sites on 127.0.0.1 for the ingest side, and the pathological documents they serve.

``HostileSite`` answers GETs and POSTs from a table of routes: a fixed status, headers and body,
or a drip (the head at once, then the body one byte every ``interval`` seconds). The document
builders make what misbehaving sites send: a feed of 10,000 items with descriptions of 20,000
``&lt;`` and broken enclosures, a Hanweb column of 30,000 unclosed ``<record>``, and the like.
Every drip stops on its own when the site stops. Never a production server.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drip_interval: float = 0.0  # > 0: the body goes out one byte at a time


class HostileSite:
    """A threaded HTTP/1.1 server on 127.0.0.1 serving ``routes`` (path without query)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.answer(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                site.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def add(self, path: str, body: bytes | str, **options: Any) -> str:
        """Serve ``body`` at ``path`` (``Route`` options: status, content_type, headers …)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)
        return self.url(path)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.hits.append(path)
        route = self.routes.get(path, Route(status=404, body=b"not found"))
        handler.send_response(route.status)
        handler.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        if route.drip_interval <= 0:
            handler.wfile.write(route.body)
            return
        with contextlib.suppress(OSError):
            for index in range(len(route.body)):
                handler.wfile.write(route.body[index : index + 1])
                handler.wfile.flush()
                if self.stopping.wait(route.drip_interval):
                    return

    def start(self) -> HostileSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HostileSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- documents -----------------------------------------------------------------------------


def hostile_feed(
    base: str, *, items: int = 10_000, lt: int = 20_000, every: int = 2_000, bad_every: int = 3
) -> bytes:
    """An RSS feed of ``items`` items: every ``every``-th description is ``lt`` ``&lt;``, every
    ``bad_every``-th item carries an enclosure ``url="http://[x"``; item 1's description is
    escaped markup ("Use &amp;lt;img …&amp;gt;")."""
    parts = []
    for i in range(items):
        if i % every == 0:
            description = "&lt;" * lt
        elif i == 1:
            description = "Use &amp;lt;img src=x onerror=alert(1)&amp;gt; to test"
        else:
            description = f"Item {i} of the hostile feed"
        enclosure = '<enclosure url="http://[x" type="image/png" length="1"/>'
        parts.append(
            f"<item><title>Item {i}</title><link>{base}/a/{i}.html</link><guid>g{i}</guid>"
            f"<pubDate>Sat, 08 Oct 2022 10:21:00 +0800</pubDate>"
            f"<description>{description}</description>"
            f"{enclosure if i % bad_every == 0 else ''}</item>"
        )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
    return (head + f"<link>{base}/</link>" + "".join(parts) + "</channel></rss>").encode()


def hostile_hanweb_column(*, records: int = 30_000) -> bytes:
    """A Hanweb column page (~240 KB) whose datastore holds ``records`` unclosed ``<record>``,
    after one well-formed record."""
    good = (
        "<record><![CDATA[<li><a href='/art/2022/10/8/art_1_1.html' title='科协通知'>科协通知"
        "</a><span>2022-10-08</span></li>]]></record>"
    )
    return (
        "<html><head><title>通知公告</title></head><body><div id='list'>"
        "<script type='text/xml'><datastore><nextgroup><![CDATA[<a href='/module/web/jpage/"
        "dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid=1&unitid=1'></a>]]></nextgroup>"
        f"<recordset>{good}{'<record>' * records}</recordset></datastore></script>"
        "</div></body></html>"
    ).encode()
