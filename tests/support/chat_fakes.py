"""Fake chat platforms on 127.0.0.1: WeCom, DingTalk, Feishu, Slack, Discord and Telegram.

Each fake is a real threaded HTTP server that behaves like its platform (wire facts in
``shared/specs/chat-webhooks.md``): it checks credentials and signatures, enforces the documented
sizes counted the platform's way and its rate limits against an injectable clock, and answers with
the platform's real reply and error shapes. Accepted messages are recorded with the text a person
would see; ``pings()`` tells which mentions a message would really trigger.

Where the platforms leave a choice open the fakes take the strict side (sliding rate windows,
sizes counted on the wire), so code that passes here stays within the real limits.

This module must not be used as a production endpoint, must not reach the network and must not
sleep: time moves only through ``clock``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, quote, urlsplit

Clock = Callable[[], float]

MAX_REQUEST_BYTES = 2 * 1024 * 1024
JSON_TYPE = "application/json; charset=utf-8"


# --------------------------------------------------------------------------------------------
# Shared records


class ManualClock:
    """A settable clock: pass it as ``clock=``; move time with ``advance``, never by sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = now


@dataclass
class Accepted:
    """One message the platform accepted.

    ``text`` is what a reader sees (markup stripped, card titles and descriptions joined);
    ``size`` is counted the platform's way: UTF-8 bytes of the content for WeCom text/markdown
    (articles for news, JSON bytes for template cards), request-body bytes for DingTalk and
    Feishu, characters of ``text`` for Slack, characters of content plus embed text for Discord,
    characters of the parsed text for Telegram.
    """

    platform: str
    body: Any
    raw: bytes
    headers: dict[str, str]
    at: float
    text: str
    size: int
    kind: str = ""
    path: str = ""
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rejected:
    """One refused request; ``body`` is the refused request's JSON (None when not JSON)."""

    platform: str
    status: int
    code: int | str | None
    message: str
    body: Any
    raw: bytes = b""
    at: float = 0.0
    path: str = ""
    reply: bytes = b""
    detail: str = ""
    injected: bool = False


@dataclass
class Reply:
    """An HTTP reply; ``code``/``message`` are the platform's error code and text, if any."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    code: int | str | None = None
    message: str = ""


@dataclass
class Request:
    """One received HTTP request; ``params`` holds the query decoded once, first value per key."""

    method: str
    path: str
    query: str
    params: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    at: float


class Refusal(Exception):
    """Raised inside a fake to answer with a platform error."""

    def __init__(self, reply: Reply, detail: str = "") -> None:
        super().__init__(detail or reply.message)
        self.reply = reply
        self.detail = detail


def reply_json(
    status: int,
    obj: Any,
    *,
    code: int | str | None = None,
    message: str = "",
    headers: dict[str, str] | None = None,
) -> Reply:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": JSON_TYPE, **(headers or {})}, code, message)


def reply_text(
    status: int,
    text: str,
    *,
    code: int | str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    hdrs = {"Content-Type": "text/html", **(headers or {})}
    return Reply(status, text.encode("utf-8"), hdrs, code, text)


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body, or return None when it is not valid UTF-8 JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def count_utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def count_utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cut_utf8(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"(?i)^https?://[^\s/]+", value) is not None


def dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------------------------
# Signatures (the fakes verify with these; the tests check them against the spec's vectors)


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """DingTalk: base64(HMAC-SHA256(key=secret, msg=f"{ts}\\n{secret}")), before URL-encoding."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """Feishu: base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b"")); sent as is in the JSON body."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


# --------------------------------------------------------------------------------------------
# Rate-limit windows


class SlidingWindow:
    """At most ``limit`` events in any ``period`` seconds (stricter than fixed minute buckets)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._events: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits; 0 when it fits now."""
        while self._events and self._events[0] <= now - self.period:
            self._events.popleft()
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.period - now

    def add(self, now: float) -> None:
        self._events.append(now)


class FixedBucket:
    """Discord-style bucket: ``limit`` requests per window that starts with the first request."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.reset_at: float | None = None
        self.used = 0

    def _roll(self, now: float) -> None:
        if self.reset_at is None or now >= self.reset_at:
            self.reset_at = now + self.period
            self.used = 0

    def take(self, now: float) -> float:
        """Use one request; return 0 when allowed, else the seconds until the bucket resets."""
        self._roll(now)
        reset_at = cast(float, self.reset_at)
        if self.used >= self.limit:
            return reset_at - now
        self.used += 1
        return 0.0

    def headers(self, now: float) -> dict[str, str]:
        if self.reset_at is None or now >= self.reset_at:
            remaining, reset_at = self.limit, now + self.period
        else:
            remaining, reset_at = self.limit - self.used, self.reset_at
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{max(reset_at - now, 0.0):.3f}",
            "X-RateLimit-Bucket": "f3c2e1d0b9a8webhook",
        }


def retry_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


# --------------------------------------------------------------------------------------------
# The server


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeChat) -> None:
        super().__init__(address, _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        """Close kept-alive connections too, so a stopped fake stops answering."""
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # one write per reply would still meet delayed ACKs; without Nagle each call is ~1 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._serve("POST")

    def do_GET(self) -> None:
        self._serve("GET")

    def _serve(self, method: str) -> None:
        fake = cast(_Server, self.server).fake
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._write(reply_text(413, "Request Entity Too Large"))
            self.close_connection = True
            return
        raw = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        request = Request(
            method=method,
            path=parts.path,
            query=parts.query,
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={key.title(): value for key, value in self.headers.items()},
            raw=raw,
            at=fake.clock(),
        )
        if method == "GET" and not fake.allow_get:
            self._write(reply_text(405, "Method Not Allowed"))
            return
        self._write(fake.handle(request))

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.status != 204 and reply.body:
            self.wfile.write(reply.body)


class FakeChat:
    """Base of the fakes: a ThreadingHTTPServer on 127.0.0.1 that records what it accepts."""

    platform = ""
    allow_get = False

    def __init__(self, *, clock: Clock | None = None, host: str = "127.0.0.1") -> None:
        self.clock: Clock = clock or time.time
        self.host = host
        self.received: list[Accepted] = []
        self.rejected: list[Rejected] = []
        self.base_url = ""
        self._failures: deque[Reply] = deque()
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> str:
        if self._server is None:
            self._server = _Server((self.host, 0), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-{self.platform}",
                daemon=True,
            )
            self._thread.start()
            self.base_url = f"http://{self.host}:{self._server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeChat:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # inspection and control ------------------------------------------------------------------

    def url(self, **kw: Any) -> str:
        raise NotImplementedError

    def messages(self) -> list[Accepted]:
        with self._lock:
            return list(self.received)

    def rejections(self) -> list[Rejected]:
        with self._lock:
            return list(self.rejected)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.rejected.clear()
            self._failures.clear()

    def fail_next(self, n: int, reply: Reply | int | str = 500) -> None:
        """Answer the next ``n`` requests with ``reply``: a Reply, or a code for ``error_reply``."""
        built = reply if isinstance(reply, Reply) else self.error_reply(reply)
        with self._lock:
            self._failures.extend([built] * n)

    def error_reply(self, code: int | str) -> Reply:
        """The platform's real reply for a platform error code or an HTTP status."""
        if isinstance(code, int) and 100 <= code <= 599:
            return reply_text(code, HTTPStatus(code).phrase, code=code)
        raise ValueError(f"{self.platform}: no reply known for error {code!r}")

    # request handling ------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        with self._lock:
            if self._failures:
                reply = self.decorate(request, self._failures.popleft())
                self._reject(request, reply, "injected by fail_next", injected=True)
                return reply
            try:
                accepted, reply = self.process(request)
            except Refusal as refusal:
                reply = self.decorate(request, refusal.reply)
                self._reject(request, reply, refusal.detail)
                return reply
            except Exception as exc:  # a fake that breaks must show it, not drop the connection
                reply = reply_text(500, f"{self.platform} fake failed: {exc!r}", code=500)
                self._reject(request, reply, f"fake failed: {exc!r}")
                return reply
            if accepted is not None:
                self.received.append(accepted)
            return self.decorate(request, reply)

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        raise NotImplementedError

    def decorate(self, request: Request, reply: Reply) -> Reply:
        return reply

    def _reject(self, request: Request, reply: Reply, detail: str, injected: bool = False) -> None:
        self.rejected.append(
            Rejected(
                platform=self.platform,
                status=reply.status,
                code=reply.code,
                message=reply.message,
                body=parse_json(request.raw),
                raw=request.raw,
                at=request.at,
                path=request.path,
                reply=reply.body,
                detail=detail,
                injected=injected,
            )
        )

    def _accepted(
        self,
        request: Request,
        body: Any,
        text: str,
        size: int,
        kind: str,
        extra: dict[str, Any] | None = None,
    ) -> Accepted:
        return Accepted(
            platform=self.platform,
            body=body,
            raw=request.raw,
            headers=request.headers,
            at=request.at,
            text=text,
            size=size,
            kind=kind,
            path=request.path,
            query=request.query,
            extra=extra or {},
        )


