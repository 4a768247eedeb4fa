"""What a fetch gives back: a ``FetchResult`` (2xx or 304, body read and decoded) or a
``FetchError`` saying why not, with the answer's status, ``Retry-After`` and the start of its body.

Plain values, picklable (errors cross Celery's result backend). This module must not send
requests or read bodies (``worker.fetch`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    rendered: bool = False  # the DOM headless Chromium built after the page's script ran

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 to a conditional GET."""
        return self.status == 304


@dataclass(frozen=True)
class Relayed:
    """One answer read for the browser (``Fetcher.relay``): any status, redirects not followed."""

    status: int
    headers: list[tuple[str, str]]  # as sent, repeated names (Set-Cookie) kept
    content: bytes
    content_type: str


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
