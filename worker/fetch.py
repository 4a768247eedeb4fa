"""The one HTTP seam herald uses to read the web: list pages, feeds and article pages.

A ``Fetcher`` wraps one ``requests.Session`` and adds (connect, read) timeouts, an overall
deadline per request enforced while the body streams, a size cap counted after
decompression, conditional GET, charset detection, and a per-host limit on requests in
flight that is shared by every Fetcher in the process. It is safe to share between threads.
Every connection, redirect hops included, goes through the SSRF guard (``worker.netguard``):
a refused address fails as ``FetchError(reason="blocked")``.

This module must NOT parse HTML or feeds and must NOT touch the database.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import charset_normalizer
import requests
import urllib3

from worker.netguard import BlockedAddress, GuardedAdapter, Policy

DEFAULT_USER_AGENT = "herald/0.1 (+https://github.com/herald-bot/herald)"

_CHUNK_SIZE = 64 * 1024
_SNIFF_BYTES = 4096
_POOL_MAXSIZE = 32
_DEFAULT_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
    "Accept-Encoding": "gzip, deflate",
}


@dataclass(frozen=True)
class FetchResult:
    """One successful response (2xx or 304) with its body read and decoded."""

    url: str
    status: int
    content: bytes
    text: str
    encoding: str
    content_type: str
    etag: str
    last_modified: str
    elapsed_ms: float

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 to a conditional GET."""
        return self.status == 304


class FetchError(Exception):
    """A request that produced no usable response.

    ``reason`` is one of: ``http_status``, ``timeout``, ``deadline``, ``too_large``,
    ``connect``, ``too_many_redirects``, ``invalid_url``, ``protocol`` (the body could not
    be decoded, e.g. broken gzip), ``blocked`` (the SSRF guard refused the address).
    """

    def __init__(
        self,
        url: str,
        reason: str,
        detail: str,
        status: int | None = None,
        retry_after: float | None = None,
        body_excerpt: str = "",
    ) -> None:
        super().__init__(f"fetch: {url}: {detail}")
        self.url = url
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.body_excerpt = body_excerpt  # the start of an error answer (anti-bot pages, messages)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.url, self.reason, self.detail, self.status, self.retry_after, self.body_excerpt),
        )


# --- per-host limit -------------------------------------------------------------------------


