"""Why a fetch failed, as a ``FetchError`` reason and the words an operator reads: a redirect
loop, a bad URL, a deadline, a timeout, a body that would not decode, the proxy or the host
refusing the connection. Also the check that a fetcher's limits make sense at all.

Pure: it reads exceptions and the fetcher's limits (``Limits``); it must not send, retry or log.
"""

from __future__ import annotations

import time
from typing import Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from worker.neterrors import connection_sentence

__all__ = ["Limits", "body_failure", "check_settings", "deadline_words", "request_failure"]


class Limits(Protocol):
    """The settings of a fetcher the words name (``worker.fetch.Fetcher`` has them)."""

    connect_timeout: float
    read_timeout: float
    deadline: float
    max_redirects: int
    proxy: str


def deadline_words(limits: Limits) -> str:
    return f"deadline of {limits.deadline:g} s exceeded"


def request_failure(
    exc: requests.RequestException, limits: Limits, deadline_at: float, url: str
) -> tuple[str, str]:
    """(reason, words) for a request that got no usable response."""
    if isinstance(exc, requests.TooManyRedirects):
        return "too_many_redirects", f"more than {limits.max_redirects} redirects"
    if isinstance(
        exc,
        requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.URLRequired,
    ):
        return "invalid_url", f"invalid or unsupported URL ({exc})"
    if time.monotonic() >= deadline_at:  # a timeout, or a connection cut at the deadline
        return "deadline", deadline_words(limits)
    if isinstance(exc, requests.Timeout):
        if isinstance(exc, requests.ConnectTimeout):
            return "timeout", f"no connection within {limits.connect_timeout:g} s"
        return "timeout", f"no response within {limits.read_timeout:g} s"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "protocol", f"response could not be decoded ({exc})"
    if isinstance(exc, requests.exceptions.ProxyError) and limits.proxy:
        proxy = urlsplit(limits.proxy)
        sentence = connection_sentence(exc, proxy.hostname or "the proxy", proxy.port)
        return "connect", f"proxy: {sentence}"
    target = urlsplit((exc.request.url if exc.request is not None else None) or url.strip())
    return "connect", connection_sentence(exc, target.hostname or "the host", target.port)


def body_failure(exc: Exception, limits: Limits, deadline_at: float) -> tuple[str, str]:
    """(reason, words) for a body that broke off while it was read."""
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        if time.monotonic() >= deadline_at:
            return "deadline", deadline_words(limits)
        return "timeout", f"body stalled for more than {limits.read_timeout:g} s"
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
