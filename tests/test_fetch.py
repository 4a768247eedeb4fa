"""Tests for worker.fetch against a real threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import pickle
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import LOOPBACK
from worker.charset import decode_body
from worker.fetch import DEFAULT_USER_AGENT, Fetcher, FetchError, FetchResult
from worker.retry_after import parse_retry_after

pytestmark = pytest.mark.timeout(20)

TRICKY = "朱镕基视察 𠮷野家 通知公告"  # 镕 is outside GB2312, 𠮷 outside GBK
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
MB = 1024 * 1024


# --- test server ----------------------------------------------------------------------------


class FaultServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server whose routes misbehave on purpose."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Callable[[Handler], None]] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.seen: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()
            self.in_flight = 0
            self.max_in_flight = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "port": self.client_address[1],
                    "body": self.body,
                }
            )
        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self.reply(404, b"not found")
        else:
            route(self)

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_unsized(self, content_type: str = "text/plain") -> None:
        """Headers for a body delimited by closing the connection."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()


def route(server: FaultServer, path: str) -> Callable[[Callable[[Handler], None]], None]:
    def register(func: Callable[[Handler], None]) -> None:
        server.routes[path] = func

    return register


def install_routes(server: FaultServer) -> None:
    @route(server, "/utf8")
    def utf8(h: Handler) -> None:
        h.reply(200, f"<p>{TRICKY}</p>".encode(), "text/html; charset=utf-8")

    @route(server, "/gb-header")
    def gb_header(h: Handler) -> None:
        h.reply(200, f"<p>{TRICKY}</p>".encode("gb18030"), "text/html; charset=gb2312")

    @route(server, "/gb-meta")
    def gb_meta(h: Handler) -> None:
        page = f'<html><head><meta charset="gbk"><title>通知</title></head><body>{TRICKY}</body>'
        h.reply(200, page.encode("gb18030"), "text/html")

    @route(server, "/gb-latin1-header")
    def gb_latin1_header(h: Handler) -> None:
        page = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=GB2312">'
            f"</head><body>{TRICKY}</body></html>"
        )
        h.reply(200, page.encode("gb18030"), "text/html;charset=ISO-8859-1")

    @route(server, "/echo")
    def echo(h: Handler) -> None:
        info = {"path": h.path, "headers": dict(h.headers.items()), "body": h.body.decode()}
        h.reply(200, json.dumps(info).encode(), "application/json")

    @route(server, "/cond")
    def cond(h: Handler) -> None:
        validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        if h.headers.get("If-None-Match") == ETAG or (
            h.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            h.send_response(304)
            h.send_header("ETag", ETAG)
            h.end_headers()
            return
        h.reply(200, b"<rss/>", "application/rss+xml", validators)

    @route(server, "/status/500")
    def status_500(h: Handler) -> None:
        h.reply(500, b"boom")

    @route(server, "/status/429")
    def status_429(h: Handler) -> None:
        h.reply(429, b"slow down", headers={"Retry-After": "7"})

    @route(server, "/status/503-date")
    def status_503_date(h: Handler) -> None:
        when = datetime.now(UTC) + timedelta(seconds=120)
        h.reply(503, b"later", headers={"Retry-After": format_datetime(when, usegmt=True)})

    @route(server, "/big")
    def big(h: Handler) -> None:
        h.start_unsized()
        block = b"x" * (64 * 1024)
        for _ in range(20 * MB // len(block)):
            h.wfile.write(block)

    @route(server, "/big-declared")
    def big_declared(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(20 * MB))
        h.end_headers()
        h.wfile.flush()
        server.stop.wait(5)

    @route(server, "/gzip-bomb")
    def gzip_bomb(h: Handler) -> None:
        h.reply(200, GZIP_BOMB, "text/html", {"Content-Encoding": "gzip"})

    @route(server, "/gzip-page")
    def gzip_page(h: Handler) -> None:
        page = f"<p>{TRICKY}</p>".encode() * 200
        h.reply(200, gzip.compress(page), "text/html; charset=utf-8", {"Content-Encoding": "gzip"})

    @route(server, "/exact")
    def exact(h: Handler) -> None:
        h.reply(200, b"a" * 1000)

    @route(server, "/sleep")
    def sleep(h: Handler) -> None:
        server.stop.wait(2)
        h.reply(200, b"late")

    @route(server, "/stall")
    def stall(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"0123456789")
        h.wfile.flush()
        server.stop.wait(3)

    @route(server, "/pause")
    def pause(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"a")
        h.wfile.flush()
        server.stop.wait(0.6)
        h.wfile.write(b"b")
        h.wfile.flush()
        server.stop.wait(3)

    @route(server, "/drip")
    def drip(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(1000):
            h.wfile.write(b".")
            h.wfile.flush()
            if server.stop.wait(0.2):
                return

    @route(server, "/redirect")
    def redirect(h: Handler) -> None:
        h.reply(302, b"", headers={"Location": "/utf8"})

    @route(server, "/redirect-ftp")
    def redirect_ftp(h: Handler) -> None:
        h.reply(302, b"", headers={"Location": "ftp://127.0.0.1/file"})

    @route(server, "/loop")
    def loop(h: Handler) -> None:
        hop = int(h.path.partition("?n=")[2] or 0) + 1
        h.reply(302, b"", headers={"Location": f"/loop?n={hop}"})

    @route(server, "/concurrency")
    def concurrency(h: Handler) -> None:
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        time.sleep(0.15)
        with server.lock:
            server.in_flight -= 1
        h.reply(200, b"ok")


GZIP_BOMB = gzip.compress(b"\0" * (20 * MB), compresslevel=9)


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    httpd = FaultServer()
    install_routes(httpd)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def srv(server: FaultServer) -> FaultServer:
    server.reset()
    return server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(policy=LOOPBACK, connect_timeout=2.0, read_timeout=2.0, deadline=5.0) as f:
        yield f


def fetch_error(call: Callable[[], FetchResult]) -> FetchError:
    with pytest.raises(FetchError) as info:
        call()
    return info.value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- successful reads and charsets ----------------------------------------------------------


def test_utf8_page(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/utf8"))
    assert result.status == 200
    assert result.text == f"<p>{TRICKY}</p>"
    assert result.content == f"<p>{TRICKY}</p>".encode()
    assert result.encoding == "utf-8"
    assert result.content_type == "text/html"
    assert result.url == srv.url("/utf8")
    assert not result.not_modified
    assert result.elapsed_ms > 0


def test_gb2312_header_label_decodes_as_gb18030(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/gb-header"))
    assert result.text == f"<p>{TRICKY}</p>"
    assert result.encoding == "gb18030"


def test_gbk_meta_label_decodes_as_gb18030(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/gb-meta"))
    assert f"<body>{TRICKY}</body>" in result.text
    assert "<title>通知</title>" in result.text
    assert result.encoding == "gb18030"


def test_default_latin1_header_yields_to_meta(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/gb-latin1-header"))
    assert TRICKY in result.text
    assert result.encoding == "gb18030"


def test_gzip_body_is_decompressed(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/gzip-page"))
    assert result.text == f"<p>{TRICKY}</p>" * 200
    assert result.content_type == "text/html"


def test_request_headers_params_and_connection_reuse(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/echo"), params={"page": "2", "q": "通知"}, headers={"X-A": "1"})
    seen = json.loads(result.text)
    assert seen["path"] == "/echo?page=2&q=%E9%80%9A%E7%9F%A5"
    assert seen["headers"]["User-Agent"] == DEFAULT_USER_AGENT
    assert "herald" in seen["headers"]["User-Agent"]
    assert seen["headers"]["Accept-Encoding"] == "gzip, deflate"
    assert seen["headers"]["X-A"] == "1"
    assert "If-None-Match" not in seen["headers"]
    fetcher.get(srv.url("/utf8"))
    assert srv.seen[0]["port"] == srv.seen[1]["port"]  # keep-alive connection was reused


def test_custom_user_agent(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, user_agent="herald-test/9") as f:
        seen = json.loads(f.get(srv.url("/echo")).text)
    assert seen["headers"]["User-Agent"] == "herald-test/9"


def test_post_form(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.post(srv.url("/echo"), {"keyword": "通知", "page": "1"})
    seen = json.loads(result.text)
    assert seen["body"] == "keyword=%E9%80%9A%E7%9F%A5&page=1"
    assert srv.seen[0]["method"] == "POST"
    assert srv.seen[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


# --- conditional GET ------------------------------------------------------------------------


def test_conditional_get_with_etag(srv: FaultServer, fetcher: Fetcher) -> None:
    first = fetcher.get(srv.url("/cond"))
    assert first.status == 200
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    again = fetcher.get(srv.url("/cond"), etag=first.etag)
    assert again.not_modified
    assert again.status == 304
    assert (again.content, again.text) == (b"", "")
    assert again.etag == ETAG
    assert srv.seen[1]["headers"]["If-None-Match"] == ETAG


def test_conditional_get_with_last_modified(srv: FaultServer, fetcher: Fetcher) -> None:
    again = fetcher.get(srv.url("/cond"), last_modified=LAST_MODIFIED)
    assert again.not_modified
    assert again.last_modified == LAST_MODIFIED  # kept from the call; server sent none
    assert srv.seen[0]["headers"]["If-Modified-Since"] == LAST_MODIFIED


def test_stale_validator_gets_full_body(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/cond"), etag='"old"')
    assert result.status == 200
    assert result.content == b"<rss/>"
    assert result.etag == ETAG


# --- HTTP errors ----------------------------------------------------------------------------


def test_server_error(srv: FaultServer, fetcher: Fetcher) -> None:
    url = srv.url("/status/500")
    err = fetch_error(lambda: fetcher.get(url))
    assert (err.reason, err.status, err.retry_after, err.url) == ("http_status", 500, None, url)
    assert str(err).startswith(f"fetch: {url}: ")
    assert "500" in str(err)


def test_429_retry_after_seconds(srv: FaultServer, fetcher: Fetcher) -> None:
    err = fetch_error(lambda: fetcher.get(srv.url("/status/429")))
    assert (err.reason, err.status, err.retry_after) == ("http_status", 429, 7.0)


def test_503_retry_after_date(srv: FaultServer, fetcher: Fetcher) -> None:
    err = fetch_error(lambda: fetcher.get(srv.url("/status/503-date")))
    assert err.status == 503
    assert err.retry_after is not None
    assert 115.0 <= err.retry_after <= 121.0


def test_fetch_error_pickles(srv: FaultServer, fetcher: Fetcher) -> None:
    err = fetch_error(lambda: fetcher.get(srv.url("/status/429")))
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.url, copy.reason, copy.status, copy.retry_after) == (err.url, err.reason, 429, 7.0)
    assert str(copy) == str(err)


# --- size cap -------------------------------------------------------------------------------


def test_streamed_body_over_cap(srv: FaultServer, fetcher: Fetcher) -> None:
    started = time.monotonic()
    err = fetch_error(lambda: fetcher.get(srv.url("/big")))
    assert err.reason == "too_large"
    assert time.monotonic() - started < 3.0


def test_declared_length_over_cap_fails_before_reading(srv: FaultServer, fetcher: Fetcher) -> None:
    started = time.monotonic()
    err = fetch_error(lambda: fetcher.get(srv.url("/big-declared")))
    assert err.reason == "too_large"
    assert "Content-Length" in str(err)
    assert time.monotonic() - started < 1.0  # the server never sends the body


def test_gzip_bomb_counts_decompressed_bytes(srv: FaultServer, fetcher: Fetcher) -> None:
    assert len(GZIP_BOMB) < 100 * 1024
    err = fetch_error(lambda: fetcher.get(srv.url("/gzip-bomb")))
    assert err.reason == "too_large"
    assert "decompression" in str(err)


def test_cap_boundary(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, max_bytes=1000) as f:
        assert len(f.get(srv.url("/exact")).content) == 1000
    with Fetcher(policy=LOOPBACK, max_bytes=999) as f:
        assert fetch_error(lambda: f.get(srv.url("/exact"))).reason == "too_large"


# --- time limits ----------------------------------------------------------------------------


def test_read_timeout_waiting_for_headers(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, read_timeout=0.3, deadline=5.0) as f:
        started = time.monotonic()
        err = fetch_error(lambda: f.get(srv.url("/sleep")))
    assert err.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_read_timeout_mid_body(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, read_timeout=0.3, deadline=5.0) as f:
        started = time.monotonic()
        err = fetch_error(lambda: f.get(srv.url("/stall")))
    assert err.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_dripping_server_hits_deadline(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, read_timeout=1.0, deadline=1.5) as f:
        started = time.monotonic()
        err = fetch_error(lambda: f.get(srv.url("/drip")))
        took = time.monotonic() - started
        assert err.reason == "deadline"
        assert 1.4 <= took < 2.3
        assert f.get(srv.url("/utf8")).status == 200  # the fetcher is still usable


def test_deadline_cuts_a_blocked_read(srv: FaultServer) -> None:
    # Header-phase timeouts are clipped to the deadline (1.0 s), so after the byte at 0.6 s a
    # plain socket timeout would only fire at ~1.6 s; the deadline must interrupt the read.
    with Fetcher(policy=LOOPBACK, read_timeout=2.0, deadline=1.0) as f:
        started = time.monotonic()
        err = fetch_error(lambda: f.get(srv.url("/pause")))
    assert err.reason == "deadline"
    assert time.monotonic() - started < 1.35


# --- redirects, URLs, connections -----------------------------------------------------------


def test_redirect_reports_final_url(srv: FaultServer, fetcher: Fetcher) -> None:
    result = fetcher.get(srv.url("/redirect"))
    assert result.url == srv.url("/utf8")
    assert result.text == f"<p>{TRICKY}</p>"


def test_too_many_redirects(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, max_redirects=3) as f:
        err = fetch_error(lambda: f.get(srv.url("/loop")))
    assert err.reason == "too_many_redirects"
    assert len(srv.seen) == 4


def test_redirect_to_unsupported_scheme(srv: FaultServer, fetcher: Fetcher) -> None:
    assert fetch_error(lambda: fetcher.get(srv.url("/redirect-ftp"))).reason == "invalid_url"


@pytest.mark.parametrize(
    "url", ["ftp://example.org/file", "file:///etc/passwd", "example.org/page", "http://", ""]
)
def test_invalid_url(fetcher: Fetcher, url: str) -> None:
    err = fetch_error(lambda: fetcher.get(url))
    assert err.reason == "invalid_url"
    assert str(err).startswith("fetch: ")


def test_connection_refused(fetcher: Fetcher) -> None:
    port = closed_port()
    err = fetch_error(lambda: fetcher.get(f"http://127.0.0.1:{port}/"))
    assert (err.reason, err.status) == ("connect", None)
    assert str(err) == f"fetch: http://127.0.0.1:{port}/: connection refused by 127.0.0.1:{port}"


def test_a_host_that_does_not_resolve_reads_as_a_sentence() -> None:
    """Not urllib3's "_PinnedHTTPSPool(...) Max retries exceeded … NameResolutionError"."""
    with Fetcher(connect_timeout=2.0, deadline=5.0) as fetcher:
        err = fetch_error(lambda: fetcher.get("https://www.example.invalid/news/index.html"))
    assert err.reason == "connect"
    assert str(err).endswith(": cannot resolve www.example.invalid")
    assert "Max retries" not in str(err) and "Pinned" not in str(err)


# --- per-host limit -------------------------------------------------------------------------


def test_per_host_limit_within_one_fetcher(srv: FaultServer) -> None:
    with Fetcher(policy=LOOPBACK, per_host=2) as f, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: f.get(srv.url("/concurrency")), range(6)))
    assert [r.text for r in results] == ["ok"] * 6
    assert srv.max_in_flight == 2


def test_per_host_limit_shared_across_fetchers(srv: FaultServer) -> None:
    with (
        Fetcher(policy=LOOPBACK, per_host=2) as a,
        Fetcher(policy=LOOPBACK, per_host=2) as b,
        ThreadPoolExecutor(6) as pool,
    ):
        fetchers = [a, b] * 3
        results = list(pool.map(lambda f: f.get(srv.url("/concurrency")), fetchers))
    assert len(results) == 6
    assert srv.max_in_flight == 2


# --- decode_body ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "gb_2312-80", "cp936", '"gb2312"'])
def test_gb_labels_decode_as_gb18030(label: str) -> None:
    assert decode_body(TRICKY.encode("gb18030"), f"text/html; charset={label}") == (
        TRICKY,
        "gb18030",
    )


def test_bom_wins_over_header() -> None:
    body = b"\xef\xbb\xbf" + TRICKY.encode()
    assert decode_body(body, "text/html; charset=gbk") == (TRICKY, "utf-8")
    assert decode_body(b"\xff\xfe" + TRICKY.encode("utf-16-le"), "") == (TRICKY, "utf-16-le")


def test_header_wins_over_meta() -> None:
    body = f'<meta charset="utf-8">{TRICKY}'.encode("gb18030")
    text, codec = decode_body(body, "text/html; charset=GB2312")
    assert (TRICKY in text, codec) == (True, "gb18030")


def test_unknown_header_label_falls_through_to_meta() -> None:
    body = f'<meta http-equiv="Content-Type" content="text/html; charset=gbk">{TRICKY}'
    text, codec = decode_body(body.encode("gb18030"), "text/html; charset=x-no-such-charset")
    assert (TRICKY in text, codec) == (True, "gb18030")


def test_non_text_codec_label_is_ignored() -> None:
    assert decode_body(TRICKY.encode(), "text/html; charset=base64") == (TRICKY, "utf-8")
    assert decode_body(b"+AGE-", "text/plain; charset=utf-7") == ("+AGE-", "utf-8")


def test_xml_declaration() -> None:
    body = f'<?xml version="1.0" encoding="GB2312"?><rss><title>{TRICKY}</title></rss>'
    text, codec = decode_body(body.encode("gb18030"), "application/rss+xml")
    assert (TRICKY in text, codec) == (True, "gb18030")


def test_undeclared_utf8() -> None:
    assert decode_body(TRICKY.encode(), "text/html") == (TRICKY, "utf-8")
    assert decode_body(b"", "") == ("", "utf-8")


def test_valid_utf8_wins_over_a_wrong_meta_label_without_a_header() -> None:
    """A saved page (or a server without a charset) whose <meta> says gb2312 but whose bytes
    are UTF-8: decoding it as gb18030 garbled every character."""
    body = f'<meta charset="gb2312"><h1>{TRICKY}</h1>'.encode()
    for header in ("", "text/html", "text/html; charset=iso-8859-1"):
        text, codec = decode_body(body, header)
        assert (TRICKY in text, codec) == (True, "utf-8"), header
    gbk = f'<meta charset="gb2312"><h1>{TRICKY}</h1>'.encode("gb18030")
    assert decode_body(gbk, "")[1] == "gb18030"  # GB bytes are not valid UTF-8: the meta holds


def test_undeclared_gbk_is_detected() -> None:
    article = (
        "国务院办公厅关于印发全国深化放管服改革优化营商环境电视电话会议重点任务分工方案的通知。" * 5
    )
    text, _codec = decode_body(article.encode("gb18030"), "text/html")
    assert text == article


def test_weak_latin1_header_without_declarations() -> None:
    assert decode_body("café".encode("cp1252"), "text/html; charset=iso-8859-1") == (
        "café",
        "cp1252",
    )
    assert decode_body(TRICKY.encode(), "text/html; charset=iso-8859-1") == (TRICKY, "utf-8")


# --- parse_retry_after ----------------------------------------------------------------------


def test_parse_retry_after_http_date() -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now.replace(tzinfo=None)) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("-3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match=r"^fetch: per_host"):
        Fetcher(per_host=0)
    with pytest.raises(ValueError, match=r"^fetch: timeouts"):
        Fetcher(deadline=0)
