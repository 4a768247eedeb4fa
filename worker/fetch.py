"""The one HTTP seam herald uses to read the web: list pages, feeds and article pages.

A ``Fetcher`` wraps one ``requests.Session`` and adds (connect, read) timeouts, an overall
deadline per request enforced while any body streams (an error answer's excerpt too), a size
cap counted after decompression, conditional GET, charset detection (``worker.charset``), and
a per-host limit on requests in flight that is shared by every Fetcher in the process
(``worker.fetchlimits``). It answers with a ``FetchResult`` or raises a ``FetchError``
(``worker.fetchresult``). It is safe to share between threads.
Every connection, redirect hops included, goes through the SSRF guard (``worker.netguard``):
a refused address fails as ``FetchError(reason="blocked")``. A proxy is used only when one is
given (``proxy``); the environment's ``HTTP_PROXY``/``HTTPS_PROXY`` are never read.

This module must NOT parse HTML or feeds and must NOT touch the database.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
import urllib3

from worker.charset import decode_body
from worker.fetchlimits import HOST_GATE
from worker.fetchreasons import body_failure, check_settings, deadline_words, request_failure
from worker.fetchresult import FetchError, FetchResult, Relayed
from worker.netguard import BlockedAddress, Policy, guarded_session, headers_deadline
from worker.retry_after import parse_retry_after
from worker.watchdog import Watchdog

if TYPE_CHECKING:
    from worker.render.fallback import RenderFallback

__all__ = [
    "DEFAULT_USER_AGENT",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "Relayed",
    "check_url",
    "read_media_type",
]

DEFAULT_USER_AGENT = "herald/0.1 (+https://github.com/herald-bot/herald)"

_CHUNK_SIZE = 64 * 1024
EXCERPT_BYTES = 4096  # the start of an error answer kept for health reports (anti-bot pages)
_POOL_MAXSIZE = 32
_DEFAULT_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
    "Accept-Encoding": "gzip, deflate",
}


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
        proxy: str = "",
    ) -> None:
        """``policy`` says which non-public addresses may be reached (default: none); ``proxy``
        is an ``http://`` or ``https://`` proxy URL every request goes through (default: none)."""
        check_settings(connect_timeout, read_timeout, deadline, max_bytes, per_host, max_redirects)
        self.user_agent = user_agent
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.per_host = per_host
        self.max_redirects = max_redirects
        self.policy = Policy() if policy is None else policy
        self.proxy = proxy
        self._session = build_session(user_agent, max_redirects, self.policy, proxy)
        self.render: RenderFallback | None = None

    @property
    def cookies(self) -> requests.cookies.RequestsCookieJar:
        """The session's cookie jar, shared by every view of this fetcher."""
        return self._session.cookies

    def with_render(self, fallback: RenderFallback | None) -> Fetcher:
        """A view of this fetcher (same session, cookies and limits) whose GETs are rendered by
        ``fallback`` when challenged. Close only the fetcher it was made from."""
        view = copy.copy(self)
        view.render = fallback
        return view

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
        try:
            result = self._request(
                "GET",
                url,
                params=params,
                data=None,
                headers=extra,
                etag=etag,
                last_modified=last_modified,
            )
        except FetchError as error:
            if self.render is None or params:
                raise
            return self.render.instead_of_error(self, url, error)
        if self.render is None or params:
            return result
        return self.render.checked(self, url, result)

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

    def relay(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        limit: int,
        *,
        follow: bool,
    ) -> Relayed:
        """One request made for the browser, under the same guard and limits: any status is an
        answer, a body over ``limit`` bytes is an error; redirects are followed (each hop
        checked) with ``follow``, else handed back."""
        host = check_url(url)
        with HOST_GATE.slot(host, self.per_host):
            deadline_at = time.monotonic() + self.deadline
            resp = self._send(method, url, None, body, dict(headers), deadline_at, follow=follow)
            try:
                content = self._read_body(resp, url, deadline_at, limit=min(limit, self.max_bytes))
                raw_headers = list(resp.raw.headers.items())
                media = read_media_type(resp.headers.get("Content-Type", ""))
                return Relayed(resp.status_code, raw_headers, content, media)
            finally:
                resp.close()

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
        with HOST_GATE.slot(host, self.per_host):
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
        data: Mapping[str, str] | bytes | None,
        headers: dict[str, str],
        deadline_at: float,
        *,
        follow: bool = True,
    ) -> requests.Response:
        timeout = (min(self.connect_timeout, self.deadline), min(self.read_timeout, self.deadline))
        try:
            with headers_deadline(deadline_at):  # headers that drip in are cut off too
                return self._session.request(
                    method,
                    url,
                    params=dict(params) if params else None,
                    data=dict(data) if isinstance(data, Mapping) else data,
                    headers=headers,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=follow,
                )
        except BlockedAddress as exc:
            hop = (exc.request.url if exc.request is not None else None) or url
            redirected = urlsplit(hop).hostname != urlsplit(url.strip()).hostname
            detail = f"{exc} (after a redirect to {hop})" if redirected else str(exc)
            raise FetchError(url, "blocked", detail) from exc
        except requests.RequestException as exc:
            reason, detail = request_failure(exc, self, deadline_at, url)
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
            raise FetchError(final_url, "deadline", deadline_words(self))
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
                body_excerpt=self._read_excerpt(resp, final_url, deadline_at, content_type_header),
            )
        self._check_content_length(resp, final_url)
        content = self._read_body(resp, final_url, deadline_at, limit=self.max_bytes)
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

    def _read_excerpt(
        self, resp: requests.Response, url: str, deadline_at: float, content_type_header: str
    ) -> str:
        """The start of an error answer, read under the request's deadline; "" if not in time."""
        try:
            content = self._read_body(resp, url, deadline_at, limit=EXCERPT_BYTES, cut=True)
        except FetchError:  # an excerpt is a courtesy: too slow or broken gives ""
            return ""
        return decode_body(content[:EXCERPT_BYTES], content_type_header)[0]

    def _read_body(
        self,
        resp: requests.Response,
        url: str,
        deadline_at: float,
        *,
        limit: int,
        cut: bool = False,
    ) -> bytes:
        """The body, decompressed, within the deadline; past ``limit`` bytes it is an error,
        or with ``cut`` the bytes read so far (the connection is then not reused)."""
        raw = resp.raw
        watchdog = Watchdog(raw.shutdown, deadline_at - time.monotonic())
        chunks: list[bytes] = []
        size = 0
        complete = False
        try:
            while True:
                if time.monotonic() >= deadline_at:
                    raise FetchError(url, "deadline", deadline_words(self))
                chunk: bytes = raw.read1(_CHUNK_SIZE, decode_content=True)
                if not chunk:
                    complete = True
                    break
                size += len(chunk)
                chunks.append(chunk)
                if size >= limit and cut:
                    break
                if size > limit:
                    raise FetchError(
                        url,
                        "too_large",
                        f"body exceeds the limit of {limit} bytes after decompression",
                        status=resp.status_code,
                    )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if watchdog.fired:
                raise FetchError(url, "deadline", deadline_words(self)) from exc
            reason, detail = body_failure(exc, self, deadline_at)
            raise FetchError(url, reason, detail, status=resp.status_code) from exc
        finally:
            watchdog.disarm()
        if watchdog.fired:
            raise FetchError(url, "deadline", deadline_words(self))
        if complete:
            raw.release_conn()
        return b"".join(chunks)


def build_session(
    user_agent: str, max_redirects: int, policy: Policy, proxy: str = ""
) -> requests.Session:
    """One pooled session, shared by all threads using a Fetcher, guarded by ``policy``; it
    goes through ``proxy`` when one is given and never through the environment's."""
    session = guarded_session(policy, proxy=proxy, pool_maxsize=_POOL_MAXSIZE)
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


def read_media_type(content_type_header: str) -> str:
    """``text/html; charset=gbk`` -> ``text/html``."""
    return content_type_header.split(";", 1)[0].strip().lower()