# --------------------------------------------------------------------------------------------
# Markup helpers: what a person sees


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.M)
_MD_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.M)
_MD_STRONG = re.compile(r"\*\*|__|~~")
_MD_EM = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_MD_CODE = re.compile(r"`+")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_FONT_TAG = re.compile(r"</?font\b[^>]*>", re.I)
_BR_TAG = re.compile(r"<br\s*/?>", re.I)
_WECOM_AT = re.compile(r"<@([^<>\s]+)>")


def strip_markdown(text: str) -> str:
    """Markdown (WeCom/DingTalk/Discord flavour) to the text a reader sees."""
    out = _BR_TAG.sub("\n", text)
    out = _FONT_TAG.sub("", out)
    out = _MD_IMAGE.sub(r"\1", out)
    out = _MD_LINK.sub(r"\1", out)
    out = _MD_HEADING.sub("", out)
    out = _MD_QUOTE.sub("", out)
    out = _MD_STRONG.sub("", out)
    out = _MD_EM.sub(r"\1", out)
    out = _MD_CODE.sub("", out)
    return _MD_ESCAPE.sub(r"\1", out).strip()


def join_lines(parts: Iterable[Any]) -> str:
    return "\n".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())


# --------------------------------------------------------------------------------------------
# WeCom


class FakeWeCom(FakeChat):
    """WeCom group robot: ``/cgi-bin/webhook/send?key=KEY``; every reply is HTTP 200 + errcode."""

    platform = "wecom"
    PATH = "/cgi-bin/webhook/send"
    TEXT_MAX = 2048
    MARKDOWN_MAX = 4096
    NEWS_MAX = 8
    TITLE_MAX = 128
    DESCRIPTION_MAX = 512
    ERRORS: ClassVar[dict[int, str]] = {
        93000: "invalid webhook url",
        45009: "api freq out of limit",
        40058: "invalid Request Parameter",
        40008: "invalid message type",
        44004: "empty content",
        40035: "invalid args",
        -1: "system busy",
    }

    def __init__(
        self, key: str = "wecom-key-0001", *, per_minute: int = 20, clock: Clock | None = None
    ) -> None:
        super().__init__(clock=clock)
        self.key = key
        self.window = SlidingWindow(per_minute, 60.0)

    def url(self, **kw: Any) -> str:
        return f"{self.base_url}{self.PATH}?key={quote(str(kw.get('key', self.key)), safe='')}"

    def error_reply(self, code: int | str) -> Reply:
        if isinstance(code, int) and code in self.ERRORS:
            return self.err(code, self.ERRORS[code])
        return super().error_reply(code)

    def err(self, code: int, text: str) -> Reply:
        hint = f"{int(self.clock() * 1000)}0000000000"
        message = (
            f"{text}, hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={code}"
        )
        return reply_json(200, {"errcode": code, "errmsg": message}, code=code, message=message)

    def refuse(self, code: int, text: str | None = None) -> Refusal:
        return Refusal(self.err(code, text or self.ERRORS[code]), text or self.ERRORS[code])

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        if request.path != self.PATH:
            raise Refusal(reply_text(404, "404 page not found", code=404), "unknown path")
        if request.params.get("key") != self.key:
            raise self.refuse(93000)
        body = parse_json(request.raw)
        if not isinstance(body, dict):
            raise self.refuse(40035, "invalid json")
        kind = body.get("msgtype")
        check = {
            "text": self.check_text,
            "markdown": self.check_markdown,
            "markdown_v2": self.check_markdown,
            "news": self.check_news,
            "template_card": self.check_template_card,
        }.get(kind if isinstance(kind, str) else "")
        if check is None:
            raise self.refuse(40008)
        text, size, extra = check(body, cast(str, kind))
        wait = self.window.wait(request.at)
        if wait > 0:
            raise self.refuse(45009)
        self.window.add(request.at)
        ok = reply_json(200, {"errcode": 0, "errmsg": "ok"}, code=0, message="ok")
        return self._accepted(request, body, text, size, cast(str, kind), extra), ok

    def section(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        part = body.get(kind)
        if not isinstance(part, dict):
            raise self.refuse(44004, f"{kind} is required")
        return part

    def check_text(self, body: dict[str, Any], kind: str) -> tuple[str, int, dict[str, Any]]:
        part = self.section(body, kind)
        content = part.get("content")
        if not isinstance(content, str) or not content:
            raise self.refuse(44004)
        size = count_utf8(content)
        if size > self.TEXT_MAX:
            raise self.refuse(40058, f"text.content exceed max length {self.TEXT_MAX}")
        for name in ("mentioned_list", "mentioned_mobile_list"):
            value = part.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise self.refuse(40058, f"text.{name} must be a list of strings")
        return _WECOM_AT.sub(r"@\1", content), size, {}

    def check_markdown(self, body: dict[str, Any], kind: str) -> tuple[str, int, dict[str, Any]]:
        content = self.section(body, kind).get("content")
        if not isinstance(content, str) or not content.strip():
            raise self.refuse(44004)
        size = count_utf8(content)
        if size > self.MARKDOWN_MAX:
            raise self.refuse(40058, f"{kind}.content exceed max length {self.MARKDOWN_MAX}")
        if kind == "markdown":
            content = _WECOM_AT.sub(r"@\1", content)
        return strip_markdown(content), size, {}

    def check_news(self, body: dict[str, Any], kind: str) -> tuple[str, int, dict[str, Any]]:
        articles = self.section(body, kind).get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= self.NEWS_MAX:
            raise self.refuse(40058, f"news.articles must hold 1 to {self.NEWS_MAX} articles")
        lines: list[str] = []
        truncated = False
        for i, article in enumerate(articles):
            if not isinstance(article, dict):
                raise self.refuse(40058, f"news.articles[{i}] must be an object")
            title = article.get("title")
            if not isinstance(title, str) or not title:
                raise self.refuse(40058, f"news.articles[{i}].title is required")
            if count_utf8(title) > self.TITLE_MAX:
                raise self.refuse(40058, f"news.articles[{i}].title exceed max length 128")
            if not is_http_url(article.get("url")):
                raise self.refuse(40058, f"news.articles[{i}].url is required")
            description = article.get("description", "")
            if not isinstance(description, str):
                raise self.refuse(40058, f"news.articles[{i}].description must be a string")
            if count_utf8(description) > self.DESCRIPTION_MAX:
                description = cut_utf8(description, self.DESCRIPTION_MAX)
                truncated = True
            lines.extend([title, description])
        return join_lines(lines), len(articles), {"truncated": truncated}

    def check_template_card(
        self, body: dict[str, Any], kind: str
    ) -> tuple[str, int, dict[str, Any]]:
        card = self.section(body, kind)
        card_type = card.get("card_type")
        if card_type not in ("text_notice", "news_notice"):
            raise self.refuse(40058, "template_card.card_type must be text_notice or news_notice")
        action = card.get("card_action")
        if not isinstance(action, dict) or action.get("type") not in (1, 2):
            raise self.refuse(40058, "template_card.card_action is required")
        if action.get("type") == 1 and not is_http_url(action.get("url")):
            raise self.refuse(40058, "template_card.card_action.url is required")
        main_title = card.get("main_title")
        main: dict[str, Any] = main_title if isinstance(main_title, dict) else {}
        if card_type == "text_notice" and not (main.get("title") or card.get("sub_title_text")):
            raise self.refuse(40058, "template_card needs main_title.title or sub_title_text")
        if card_type == "news_notice" and not (
            card.get("card_image") or card.get("image_text_area")
        ):
            raise self.refuse(40058, "template_card news_notice needs card_image")
        return join_lines(template_card_text(card)), len(self.raw_of(body)), {}

    @staticmethod
    def raw_of(body: Any) -> bytes:
        return json.dumps(body, ensure_ascii=False).encode("utf-8")


def template_card_text(card: dict[str, Any]) -> list[Any]:
    parts: list[Any] = []
    for key in ("main_title", "emphasis_content", "quote_area"):
        value = card.get(key)
        if isinstance(value, dict):
            parts += [value.get("title"), value.get("desc"), value.get("quote_text")]
    parts.append(card.get("sub_title_text"))
    for key, names in (
        ("horizontal_content_list", ("keyname", "value")),
        ("vertical_content_list", ("title", "desc")),
        ("jump_list", ("title",)),
    ):
        for item in card.get(key) or []:
            if isinstance(item, dict):
                parts += [item.get(n) for n in names]
    area = card.get("image_text_area")
    if isinstance(area, dict):
        parts += [area.get("title"), area.get("desc")]
    return parts


# --------------------------------------------------------------------------------------------
# DingTalk


class FakeDingTalk(FakeChat):
    """DingTalk custom robot: ``/robot/send?access_token=T`` (+ ``&timestamp&sign`` if signed)."""

    platform = "dingtalk"
    PATH = "/robot/send"
    BODY_MAX = 20000
    THROTTLE_SECONDS = 600.0
    SIGN_WINDOW_MS = 3_600_000
    ERRORS: ClassVar[dict[int, str]] = {
        300001: "token is not exist",
        310000: "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
        130101: "send too fast, exceed 20 times per minute",
        460101: "message too long, exceed 20000 bytes",
        40035: "缺少参数 json",
        -1: "系统繁忙",
    }

    def __init__(
        self,
        token: str = "dingtalk-token-0001",
        *,
        secret: str | None = None,
        keywords: Sequence[str] = (),
        per_minute: int = 20,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.secret = secret
        self.keywords = tuple(keywords)
        self.window = SlidingWindow(per_minute, 60.0)
        self.throttled_until = 0.0

    def url(self, **kw: Any) -> str:
        token = quote(str(kw.get("token", self.token)), safe="")
        return f"{self.base_url}{self.PATH}?access_token={token}"

    def signed_url(self, timestamp_ms: int | None = None) -> str:
        """The URL a correct client sends: timestamp in ms and the sign URL-encoded once."""
        ts = int(self.clock() * 1000) if timestamp_ms is None else timestamp_ms
        sign = quote(dingtalk_sign(self.secret or "", ts), safe="")
        return f"{self.url()}&timestamp={ts}&sign={sign}"

    def error_reply(self, code: int | str) -> Reply:
        if isinstance(code, int) and code in self.ERRORS:
            return self.err(code, self.ERRORS[code])
        return super().error_reply(code)

    def err(self, code: int, message: str) -> Reply:
        return reply_json(200, {"errcode": code, "errmsg": message}, code=code, message=message)

    def refuse(self, code: int, message: str | None = None, detail: str = "") -> Refusal:
        text = message or self.ERRORS[code]
        return Refusal(self.err(code, text), detail or text)

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        if request.path != self.PATH:
            raise Refusal(reply_text(404, "Not Found", code=404), "unknown path")
        if request.params.get("access_token") != self.token:
            raise self.refuse(300001)
        if self.secret is not None:
            self.check_signature(request)
        if request.at < self.throttled_until:
            raise self.refuse(130101, detail="robot throttled for 10 minutes")
        if len(request.raw) > self.BODY_MAX:
            raise self.refuse(460101, detail=f"body is {len(request.raw)} bytes")
        body = parse_json(request.raw)
        if not isinstance(body, dict):
            raise self.refuse(40035)
        kind = body.get("msgtype")
        text = self.check_message(body, kind)
        if self.keywords and not any(k in text for k in self.keywords):
            raise self.refuse(310000, "keywords not in content")
        if self.window.wait(request.at) > 0:
            self.throttled_until = request.at + self.THROTTLE_SECONDS
            raise self.refuse(130101, detail="21st message in a minute; throttled for 10 minutes")
        self.window.add(request.at)
        ok = reply_json(200, {"errcode": 0, "errmsg": "ok"}, code=0, message="ok")
        extra = {"keyword_checked": bool(self.keywords)}
        return self._accepted(request, body, text, len(request.raw), str(kind), extra), ok

    def check_signature(self, request: Request) -> None:
        timestamp = request.params.get("timestamp", "")
        now_ms = request.at * 1000
        if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > self.SIGN_WINDOW_MS:
            raise self.refuse(
                310000, "invalid timestamp", f"timestamp {timestamp!r} not within 1 h"
            )
        expected = dingtalk_sign(cast(str, self.secret), timestamp)
        got = request.params.get("sign", "")
        if not hmac.compare_digest(expected.encode(), got.encode("utf-8", "replace")):
            raise self.refuse(310000, detail=f"sign decoded once is {got!r}, want {expected!r}")

    def need(self, part: Any, names: Sequence[str], where: str) -> dict[str, Any]:
        if not isinstance(part, dict):
            raise self.refuse(40035, f"缺少参数 {where}")
        for name in names:
            if not isinstance(part.get(name), str) or not part[name]:
                raise self.refuse(40035, f"缺少参数 {where}.{name}")
        return part

    def check_message(self, body: dict[str, Any], kind: Any) -> str:
        if kind == "text":
            return cast(str, self.need(body.get("text"), ["content"], "text")["content"])
        if kind == "markdown":
            part = self.need(body.get("markdown"), ["title", "text"], "markdown")
            return strip_markdown(part["text"])
        if kind == "link":
            part = self.need(body.get("link"), ["title", "text", "messageUrl"], "link")
            return join_lines([part["title"], part["text"]])
        if kind == "actionCard":
            part = self.need(body.get("actionCard"), ["title", "text"], "actionCard")
            buttons = part.get("btns") or []
            if not part.get("singleURL") and not buttons:
                raise self.refuse(40035, "缺少参数 actionCard.singleURL")
            for button in buttons:
                self.need(button, ["title", "actionURL"], "actionCard.btns")
            titles = [b["title"] for b in buttons] + [part.get("singleTitle")]
            return join_lines([part["title"], strip_markdown(part["text"]), *titles])
        if kind == "feedCard":
            feed = body.get("feedCard")
            links = feed.get("links") if isinstance(feed, dict) else None
            if not isinstance(links, list) or not links:
                raise self.refuse(40035, "缺少参数 feedCard.links")
            for link in links:
                self.need(link, ["title", "messageURL"], "feedCard.links")
            return join_lines(link["title"] for link in links)
        raise self.refuse(40035, "缺少参数 msgtype")


# --------------------------------------------------------------------------------------------
# Feishu


class FakeFeishu(FakeChat):
    """Feishu custom bot: ``/open-apis/bot/v2/hook/TOKEN``; HTTP 200 with ``code`` in the body."""

    platform = "feishu"
    PREFIX = "/open-apis/bot/v2/hook/"
    BODY_MAX = 20000
    SIGN_WINDOW_S = 3600
    ERRORS: ClassVar[dict[int, str]] = {
        19001: "param invalid: incoming webhook access token invalid",
        19021: "sign match fail or timestamp is not within one hour from current time",
        19022: "Ip Not Allowed",
        19024: "Key Words Not Found",
        9499: "Bad Request",
        11232: "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
    }

    def __init__(
        self,
        token: str = "feishu-token-0001",
        *,
        secret: str | None = None,
        keywords: Sequence[str] = (),
        per_second: int = 5,
        per_minute: int = 100,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.secret = secret
        self.keywords = tuple(keywords)
        self.second = SlidingWindow(per_second, 1.0)
        self.minute = SlidingWindow(per_minute, 60.0)

    def url(self, **kw: Any) -> str:
        return f"{self.base_url}{self.PREFIX}{kw.get('token', self.token)}"

    def error_reply(self, code: int | str) -> Reply:
        if isinstance(code, int) and code in self.ERRORS:
            return self.err(code, self.ERRORS[code])
        return super().error_reply(code)

    def err(self, code: int, message: str) -> Reply:
        obj = {"code": code, "data": {}, "msg": message}
        return reply_json(200, obj, code=code, message=message)

    def refuse(self, code: int, detail: str = "") -> Refusal:
        return Refusal(self.err(code, self.ERRORS[code]), detail or self.ERRORS[code])

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        if not request.path.startswith(self.PREFIX):
            raise Refusal(reply_text(404, "404 page not found", code=404), "unknown path")
        if request.path[len(self.PREFIX) :] != self.token:
            raise self.refuse(19001)
        if len(request.raw) > self.BODY_MAX:
            raise self.refuse(9499, f"body is {len(request.raw)} bytes")
        body = parse_json(request.raw)
        if not isinstance(body, dict):
            raise self.refuse(9499, "body is not a JSON object")
        if self.secret is not None:
            self.check_signature(body, request.at)
        kind = body.get("msg_type")
        text = self.check_message(body, kind)
        if self.keywords and not any(k in text for k in self.keywords):
            raise self.refuse(19024)
        if self.second.wait(request.at) > 0 or self.minute.wait(request.at) > 0:
            raise self.refuse(11232, "more than 5/s or 100/min")
        self.second.add(request.at)
        self.minute.add(request.at)
        obj = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
        ok = reply_json(200, obj, code=0, message="success")
        return self._accepted(request, body, text, len(request.raw), str(kind)), ok

    def check_signature(self, body: dict[str, Any], now: float) -> None:
        timestamp = str(body.get("timestamp", ""))
        if not timestamp.isdigit() or abs(now - int(timestamp)) > self.SIGN_WINDOW_S:
            raise self.refuse(19021, f"timestamp {timestamp!r} not within 1 h")
        expected = feishu_sign(cast(str, self.secret), timestamp)
        got = body.get("sign")
        if not isinstance(got, str) or not hmac.compare_digest(expected.encode(), got.encode()):
            raise self.refuse(19021, f"sign {got!r}, want {expected!r}")

    def check_message(self, body: dict[str, Any], kind: Any) -> str:
        if kind == "interactive":
            card = body.get("card")
            if not isinstance(card, dict) or not card:
                raise self.refuse(9499, "interactive needs a card object")
            return join_lines(feishu_card_texts(card))
        content = body.get("content")
        if not isinstance(content, dict):
            raise self.refuse(9499, "content must be an object")
        if kind == "text":
            text = content.get("text")
            if not isinstance(text, str) or not text.strip():
                raise self.refuse(9499, "content.text is required")
            return feishu_at_visible(text)
        if kind == "post":
            return self.check_post(content)
        if kind == "image":
            if not isinstance(content.get("image_key"), str):
                raise self.refuse(9499, "content.image_key is required")
            return ""
        if kind == "share_chat":
            if not isinstance(content.get("share_chat_id"), str):
                raise self.refuse(9499, "content.share_chat_id is required")
            return ""
        raise self.refuse(9499, f"unknown msg_type {kind!r}")

    def check_post(self, content: dict[str, Any]) -> str:
        post = content.get("post")
        if not isinstance(post, dict) or not post:
            raise self.refuse(9499, "content.post is required")
        locale = "zh_cn" if "zh_cn" in post else next(iter(post))
        lang = post[locale]
        if not isinstance(lang, dict) or not isinstance(lang.get("content"), list):
            raise self.refuse(9499, f"content.post.{locale}.content must be a list")
        lines: list[str] = [lang.get("title") or ""]
        for paragraph in lang["content"]:
            if not isinstance(paragraph, list):
                raise self.refuse(9499, "each post paragraph must be a list")
            line = ""
            for element in paragraph:
                line += self.post_element_text(element)
            lines.append(line)
        return join_lines(lines)

    def post_element_text(self, element: Any) -> str:
        tag = element.get("tag") if isinstance(element, dict) else None
        if tag in ("text", "md", "code_block"):
            if not isinstance(element.get("text"), str):
                raise self.refuse(9499, f"post {tag} element needs text")
            text = cast(str, element["text"])
            return strip_markdown(text) if tag == "md" else text
        if tag == "a":
            if not isinstance(element.get("text"), str) or not is_http_url(element.get("href")):
                raise self.refuse(9499, "post a element needs text and an http(s) href")
            return cast(str, element["text"])
        if tag == "at":
            user = element.get("user_id")
            if not isinstance(user, str):
                raise self.refuse(9499, "post at element needs user_id")
            return "@所有人" if user == "all" else f"@{element.get('user_name') or user}"
        if tag in ("img", "emotion", "hr", "media"):
            return ""
        raise self.refuse(9499, f"unknown post tag {tag!r}")


_FEISHU_TEXT_AT = re.compile(r"<at\s+user_id\s*=\s*[\"']?([^\"'\s>]+)[\"']?\s*>(.*?)</at>", re.S)
_FEISHU_ANY_AT = re.compile(r"<at\s+(?:user_id|id|open_id|email)\s*=\s*[\"']?([^\"'\s>]+)", re.I)


def feishu_at_visible(text: str) -> str:
    def show(m: re.Match[str]) -> str:
        return "@所有人" if m.group(1) == "all" else f"@{m.group(2) or m.group(1)}"

    return _FEISHU_TEXT_AT.sub(show, text)


def feishu_card_texts(card: dict[str, Any]) -> list[str]:
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("tag") in ("plain_text", "lark_md", "markdown") and isinstance(
                node.get("content"), str
            ):
                content = cast(str, node["content"])
                texts.append(content if node["tag"] == "plain_text" else strip_markdown(content))
            for key, value in node.items():
                if key != "content" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card.get("header"))
    walk({k: v for k, v in card.items() if k != "header"})
    return texts


# --------------------------------------------------------------------------------------------
# Slack


_SLACK_BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "divider",
    "image",
    "actions",
    "rich_text",
    "markdown",
    "input",
    "file",
    "video",
}


class FakeSlack(FakeChat):
    """Slack incoming webhook: ``/services/T/B/X``; 200 ``ok`` or a status with an error string.

    Stricter than Slack: a payload without ``text`` is refused (``no_text``) even with blocks.
    """

    platform = "slack"
    MAX_BLOCKS = 50
    SECTION_MAX = 3000
    FIELD_MAX = 2000
    HEADER_MAX = 150
    ERRORS: ClassVar[dict[str, int]] = {
        "invalid_payload": 400,
        "no_text": 400,
        "invalid_blocks": 400,
        "user_not_found": 400,
        "action_prohibited": 403,
        "invalid_token": 403,
        "channel_not_found": 404,
        "no_service": 404,
        "channel_is_archived": 410,
        "rate_limited": 429,
        "rollup_error": 500,
    }
    STATUS_ERRORS: ClassVar[dict[int, str]] = {
        400: "invalid_payload",
        403: "action_prohibited",
        404: "channel_not_found",
        410: "channel_is_archived",
        429: "rate_limited",
        500: "rollup_error",
    }

    def __init__(
        self,
        team: str = "T0000HERALD",
        bot: str = "B0000HERALD",
        secret: str = "XXXXXXXXXXXXXXXXXXXXXXXX",
        *,
        interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.team, self.bot, self.secret = team, bot, secret
        self.archived = False
        self.window = SlidingWindow(1, interval)

    def url(self, **kw: Any) -> str:
        return f"{self.base_url}/services/{self.team}/{self.bot}/{self.secret}"

    def error_reply(self, code: int | str) -> Reply:
        if isinstance(code, int) and code in self.STATUS_ERRORS:
            code = self.STATUS_ERRORS[code]
        if isinstance(code, str) and code in self.ERRORS:
            headers = {"Retry-After": "1"} if code == "rate_limited" else {}
            return reply_text(self.ERRORS[code], code, code=code, headers=headers)
        return super().error_reply(code)

    def refuse(self, error: str, detail: str = "") -> Refusal:
        return Refusal(self.error_reply(error), detail or error)

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        if request.path != f"/services/{self.team}/{self.bot}/{self.secret}":
            raise self.refuse("no_service")
        if self.archived:
            raise self.refuse("channel_is_archived")
        body = self.payload(request)
        if not isinstance(body, dict):
            raise self.refuse("invalid_payload", "body is not a JSON object")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise self.refuse("no_text")
        blocks = body.get("blocks")
        if blocks is not None:
            problem = check_slack_blocks(blocks)
            if problem:
                raise self.refuse("invalid_blocks", problem)
        wait = self.window.wait(request.at)
        if wait > 0:
            reply = reply_text(
                429,
                "rate_limited",
                code="rate_limited",
                headers={"Retry-After": str(retry_seconds(wait))},
            )
            raise Refusal(reply, f"more than 1 message per {self.window.period} s")
        self.window.add(request.at)
        visible = slack_blocks_text(blocks) if blocks else slack_visible(text)
        extra = {"blocks": len(blocks) if isinstance(blocks, list) else 0}
        kind = "blocks" if blocks else "text"
        return self._accepted(request, body, visible, len(text), kind, extra), reply_text(200, "ok")

    @staticmethod
    def payload(request: Request) -> Any:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(request.raw.decode("utf-8", "replace")))
            return parse_json(form.get("payload", "").encode("utf-8"))
        return parse_json(request.raw)


def check_slack_text(obj: Any, where: str, limit: int, kinds: Sequence[str]) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return f"{where} must be a text object of type {'/'.join(kinds)}"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return f"{where}.text must be a non-empty string"
    if len(text) > limit:
        return f"{where}.text is {len(text)} characters, more than {limit}"
    return None


def check_slack_block(block: Any, where: str) -> str | None:
    if not isinstance(block, dict) or block.get("type") not in _SLACK_BLOCK_TYPES:
        return f"{where} has an unknown type"
    if len(str(block.get("block_id", ""))) > 255:
        return f"{where}.block_id is longer than 255"
    kind = block["type"]
    if kind == "header":
        return check_slack_text(block.get("text"), f"{where}.text", 150, ["plain_text"])
    if kind == "section":
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            return f"{where} needs text or fields"
        if block.get("text") is not None:
            problem = check_slack_text(
                block["text"], f"{where}.text", 3000, ["mrkdwn", "plain_text"]
            )
            if problem:
                return problem
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                return f"{where}.fields must be a list of at most 10"
            for i, item in enumerate(fields):
                problem = check_slack_text(
                    item, f"{where}.fields[{i}]", 2000, ["mrkdwn", "plain_text"]
                )
                if problem:
                    return problem
        return None
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return f"{where}.elements must hold 1 to 10 elements"
        for i, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") == "image":
                continue
            problem = check_slack_text(
                item, f"{where}.elements[{i}]", 3000, ["mrkdwn", "plain_text"]
            )
            if problem:
                return problem
        return None
    if kind == "image":
        if not is_http_url(block.get("image_url")) or not isinstance(block.get("alt_text"), str):
            return f"{where} needs image_url and alt_text"
        return None
    if kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text or len(text) > 12000:
            return f"{where}.text must be 1 to 12000 characters"
    return None


def check_slack_blocks(blocks: Any) -> str | None:
    """The reason Slack would answer ``invalid_blocks``, or None."""
    if not isinstance(blocks, list):
        return "blocks must be a list"
    if len(blocks) > FakeSlack.MAX_BLOCKS:
        return f"{len(blocks)} blocks, more than {FakeSlack.MAX_BLOCKS}"
    for i, block in enumerate(blocks):
        problem = check_slack_block(block, f"blocks[{i}]")
        if problem:
            return problem
    return None


_SLACK_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_SLACK_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_LINK = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_SLACK_BARE = re.compile(r"<([^<>]+)>")
_SLACK_EMPH = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^\n]+?)(?<=\S)\1(?![\w*_~])")


