"""When a fetch is answered by headless Chromium instead: a source's ``render`` setting.

``auto`` (the default) renders a page whose answer is a JavaScript challenge (HTTP 412/521, a
403/429/503 that says so, or a small page that only sets a cookie and reloads), and a list page
that yields no items while it carries script; ``always`` renders the list page on every poll;
``never`` leaves challenges to source health (``blocked``). One ``RenderFallback`` serves one
source's poll, ingest or test and records each render for health, status and ``/metrics``.
It must not start the browser itself or parse pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from worker.challenge import is_challenge
from worker.fetch import Fetcher, FetchError, FetchResult
from worker.redact import redact_url
from worker.render.browser import Renderer
from worker.render.page import RenderError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderRecord:
    """One page rendered (or tried): where, why, and what it cost."""

    url: str  # redacted
    why: str
    ok: bool
    seconds: float = 0.0
    report: str = ""  # RenderReport.describe()
    error: str = ""


class RenderFallback:
    """The render policy of one source, bound to the process's renderer (None: unavailable)."""

    def __init__(self, mode: str, renderer: Renderer | None) -> None:
        self.mode = mode
        self.renderer = renderer
        self.records: list[RenderRecord] = []

    @property
    def rendered(self) -> int:
        """Pages rendered successfully so far."""
        return sum(1 for record in self.records if record.ok)

    @property
    def failed(self) -> int:
        return sum(1 for record in self.records if not record.ok)

    def instead_of_error(self, fetcher: Fetcher, url: str, error: FetchError) -> FetchResult:
        """A challenged fetch rendered; any other error raised again."""
        if self.mode == "never" or error.retry_after is not None:
            raise error  # a site that says when to come back is not rendered meanwhile
        if not is_challenge(error.status, error.body_excerpt):
            raise error
        if self.renderer is None:
            unavailable = " (headless Chromium is not available to get past it)"
            raise explained(error, unavailable) from error
        return self.render(fetcher, url, f"HTTP {error.status} challenge", error)

    def checked(self, fetcher: Fetcher, url: str, result: FetchResult) -> FetchResult:
        """``result``, or the rendered page when ``result`` is a challenge page."""
        if self.mode == "never" or self.renderer is None or result.rendered:
            return result
        if result.not_modified or not is_challenge(result.status, result.text):
            return result
        return self.render(fetcher, url, "challenge page")

    def wants_render(self, first: FetchResult, items: int) -> bool:
        """Should a list page that gave ``items`` be read again rendered?"""
        if self.renderer is None or first.rendered or first.not_modified:
            return False
        if self.mode == "always":
            return True
        return self.mode == "auto" and items == 0 and "<script" in first.text.lower()

    def render(
        self, fetcher: Fetcher, url: str, why: str, error: FetchError | None = None
    ) -> FetchResult:
        """``url`` rendered; a FetchError when it cannot be (the challenge's own when one was
        met, so health still says ``blocked``)."""
        if self.renderer is None:
            raise FetchError(url, "render", "headless Chromium is not available")
        shown = redact_url(url)
        try:
            page = self.renderer.render(url, fetcher)
        except Exception as err:  # RenderError, or the browser failing in a way not foreseen
            self.records.append(RenderRecord(shown, why, ok=False, error=str(err)))
            if isinstance(err, RenderError):
                log.warning("render: %s (%s): %s", shown, why, err)
            else:
                log.exception("render: %s (%s): unexpected failure", shown, why)
            detail = f"headless Chromium could not get past it: {err}"
            if error is None:
                raise FetchError(url, "render", detail) from err
            raise explained(error, f"; {detail}") from err
        described = page.report.describe()
        self.records.append(RenderRecord(shown, why, True, page.seconds, described))
        log.info("render: %s (%s) in %.1f s: %s", shown, why, page.seconds, described)
        if not 200 <= page.status < 300:
            raise FetchError(
                page.url,
                "http_status",
                f"server answered HTTP {page.status} (rendered)",
                page.status,
            )
        return FetchResult(
            url=page.url, status=page.status, content=page.html.encode("utf-8"), text=page.html,
            encoding="utf-8", content_type="text/html", etag="", last_modified="",
            elapsed_ms=page.seconds * 1000.0, rendered=True,
        )  # fmt: skip


def explained(error: FetchError, words: str) -> FetchError:
    """``error`` with ``words`` added to its detail; its reason, status and body kept, so source
    health still reads the challenge from it."""
    return FetchError(
        error.url, error.reason, error.detail + words, error.status, error.retry_after,
        error.body_excerpt,
    )  # fmt: skip