class _HostGate:
    """Counts requests in flight per host; each caller waits until below its own limit."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_flight: dict[str, int] = {}

    @contextmanager
    def slot(self, host: str, limit: int) -> Iterator[None]:
        with self._cond:
            while self._in_flight.get(host, 0) >= limit:
                self._cond.wait()
            self._in_flight[host] = self._in_flight.get(host, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                left = self._in_flight[host] - 1
                if left:
                    self._in_flight[host] = left
                else:
                    del self._in_flight[host]
                self._cond.notify_all()


_HOST_GATE = _HostGate()


# --- deadline watchdog ----------------------------------------------------------------------


class _Watchdog:
    """Shuts down a response's socket when the deadline passes, so a blocked read returns."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, seconds: float) -> None:
        self._raw = raw
        self._lock = threading.Lock()
        self._done = False
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            with suppress(OSError, ValueError, RuntimeError, NotImplementedError):
                self._raw.shutdown()

    def disarm(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


# --- the fetcher ----------------------------------------------------------------------------


class Fetcher:
    """Reads URLs over HTTP(S) with timeouts, a deadline, a size cap and a per-host limit."""

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        deadline: float = 30.0,
        max_bytes: int = 15 * 1024 * 1024,
        per_host: int = 4,
        max_redirects: int = 5,
        policy: Policy | None = None,
    ) -> None:
        """``policy`` says which non-public addresses may be reached (default: none)."""
        check_settings(connect_timeout, read_timeout, deadline, max_bytes, per_host, max_redirects)
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.per_host = per_host
        self.max_redirects = max_redirects
        self.policy = Policy() if policy is None else policy
        self._session = build_session(user_agent, max_redirects, self.policy)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str = "",
        last_modified: str = "",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url``; with ``etag``/``last_modified`` the request is conditional."""
        extra: dict[str, str] = {}
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        extra.update(headers or {})
        return self._request(
            "GET",
            url,
            params=params,
            data=None,
            headers=extra,
            etag=etag,
            last_modified=last_modified,
        )

    def post(
        self, url: str, data: Mapping[str, str], *, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        """POST ``data`` form-encoded to ``url``."""
        return self._request(
            "POST",
            url,
            params=None,
            data=data,
            headers=dict(headers or {}),
            etag="",
            last_modified="",
        )

    def close(self) -> None:
        """Close pooled connections; the Fetcher must not be used afterwards."""
        self._session.close()

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        headers: dict[str, str],
        etag: str,
        last_modified: str,
    ) -> FetchResult:
        host = check_url(url)
        with _HOST_GATE.slot(host, self.per_host):
            started = time.monotonic()
            deadline_at = started + self.deadline
            resp = self._send(method, url, params, data, headers, deadline_at)
            try:
                return self._finish(resp, url, started, deadline_at, etag, last_modified)
            finally:
                resp.close()

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        headers: dict[str, str],
        deadline_at: float,
    ) -> requests.Response:
        timeout = (min(self.connect_timeout, self.deadline), min(self.read_timeout, self.deadline))
        try:
            return self._session.request(
                method,
                url,
                params=dict(params) if params else None,
                data=dict(data) if data is not None else None,
                headers=headers,
                timeout=timeout,
                stream=True,
                allow_redirects=True,
            )
        except BlockedAddress as exc:
            hop = (exc.request.url if exc.request is not None else None) or url
            redirected = urlsplit(hop).hostname != urlsplit(url.strip()).hostname
            detail = f"{exc} (after a redirect to {hop})" if redirected else str(exc)
            raise FetchError(url, "blocked", detail) from exc
        except requests.RequestException as exc:
            reason, detail = self._describe_request_error(exc, deadline_at)
            raise FetchError(url, reason, detail) from exc

    def _finish(
        self,
        resp: requests.Response,
        url: str,
        started: float,
        deadline_at: float,
        etag: str,
        last_modified: str,
    ) -> FetchResult:
        final_url = resp.url or url
        if time.monotonic() >= deadline_at:
            raise FetchError(final_url, "deadline", self._deadline_words())
        new_etag = resp.headers.get("ETag", "")
        new_last_modified = resp.headers.get("Last-Modified", "")
        content_type_header = resp.headers.get("Content-Type", "")
        if resp.status_code == 304:
            return FetchResult(
                url=final_url,
                status=304,
                content=b"",
                text="",
                encoding="",
                content_type=read_media_type(content_type_header),
                etag=new_etag or etag,
                last_modified=new_last_modified or last_modified,
                elapsed_ms=(time.monotonic() - started) * 1000.0,
            )
        if not 200 <= resp.status_code < 300:
            raise FetchError(
                final_url,
                "http_status",
                f"server answered HTTP {resp.status_code} {resp.reason or ''}".rstrip(),
                status=resp.status_code,
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                body_excerpt=read_error_excerpt(resp, content_type_header),
            )
        self._check_content_length(resp, final_url)
        content = self._read_body(resp, final_url, deadline_at)
        text, encoding = decode_body(content, content_type_header)
        return FetchResult(
            url=final_url,
            status=resp.status_code,
            content=content,
            text=text,
            encoding=encoding,
            content_type=read_media_type(content_type_header),
            etag=new_etag,
            last_modified=new_last_modified,
            elapsed_ms=(time.monotonic() - started) * 1000.0,
        )

    def _check_content_length(self, resp: requests.Response, url: str) -> None:
        declared = resp.headers.get("Content-Length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(
                url,
                "too_large",
                f"Content-Length {declared} exceeds the limit of {self.max_bytes} bytes",
                status=resp.status_code,
            )

    def _read_body(self, resp: requests.Response, url: str, deadline_at: float) -> bytes:
        raw = resp.raw
        watchdog = _Watchdog(raw, deadline_at - time.monotonic())
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() >= deadline_at:
                    raise FetchError(url, "deadline", self._deadline_words())
                chunk: bytes = raw.read1(_CHUNK_SIZE, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        url,
                        "too_large",
                        f"body exceeds the limit of {self.max_bytes} bytes after decompression",
                        status=resp.status_code,
                    )
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if watchdog.fired:
                raise FetchError(url, "deadline", self._deadline_words()) from exc
            reason, detail = self._describe_body_error(exc, deadline_at)
            raise FetchError(url, reason, detail, status=resp.status_code) from exc
        finally:
            watchdog.disarm()
        if watchdog.fired:
            raise FetchError(url, "deadline", self._deadline_words())
        raw.release_conn()
        return b"".join(chunks)

    def _deadline_words(self) -> str:
        return f"deadline of {self.deadline:g} s exceeded"

    def _describe_request_error(
        self, exc: requests.RequestException, deadline_at: float
    ) -> tuple[str, str]:
        if isinstance(exc, requests.TooManyRedirects):
            return "too_many_redirects", f"more than {self.max_redirects} redirects"
        if isinstance(
            exc,
            requests.exceptions.InvalidSchema
            | requests.exceptions.InvalidURL
            | requests.exceptions.MissingSchema
            | requests.exceptions.URLRequired,
        ):
            return "invalid_url", f"invalid or unsupported URL ({exc})"
        if isinstance(exc, requests.Timeout):
            if time.monotonic() >= deadline_at:
                return "deadline", self._deadline_words()
            if isinstance(exc, requests.ConnectTimeout):
                return "timeout", f"no connection within {self.connect_timeout:g} s"
            return "timeout", f"no response within {self.read_timeout:g} s"
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return "protocol", f"response could not be decoded ({exc})"
        return "connect", f"connection failed ({exc})"

    def _describe_body_error(self, exc: Exception, deadline_at: float) -> tuple[str, str]:
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
            if time.monotonic() >= deadline_at:
                return "deadline", self._deadline_words()
            return "timeout", f"body stalled for more than {self.read_timeout:g} s"
        if isinstance(exc, urllib3.exceptions.DecodeError):
            return "protocol", f"body could not be decompressed ({exc})"
        return "connect", f"connection broke while reading the body ({exc})"


def check_settings(
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
    max_bytes: int,
    per_host: int,
    max_redirects: int,
) -> None:
    """Reject nonsensical Fetcher settings early."""
    if min(connect_timeout, read_timeout, deadline) <= 0:
        raise ValueError("fetch: timeouts and deadline must be positive")
    if max_bytes <= 0:
        raise ValueError("fetch: max_bytes must be positive")
    if per_host < 1:
        raise ValueError("fetch: per_host must be at least 1")
    if max_redirects < 0:
        raise ValueError("fetch: max_redirects must not be negative")


def build_session(user_agent: str, max_redirects: int, policy: Policy) -> requests.Session:
    """One pooled session, shared by all threads using a Fetcher, guarded by ``policy``."""
    session = requests.Session()
    adapter = GuardedAdapter(policy, pool_connections=16, pool_maxsize=_POOL_MAXSIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(_DEFAULT_HEADERS)
    session.headers["User-Agent"] = user_agent
    session.max_redirects = max_redirects
    return session


def check_url(url: str) -> str:
    """Return the URL's host, or raise FetchError(invalid_url) for non-HTTP(S) URLs."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError as exc:
        raise FetchError(url, "invalid_url", f"URL cannot be parsed ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(url, "invalid_url", f"unsupported URL scheme {parts.scheme!r}")
    if not host:
        raise FetchError(url, "invalid_url", "URL has no host")
    return host


def read_error_excerpt(resp: requests.Response, content_type_header: str, limit: int = 4096) -> str:
    """The first ``limit`` bytes of an error answer, decoded; "" when it cannot be read quickly."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in resp.raw.stream(1024, decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except Exception:  # an excerpt is a courtesy: any failure to read it gives ""
        return ""
    return decode_body(b"".join(chunks)[:limit], content_type_header)[0]


def read_media_type(content_type_header: str) -> str:
    """``text/html; charset=gbk`` -> ``text/html``."""
    return content_type_header.split(";", 1)[0].strip().lower()


# --- Retry-After ----------------------------------------------------------------------------

_DELTA_SECONDS = re.compile(r"\d+", re.ASCII)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable.

    A date in the past gives 0.0. A naive ``now`` is taken as UTC.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())


# --- charset detection ----------------------------------------------------------------------

_GB18030_LABELS = (
    "gb2312",
    "gbk",
    "x-gbk",
    "gb_2312-80",
    "gb_2312",
    "gb-2312",
    "cp936",
    "ms936",
    "windows-936",
    "csgb2312",
    "chinese",
    "iso-ir-58",
    "csiso58gb231280",
    "gb18030",
    "euc-cn",
    "x-euc-cn",
)
_WINDOWS_1252_LABELS = (
    "iso-8859-1",
    "iso8859-1",
    "iso_8859-1",
    "iso88591",
    "latin1",
    "latin-1",
    "l1",
    "cp819",
    "ibm819",
    "iso-ir-100",
    "csisolatin1",
    "us-ascii",
    "ascii",
    "ansi_x3.4-1968",
    "windows-1252",
    "cp1252",
    "x-cp1252",
)
_LABEL_ALIASES: dict[str, str] = {
    **dict.fromkeys(_GB18030_LABELS, "gb18030"),
    **dict.fromkeys(_WINDOWS_1252_LABELS, "cp1252"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j"), "cp932"
    ),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cp949"), "cp949"),
    **dict.fromkeys(("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"), "utf-8"),
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16-le"), "utf-16-le"),
    **dict.fromkeys(("utf-16be", "utf-16-be"), "utf-16-be"),
}
# Header labels servers send by default whatever the page is; in-document declarations win.
_WEAK_HEADER_LABELS = frozenset(_WINDOWS_1252_LABELS)
_REFUSED_CODECS = frozenset(
    {"utf-7", "undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}
)
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def resolve_codec(label: str) -> str | None:
    """Map a charset label to a Python text codec name the way browsers do; None if unknown."""
    key = label.strip().strip("\"'").strip().lower()
    if not key:
        return None
    if key in _LABEL_ALIASES:
        return _LABEL_ALIASES[key]
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def decode_body(content: bytes, content_type_header: str) -> tuple[str, str]:
    """Decode a response body; return ``(text, codec)``.

    Order: BOM, Content-Type charset, ``<meta>`` charset in the first 4 KB, XML declaration,
    strict UTF-8, charset_normalizer, and finally gb18030 with replacement characters.
    A Latin-1/ASCII header label is weak (servers send it by default): declarations in the
    document and valid UTF-8 win over it. Unknown labels fall through to the next step.
    """
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(codec, errors="replace"), codec
    header_label = read_charset_param(content_type_header)
    header_codec = resolve_codec(header_label) if header_label else None
    weak_codec: str | None = None
    if header_codec and header_label.lower() in _WEAK_HEADER_LABELS:
        weak_codec, header_codec = header_codec, None
    for declared in (header_codec, sniff_meta_charset(content), sniff_xml_encoding(content)):
        decoded = decode_with(content, declared)
        if decoded is not None:
            return decoded
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = decode_with(content, weak_codec) or decode_with(content, guess_codec(content))
    if decoded is not None:
        return decoded
    return content.decode("gb18030", errors="replace"), "gb18030"


def read_charset_param(content_type_header: str) -> str:
    """The charset parameter of a Content-Type header, or ""."""
    match = _CHARSET_PARAM.search(content_type_header or "")
    return match.group(1) if match else ""


def sniff_meta_charset(content: bytes) -> str | None:
    """Codec named by a ``<meta>`` charset in the first 4 KB (UTF-16 labels mean UTF-8)."""
    match = _META_CHARSET.search(content[:_SNIFF_BYTES])
    if not match:
        return None
    codec = resolve_codec(match.group(1).decode("ascii"))
    if codec in ("utf-16-le", "utf-16-be"):
        return "utf-8"
    return codec


def sniff_xml_encoding(content: bytes) -> str | None:
    """Codec named by an XML declaration at the start of the document."""
    match = _XML_ENCODING.match(content[:_SNIFF_BYTES])
    return resolve_codec(match.group(1).decode("ascii")) if match else None


def guess_codec(content: bytes) -> str | None:
    """charset_normalizer's best guess, mapped through the browser aliases."""
    best = charset_normalizer.from_bytes(content).best()
    if best is None:
        return None
    return resolve_codec(best.encoding)


def decode_with(content: bytes, codec: str | None) -> tuple[str, str] | None:
    """Decode with ``codec`` replacing bad bytes; None when there is no usable codec."""
    if not codec:
        return None
    try:
        return content.decode(codec, errors="replace"), codec
    except (LookupError, UnicodeError):
        return None