def slack_visible(text: str) -> str:
    """Slack mrkdwn to the text a reader sees."""
    out = _SLACK_SPECIAL.sub(r"@\1", text)
    out = _SLACK_SUBTEAM.sub(lambda m: m.group(2) or "@group", out)
    out = _SLACK_USER.sub(lambda m: "@" + (m.group(2) or m.group(1)), out)
    out = _SLACK_CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), out)
    out = _SLACK_LINK.sub(r"\2", out)
    out = _SLACK_BARE.sub(r"\1", out)
    out = _SLACK_EMPH.sub(r"\2", out).replace("`", "")
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def slack_blocks_text(blocks: list[Any]) -> str:
    texts: list[str] = []

    def text_of(obj: Any) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            raw = cast(str, obj["text"])
            texts.append(slack_visible(raw) if obj.get("type") == "mrkdwn" else raw)

    def walk_rich(node: Any) -> str:
        if isinstance(node, list):
            return "".join(walk_rich(n) for n in node)
        if not isinstance(node, dict):
            return ""
        kind = node.get("type")
        if kind == "text":
            return str(node.get("text", ""))
        if kind == "link":
            return str(node.get("text") or node.get("url", ""))
        if kind == "broadcast":
            return "@" + str(node.get("range", ""))
        if kind == "user":
            return "@" + str(node.get("user_id", ""))
        return walk_rich(node.get("elements", []))

    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            text_of(block.get("text"))
            for item in block.get("fields") or []:
                text_of(item)
        elif kind == "context":
            for item in block.get("elements") or []:
                text_of(item)
        elif kind == "markdown":
            texts.append(strip_markdown(str(block.get("text", ""))))
        elif kind == "rich_text":
            texts.append(walk_rich(block.get("elements", [])))
    return join_lines(texts)


