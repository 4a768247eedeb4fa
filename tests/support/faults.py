"""A misbehaving site on 127.0.0.1: 500s, hangs, huge bodies, broken XML, mislabelled GBK."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GBK_TITLE = "朱镕基与𠮷野家：地方科协改革观察"
_BODY = f"<p>{GBK_TITLE}。{'重庆市科协召开推进示范区建设工作会议。' * 12}</p>"
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
RSS_GBK = f"""<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>通知公告</title><link>http://example.test/</link>
<item><title>{GBK_TITLE}</title><link>http://example.test/art/1.html</link>
<guid>gbk-1</guid><pubDate>Sat, 08 Oct 2022 10:21:00 +0800</pubDate>
<description><![CDATA[{_BODY}]]></description>
<content:encoded xmlns:content="{_CONTENT_NS}"><![CDATA[{_BODY}]]></content:encoded>
</item></channel></rss>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/500":
            self._send(500, b"internal error")
        elif self.path == "/hang":
            time.sleep(4)
            self._send(200, b"late")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            chunk = b"<!--" + b"x" * 65530 + b"-->"
            try:
                for _ in range(20 * 1024 * 1024 // len(chunk) + 1):
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        elif self.path in ("/412", "/521"):
            challenge = (
                b"<html><script>document.cookie='__jsl_clearance=1700000000.1|0|abc';"
                b"location.reload();</script></html>"
            )
            self._send(int(self.path[1:]), challenge)
        elif self.path == "/empty-list":
            self._send(200, b"<html><body><div class='news-list'></div></body></html>")
        elif self.path == "/malformed.xml":
            self._send(
                200, b"<?xml version='1.0'?><rss><channel><item><title>x</ti", "application/xml"
            )
        elif self.path == "/gbk.xml":
            self._send(200, RSS_GBK.encode("gb18030"), "application/rss+xml; charset=gb2312")
        else:
            self._send(404, b"not found")


class FaultSite:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