# --------------------------------------------------------------------------------------------
# Discord


_DISCORD_PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d+)/([^/]+)$")


class FakeDiscord(FakeChat):
    """Discord webhook: ``/api/webhooks/ID/TOKEN``; 204 (200 with ``?wait=true``), JSON errors.

    Sizes are counted in characters (code points); every reply on the webhook's route carries
    ``X-RateLimit-*`` headers from a bucket of ``bucket_limit`` per ``bucket_period`` seconds.
    """

    platform = "discord"
    CONTENT_MAX = 2000
    EMBEDS_MAX = 10
    EMBED_TOTAL_MAX = 6000
    FIELD_LIMITS: ClassVar[dict[str, int]] = {"title": 256, "description": 4096}

    def __init__(
        self,
        webhook_id: str = "112233445566778899",
        token: str = "discord-token-0001",
        *,
        bucket_limit: int = 5,
        bucket_period: float = 2.0,
        per_minute: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.webhook_id = webhook_id
        self.token = token
        self.bucket = FixedBucket(bucket_limit, bucket_period)
        self.minute = SlidingWindow(per_minute, 60.0) if per_minute else None
        self._message_id = 1_300_000_000_000_000_000

    def url(self, **kw: Any) -> str:
        base = f"{self.base_url}/api/webhooks/{self.webhook_id}/{self.token}"
        return base + ("?wait=true" if kw.get("wait") else "")

    def error_reply(self, code: int | str) -> Reply:
        if code in (10015, 404):
            return self.err(404, 10015, "Unknown Webhook")
        if code in (50027, 401):
            return self.err(401, 50027, "Invalid Webhook Token")
        if code == 429:
            return self.rate_limited(1.0)
        if code in (500, 502, 503):
            return self.err(int(code), 0, f"{code}: {HTTPStatus(int(code)).phrase}")
        return super().error_reply(code)

    @staticmethod
    def err(status: int, code: int, message: str, errors: Any = None) -> Reply:
        obj: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            obj["errors"] = errors
        return reply_json(status, obj, code=code, message=message)

    def rate_limited(self, wait: float) -> Reply:
        obj = {"message": "You are being rate limited.", "retry_after": round(wait, 3)}
        obj["global"] = False
        headers = {"Retry-After": str(retry_seconds(wait)), "X-RateLimit-Scope": "shared"}
        return reply_json(429, obj, code=429, message=str(obj["message"]), headers=headers)

    def decorate(self, request: Request, reply: Reply) -> Reply:
        match = _DISCORD_PATH.match(request.path)
        if match and match.group(1) == self.webhook_id:
            reply.headers = {**reply.headers, **self.bucket.headers(request.at)}
        return reply

    def invalid(self, errors: dict[str, Any], detail: str) -> Refusal:
        return Refusal(self.err(400, 50035, "Invalid Form Body", errors), detail)

    @staticmethod
    def too_long(limit: int) -> dict[str, Any]:
        item = {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        return {"_errors": [item]}

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        match = _DISCORD_PATH.match(request.path)
        if not match:
            raise Refusal(self.err(404, 0, "404: Not Found"), "unknown path")
        if match.group(1) != self.webhook_id:
            raise Refusal(self.error_reply(10015), "unknown webhook id")
        if match.group(2) != self.token:
            raise Refusal(self.error_reply(50027), "wrong webhook token")
        wait = self.bucket.take(request.at)
        if wait <= 0 and self.minute is not None:
            wait = self.minute.wait(request.at)
        if wait > 0:
            raise Refusal(self.rate_limited(wait), "bucket exhausted")
        if self.minute is not None:
            self.minute.add(request.at)
        body = parse_json(request.raw)
        if not isinstance(body, dict):
            raise Refusal(self.err(400, 50109, "The request body contains invalid JSON."))
        content_chars, embed_chars = self.check_payload(body)
        text = discord_text(body)
        extra = {"content_chars": content_chars, "embed_chars": embed_chars}
        accepted = self._accepted(
            request, body, text, content_chars + embed_chars, "webhook", extra
        )
        if request.params.get("wait", "").lower() not in ("true", "1"):
            return accepted, Reply(204)
        self._message_id += 1
        message = {
            "id": str(self._message_id),
            "type": 0,
            "channel_id": "998877665544332211",
            "webhook_id": self.webhook_id,
            "content": body.get("content", ""),
            "embeds": body.get("embeds", []),
            "mention_everyone": bool({"@everyone", "@here"} & set(discord_pings(body))),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(request.at)),
        }
        return accepted, reply_json(200, message)

    def check_payload(self, body: dict[str, Any]) -> tuple[int, int]:
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
        if not isinstance(content, str) or not isinstance(embeds, list):
            raise self.invalid({"content": self.too_long(self.CONTENT_MAX)}, "bad types")
        if not content.strip() and not embeds:
            raise Refusal(self.err(400, 50006, "Cannot send an empty message"), "empty")
        if len(content) > self.CONTENT_MAX:
            raise self.invalid({"content": self.too_long(self.CONTENT_MAX)}, "content too long")
        if len(embeds) > self.EMBEDS_MAX:
            raise self.invalid({"embeds": self.too_long(self.EMBEDS_MAX)}, "too many embeds")
        total = sum(self.check_embed(i, embed) for i, embed in enumerate(embeds))
        if total > self.EMBED_TOTAL_MAX:
            error = {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": f"Embed size exceeds maximum size of {self.EMBED_TOTAL_MAX}",
            }
            raise self.invalid({"embeds": {"_errors": [error]}}, f"embeds hold {total} chars")
        mentions = body.get("allowed_mentions")
        if mentions is not None and not (
            isinstance(mentions, dict)
            and set(mentions.get("parse", [])) <= {"users", "roles", "everyone"}
        ):
            error = {"code": "BASE_TYPE_CHOICES", "message": "Value must be one of users, roles."}
            raise self.invalid({"allowed_mentions": {"_errors": [error]}}, "bad allowed_mentions")
        return len(content), total

    def check_embed(self, index: int, embed: Any) -> int:
        slot: dict[str, Any] = {}
        where = {"embeds": {str(index): slot}}
        if not isinstance(embed, dict):
            raise self.invalid(where, f"embed {index} is not an object")
        total = 0
        for name, limit in self.FIELD_LIMITS.items():
            value = str(embed.get(name) or "")
            if len(value) > limit:
                slot[name] = self.too_long(limit)
                raise self.invalid(where, f"embed {index} {name} too long")
            total += len(value)
        if embed.get("url") is not None and not is_http_url(embed.get("url")):
            error = {"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}
            slot["url"] = {"_errors": [error]}
            raise self.invalid(where, f"embed {index} url is not http(s)")
        fields = embed.get("fields") or []
        if not isinstance(fields, list) or len(fields) > 25:
            slot["fields"] = self.too_long(25)
            raise self.invalid(where, f"embed {index} has too many fields")
        for item in fields:
            item = item if isinstance(item, dict) else {}
            name, value = str(item.get("name") or ""), str(item.get("value") or "")
            if len(name) > 256 or len(value) > 1024 or not name or not value:
                slot["fields"] = self.too_long(1024)
                raise self.invalid(where, f"embed {index} field too long or empty")
            total += len(name) + len(value)
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = embed.get(key)
            value = str(part.get(sub) or "") if isinstance(part, dict) else ""
            if len(value) > limit:
                slot[key] = {sub: self.too_long(limit)}
                raise self.invalid(where, f"embed {index} {key}.{sub} too long")
            total += len(value)
        return total


_DISCORD_MASKED = re.compile(r"\[([^\]]+)\]\(<?https?://[^)\s]+>?\)")


def discord_visible(text: str) -> str:
    out = _DISCORD_MASKED.sub(r"\1", text)
    out = re.sub(r"^-#\s+", "", out, flags=re.M).replace("||", "")
    return strip_markdown(out)


def discord_text(body: dict[str, Any]) -> str:
    parts: list[Any] = [discord_visible(str(body.get("content") or ""))]
    for embed in body.get("embeds") or []:
        author = embed.get("author") if isinstance(embed.get("author"), dict) else {}
        footer = embed.get("footer") if isinstance(embed.get("footer"), dict) else {}
        parts += [author.get("name"), embed.get("title")]
        parts.append(discord_visible(str(embed.get("description") or "")))
        for item in embed.get("fields") or []:
            parts += [item.get("name"), discord_visible(str(item.get("value") or ""))]
        parts.append(footer.get("text"))
    return join_lines(parts)


# --------------------------------------------------------------------------------------------
# Telegram


_TG_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
_TG_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
}
_TG_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TG_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")


class TelegramParseError(ValueError):
    """The HTML is not what Telegram accepts; the text follows "can't parse entities: "."""


def _byte_offset(text: str, index: int) -> int:
    return count_utf8(text[:index])


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    match = _TG_ENTITY.match(text, i)
    if not match:
        return None
    if match.group(3):
        return _TG_NAMED[match.group(3)], match.end() - i
    number = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    if number == 0 or number > 0x10FFFF or 0xD800 <= number <= 0xDFFF:
        return None
    return chr(number), match.end() - i


def _decode_attribute(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        decoded = _decode_entity(match.group(0), 0)
        return decoded[0] if decoded else match.group(0)

    return _TG_ENTITY.sub(one, value)


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes after the tag name, as Telegram does; return them and the index past '>'."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise TelegramParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if text[i] == ">":
            return attrs, i + 1
        start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[start:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise TelegramParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {begin}"
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise TelegramParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if text[i] in "'\"":
            quote_char = text[i]
            end = text.find(quote_char, i + 1)
            if end < 0:
                raise TelegramParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            attrs[name] = _decode_attribute(text[i + 1 : end])
            i = end + 1
        else:
            start = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            if i < n and not text[i].isspace() and text[i] != ">":
                raise TelegramParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
                )
            attrs[name] = text[start:i].lower()


def parse_telegram_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the visible text and its entities (offsets in UTF-16 units).

    Raises TelegramParseError with Telegram's own wording for tags it does not accept.
    """
    out: list[str] = []
    units = 0
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                units += count_utf16(decoded[0])
                i += decoded[1]
                continue
        if char != "<":
            out.append(char)
            units += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue
        begin = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i + 2)
            if end < 0:
                raise TelegramParseError(f"Unclosed end tag at byte offset {begin}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise TelegramParseError(f"Unexpected end tag at byte offset {begin}")
            open_tag, attrs, start = stack.pop()
            if name != open_tag:
                raise TelegramParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{open_tag}>", '
                    f'found "</{name}>"'
                )
            if units > start:
                entities.append(_tg_entity(open_tag, attrs, start, units - start))
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise TelegramParseError(f"Unclosed start tag at byte offset {begin}")
        tag = text[i + 1 : j].lower()
        if tag not in _TG_TAGS:
            raise TelegramParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        attrs, i = _parse_attributes(text, j, tag, begin)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise TelegramParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
            )
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise TelegramParseError(f'Tag "tg-emoji" needs "emoji-id" at byte offset {begin}')
        stack.append((tag, attrs, units))
    if stack:
        raise TelegramParseError(f"Can't find end tag corresponding to start tag {stack[-1][0]}")
    plain = "".join(out)
    return _tg_trim(plain, sorted(entities, key=lambda e: (e["offset"], -e["length"])))


def _tg_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": _TG_ENTITY_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        user = re.match(r"tg://user\?id=(\d+)$", href)
        if user:
            entity.update(type="text_mention", user={"id": int(user.group(1))})
        else:
            entity["url"] = href
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif tag == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"][len("language-") :]
    return entity


def _tg_trim(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped = plain.strip()
    lead = count_utf16(plain[: len(plain) - len(plain.lstrip())])
    total = count_utf16(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


BOT_USER = {"id": 1, "is_bot": True, "first_name": "herald", "username": "herald_fake_bot"}


class FakeTelegram(FakeChat):
    """Telegram Bot API: ``/bot<TOKEN>/sendMessage``; ``{"ok": …}`` replies.

    Length is counted in characters of the parsed text (code points, as measured on the live
    API); entity offsets are UTF-16 units. Chats whose id starts with "-" are groups (also 20
    per minute); every chat gets about one message per ``interval`` seconds.
    """

    platform = "telegram"
    allow_get = True
    TEXT_MAX = 4096

    def __init__(
        self,
        token: str = "123456789:HERALD-fake-token",
        *,
        chats: Iterable[str | int] | None = None,
        interval: float = 1.0,
        group_per_minute: int = 20,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.chats = {str(c) for c in chats} if chats is not None else None
        self.interval = interval
        self.group_per_minute = group_per_minute
        self.per_chat: dict[str, SlidingWindow] = {}
        self.per_group: dict[str, SlidingWindow] = {}
        self._message_id = 0

    def url(self, **kw: Any) -> str:
        return f"{self.base_url}/bot{kw.get('token', self.token)}/{kw.get('method', 'sendMessage')}"

    def error_reply(self, code: int | str) -> Reply:
        texts = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden: bot was kicked from the group chat",
            404: "Not Found",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        if code == 429:
            return self.too_many(5)
        if isinstance(code, int) and code in texts:
            return self.err(code, texts[code])
        return super().error_reply(code)

    @staticmethod
    def err(status: int, description: str, parameters: Any = None) -> Reply:
        obj: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters is not None:
            obj["parameters"] = parameters
        return reply_json(status, obj, code=status, message=description)

    def too_many(self, seconds: int) -> Reply:
        reply = self.err(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        reply.headers["Retry-After"] = str(seconds)
        return reply

    def refuse(self, description: str, detail: str = "") -> Refusal:
        return Refusal(self.err(400, f"Bad Request: {description}"), detail or description)

    def process(self, request: Request) -> tuple[Accepted | None, Reply]:
        match = re.match(r"^/bot([^/]+)/([A-Za-z]+)$", request.path)
        if not match:
            raise Refusal(self.err(404, "Not Found"), "unknown path")
        if match.group(1) != self.token:
            raise Refusal(self.err(401, "Unauthorized"), "wrong token")
        method = match.group(2).lower()
        if method == "getme":
            return None, reply_json(200, {"ok": True, "result": BOT_USER})
        if method != "sendmessage":
            raise Refusal(self.err(404, "Not Found"), f"method {method} not faked")
        params = self.params(request)
        chat = params.get("chat_id")
        if chat is None or str(chat) == "":
            raise self.refuse("chat_id is empty")
        chat_id = str(chat)
        if self.chats is not None and chat_id not in self.chats:
            raise self.refuse("chat not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise self.refuse("message text is empty")
        visible, entities = self.parse(text, params.get("parse_mode"))
        if not visible:
            raise self.refuse("message text is empty")
        if len(visible) > self.TEXT_MAX:
            raise self.refuse("message is too long", f"{len(visible)} characters")
        wait = self.check_rate(chat_id, request.at)
        if wait > 0:
            raise Refusal(self.too_many(retry_seconds(wait)), "rate limited")
        self._message_id += 1
        is_group = chat_id.startswith("-")
        chat_obj = {
            "id": int(chat_id) if re.fullmatch(r"-?\d+", chat_id) else chat_id,
            "type": "supergroup" if is_group else "private",
        }
        result = {
            "message_id": self._message_id,
            "from": BOT_USER,
            "chat": chat_obj,
            "date": int(request.at),
            "text": visible,
        }
        if entities:
            result["entities"] = entities
        extra = {"chat_id": chat_id, "entities": entities, "parse_mode": params.get("parse_mode")}
        accepted = self._accepted(request, params, visible, len(visible), "sendMessage", extra)
        return accepted, reply_json(200, {"ok": True, "result": result})

    def params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.params)
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            body = parse_json(request.raw)
            if not isinstance(body, dict):
                raise self.refuse("can't parse JSON object")
            params.update(body)
        elif ctype.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(request.raw.decode("utf-8", "replace")))
        return params

    def parse(self, text: str, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
        mode = str(parse_mode or "").lower()
        if mode == "":
            return text.strip(), []
        if mode != "html":
            raise self.refuse("unsupported parse_mode", "the fake parses only HTML or plain text")
        try:
            return parse_telegram_html(text)
        except TelegramParseError as exc:
            raise self.refuse(f"can't parse entities: {exc}") from exc

    def check_rate(self, chat_id: str, now: float) -> float:
        chat = self.per_chat.setdefault(chat_id, SlidingWindow(1, self.interval))
        windows = [chat]
        if chat_id.startswith("-"):
            windows.append(
                self.per_group.setdefault(chat_id, SlidingWindow(self.group_per_minute, 60.0))
            )
        wait = max(w.wait(now) for w in windows)
        if wait <= 0:
            for window in windows:
                window.add(now)
        return wait


# --------------------------------------------------------------------------------------------
# Mentions


def wecom_pings(body: dict[str, Any]) -> list[str]:
    kind = body.get("msgtype")
    part = body.get(kind) if isinstance(kind, str) else None
    if kind not in ("text", "markdown") or not isinstance(part, dict):
        return []
    found: list[str] = []
    for user in _WECOM_AT.findall(str(part.get("content", ""))):
        found.append("@all" if user in ("all", "@all") else f"user:{user}")
    if kind == "text":
        for user in part.get("mentioned_list") or []:
            found.append("@all" if user == "@all" else f"user:{user}")
        for mobile in part.get("mentioned_mobile_list") or []:
            found.append("@all" if mobile == "@all" else f"mobile:{mobile}")
    return dedupe(found)


def dingtalk_pings(body: dict[str, Any]) -> list[str]:
    at = body.get("at")
    if not isinstance(at, dict):
        return []
    found = ["@all"] if at.get("isAtAll") in (True, "true") else []
    found += [f"mobile:{m}" for m in at.get("atMobiles") or []]
    found += [f"user:{u}" for u in at.get("atUserIds") or []]
    return dedupe(found)


def feishu_pings(body: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def scan(text: str) -> None:
        for user in _FEISHU_ANY_AT.findall(text):
            found.append("@all" if user == "all" else f"user:{user}")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("tag") == "at" and isinstance(node.get("user_id"), str):
                user = node["user_id"]
                found.append("@all" if user == "all" else f"user:{user}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            scan(node)

    walk(body.get("card") if body.get("msg_type") == "interactive" else body.get("content"))
    return dedupe(found)


def slack_pings(body: dict[str, Any]) -> list[str]:
    """Mentions in top-level text, attachments and mrkdwn/rich-text blocks (plain_text never)."""
    found: list[str] = []
    bare = body.get("link_names") in (True, 1, "1", "true")

    def scan(text: str) -> None:
        for name in _SLACK_SPECIAL.findall(text):
            found.append(f"@{name}")
        for user, _ in _SLACK_USER.findall(text):
            found.append(f"user:{user}")
        for group, _ in _SLACK_SUBTEAM.findall(text):
            found.append(f"group:{group}")
        if bare:
            found.extend(
                f"@{m}" for m in re.findall(r"(?<![\w<!])@(channel|here|everyone)\b", text)
            )

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind == "mrkdwn" and isinstance(node.get("text"), str):
                scan(node["text"])
            elif kind == "broadcast":
                found.append(f"@{node.get('range')}")
            elif kind == "user" and "user_id" in node:
                found.append(f"user:{node['user_id']}")
            elif kind == "usergroup" and "usergroup_id" in node:
                found.append(f"group:{node['usergroup_id']}")
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)

    if isinstance(body.get("text"), str):
        scan(body["text"])
    for attachment in body.get("attachments") or []:
        if isinstance(attachment, dict):
            for key in ("text", "pretext", "fallback"):
                if isinstance(attachment.get(key), str):
                    scan(attachment[key])
    walk(body.get("blocks") or [])
    return dedupe(found)


def discord_pings(body: dict[str, Any]) -> list[str]:
    """Mentions in ``content`` that ``allowed_mentions`` lets ping (embeds never ping)."""
    content = body.get("content")
    if not isinstance(content, str):
        return []
    mentions = body.get("allowed_mentions")
    if isinstance(mentions, dict):
        parse = set(mentions.get("parse") or [])
        users = {str(u) for u in mentions.get("users") or []}
        roles = {str(r) for r in mentions.get("roles") or []}
    else:
        parse, users, roles = {"users", "roles", "everyone"}, set(), set()
    found: list[str] = []
    if "everyone" in parse:
        found += [f"@{m}" for m in re.findall(r"@(everyone|here)\b", content)]
    for user in re.findall(r"<@!?(\d+)>", content):
        if "users" in parse or user in users:
            found.append(f"user:{user}")
    for role in re.findall(r"<@&(\d+)>", content):
        if "roles" in parse or role in roles:
            found.append(f"role:{role}")
    return dedupe(found)


_TG_USERNAME = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z][A-Za-z0-9_]{4,31})(?![A-Za-z0-9_])")


def telegram_pings(accepted: Accepted) -> list[str]:
    """Telegram has no @all; a public @username or a tg://user link notifies that one user."""
    names = _TG_USERNAME.findall(accepted.text)
    found = [f"user:@{name}" for name in names]
    for entity in accepted.extra.get("entities", []):
        if entity.get("type") == "text_mention":
            found.append(f"user:{entity['user']['id']}")
    return dedupe(found)


def pings(accepted: Accepted) -> list[str]:
    """The mentions ``accepted`` would really trigger: "@all", "@here", "user:ID", "mobile:N"…"""
    body = accepted.body if isinstance(accepted.body, dict) else {}
    if accepted.platform == "wecom":
        return wecom_pings(body)
    if accepted.platform == "dingtalk":
        return dingtalk_pings(body)
    if accepted.platform == "feishu":
        return feishu_pings(body)
    if accepted.platform == "slack":
        return slack_pings(body)
    if accepted.platform == "discord":
        return discord_pings(body)
    if accepted.platform == "telegram":
        return telegram_pings(accepted)
    raise ValueError(f"pings: unknown platform {accepted.platform!r}")


ALL_FAKES: tuple[type[FakeChat], ...] = (
    FakeWeCom,
    FakeDingTalk,
    FakeFeishu,
    FakeSlack,
    FakeDiscord,
    FakeTelegram,
)
