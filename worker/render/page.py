"""Render one page in a fresh browser context, every request it makes relayed by herald's fetcher.

The browser itself reaches nothing: each request the page makes (the document, its redirects,
scripts, XHR and fetch) is intercepted and answered with ``Fetcher.relay``, which goes through
the SSRF guard, ``[network] allow``, the proxy and the session's cookie jar like any other fetch.
A request the guard refuses, one beyond the page budget, or one that is not http(s) is aborted
in the browser and reported; images, fonts, media and style sheets are not fetched at all.
Cookies move both ways between the context and the jar, so what the page's script earns (a
challenge's clearance cookie) is in the jar when the page is done. The page is done when its
document is no longer a challenge and nothing has been asked for during ``QUIET`` seconds.

This module must not start or stop the browser (``worker.render.browser`` does), decide when
to render (``worker.render.fallback``) or parse the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from http.cookiejar import Cookie
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Browser, BrowserContext, Page, Request, Route
from playwright.async_api import Error as PlaywrightError
from requests.cookies import create_cookie

from worker.challenge import is_challenge
from worker.fetch import Fetcher
from worker.fetchresult import FetchError, Relayed
from worker.redact import redact_url

log = logging.getLogger(__name__)

RELAYED_TYPES = ("document", "script", "xhr", "fetch")
FORWARDED_HEADERS = ("accept", "content-type", "referer", "origin", "x-requested-with")
DROPPED_ANSWER_HEADERS = ("content-encoding", "content-length", "transfer-encoding", "set-cookie",
                          "connection", "keep-alive")  # fmt: skip
QUIET = 1.0  # seconds without a request before a rendered page counts as finished
TICK = 0.05
ASK_WAIT = 2.0  # seconds a question to the page may take (a spinning script never answers)
CLOSE_WAIT = 5.0
KEPT_REFUSALS = 20  # refusals logged and kept per page (all are counted)
SAME_SITE_METHODS = ("GET", "HEAD", "POST")  # to the page's own origin
OTHER_SITE_METHODS = ("GET", "HEAD")  # anywhere else the guard allows


class RenderError(Exception):
    """The page could not be rendered: the browser failed, timed out or stayed challenged."""


@dataclass(frozen=True)
class Budget:
    """What one rendered page may spend."""

    seconds: float
    requests: int
    bytes: int


@dataclass
class RenderReport:
    """What a rendered page asked for: relayed, skipped and refused requests."""

    asked: int = 0  # requests sent on for the page (the budget counts these)
    relayed: int = 0  # answered
    bytes: int = 0
    skipped: int = 0  # images, fonts, media, style sheets: never fetched
    refusals: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # the first (redacted URL, why)
    documents: list[int] = field(default_factory=list)  # statuses of the main document's loads

    def describe(self) -> str:
        """``3 requests relayed (12 kB), document 521 → 200, 2 refused: http://127.0.0.1/… (a
        loopback address)``"""
        words = f"{self.relayed} request{'s' if self.relayed != 1 else ''} relayed " \
                f"({self.bytes // 1024} kB)"  # fmt: skip
        if len(self.documents) > 1:  # the challenge's answers, then the page's
            words += ", document " + " → ".join(str(status) for status in self.documents)
        if self.skipped:
            words += f", {self.skipped} images/styles skipped"
        if self.refusals:
            shown = "; ".join(f"{url} ({why})" for url, why in self.refused[:3])
            more = f" and {self.refusals - 3} more" if self.refusals > 3 else ""
            words += f", {self.refusals} refused: {shown}{more}"
        return words


@dataclass(frozen=True)
class Rendered:
    """The page's DOM after its script ran, and how it got there."""

    url: str  # where the main document ended up
    status: int  # the main document's last HTTP status
    html: str
    seconds: float
    report: RenderReport


@dataclass
class _Watch:
    """The main document's state and the requests in flight, as the settle loop reads them."""

    status: int | None = None
    challenged: bool = False
    failure: str = ""
    in_flight: int = 0
    last_activity: float = field(default_factory=time.monotonic)


async def render_page(browser: Browser, url: str, fetcher: Fetcher, budget: Budget) -> Rendered:
    """Load ``url`` in a fresh context of ``browser`` and return its DOM once settled; any
    failure of the browser is a ``RenderError``."""
    started = time.monotonic()
    try:
        context = await browser.new_context(
            user_agent=fetcher.user_agent,  # as the relayed requests', which cookies bind to
            locale="zh-CN",
            accept_downloads=False,
            service_workers="block",  # a service worker's requests would escape the routing
            permissions=[],
            java_script_enabled=True,
        )
    except PlaywrightError as err:
        raise RenderError(f"the browser failed: {first_line(err)}") from None
    try:
        page = await context.new_page()
        relay = _Relay(context, page, fetcher, budget, url)
        await context.route("**/*", relay.handle)
        await context.route_web_socket("**/*", relay.refuse_socket)
        page.on("popup", _close_popup)
        return await _settle(page, url, relay, started, budget)
    except PlaywrightError as err:
        raise RenderError(f"the browser failed: {first_line(err)}") from None
    finally:
        with contextlib.suppress(PlaywrightError, TimeoutError):  # a dead browser: no context
            await asyncio.wait_for(context.close(), CLOSE_WAIT)


async def _settle(page: Page, url: str, relay: _Relay, started: float, budget: Budget) -> Rendered:
    deadline = started + budget.seconds
    watch = relay.watch
    try:
        await page.goto(url, wait_until="commit", timeout=budget.seconds * 1000)
    except PlaywrightError as err:
        if watch.status is None:  # not even an answer: the relay says why, else the browser
            raise RenderError(watch.failure or first_line(err)) from None
    while True:
        now = time.monotonic()
        usable = watch.status is not None and not watch.challenged
        if watch.failure and not usable:  # the main document was refused or failed
            raise RenderError(watch.failure)
        if now >= deadline:
            html = await _content(page) if usable else None
            if html is not None:  # a page that never goes quiet: what it shows by now
                return Rendered(page.url, watch.status or 0, html, now - started, relay.report)
            state = "still a challenge" if watch.challenged else "still loading"
            raise RenderError(
                f"the page was {state} after {budget.seconds:.0f} s ({relay.report.describe()})"
            )
        quiet = watch.in_flight == 0 and now - watch.last_activity >= QUIET
        if quiet and usable:
            html = await _content(page)
            if html is not None:
                return Rendered(page.url, watch.status or 0, html, now - started, relay.report)
        await asyncio.sleep(TICK)


async def _content(page: Page) -> str | None:
    """The serialized DOM once the document is complete; None while it is navigating (or its
    script keeps the page from answering)."""
    try:
        if await asyncio.wait_for(page.evaluate("document.readyState"), ASK_WAIT) != "complete":
            return None
        return await asyncio.wait_for(page.content(), ASK_WAIT)
    except (PlaywrightError, TimeoutError):
        return None


class _Relay:
    """Answers the page's requests through the fetcher, within the budget."""

    def __init__(
        self, context: BrowserContext, page: Page, fetcher: Fetcher, budget: Budget, url: str
    ) -> None:
        self.context = context
        self.page = page
        self.fetcher = fetcher
        self.budget = budget
        self.report = RenderReport()
        self.watch = _Watch()
        self.origins = {_origin(url)}  # the page's own: the address asked for, and redirects

    async def handle(self, route: Route, request: Request) -> None:
        with contextlib.suppress(PlaywrightError):  # the page closed while the request was out
            await self._answer(route, request)

    async def refuse_socket(self, socket: Any) -> None:
        self._refuse(socket.url, "WebSockets are not relayed")
        await socket.close()

    async def _answer(self, route: Route, request: Request) -> None:
        url = request.url
        main = request.is_navigation_request() and request.frame == self.page.main_frame
        if request.resource_type not in RELAYED_TYPES:
            self.report.skipped += 1
            await route.abort("blockedbyclient")
            return
        why = self._over_budget(url, request.method)
        if why:
            self._refuse(url, why, main=main)
            await route.abort("blockedbyclient")
            return
        self.report.asked += 1  # counted before any await: concurrent requests see it
        self.watch.in_flight += 1
        self.watch.last_activity = time.monotonic()
        try:
            await self._relay(route, request, url, main)
        finally:
            self.watch.in_flight -= 1
            self.watch.last_activity = time.monotonic()

    async def _relay(self, route: Route, request: Request, url: str, main: bool) -> None:
        await self._cookies_to_jar(url)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
        body = request.post_data_buffer
        limit = self.budget.bytes - self.report.bytes
        # a navigation's redirect is handed back as a page that goes on to its target, so the
        # browser's next request is routed too (Playwright does not route a fulfilled
        # redirect's next hop) and the page's address is right; other requests follow them
        navigation = request.is_navigation_request()
        relay = partial(self.fetcher.relay, follow=not navigation)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(
                None, relay, request.method, url, headers, body, limit
            )
        except FetchError as err:
            if err.reason == "blocked":
                self._refuse(url, err.detail, main=main)
                await route.abort("blockedbyclient")
            else:
                if main:
                    self.watch.failure = err.detail
                await route.abort("failed")
            return
        self.report.relayed += 1
        self.report.bytes += len(answer.content)
        target = _redirect_target(url, answer) if navigation else ""
        if target and urlsplit(target).scheme.lower() not in ("http", "https"):
            self._refuse(target, "a redirect to a non-http(s) address", main=main)
            await route.abort("blockedbyclient")
            return
        if main and target:
            self.origins.add(_origin(target))
        if main:
            self.watch.status, self.watch.failure = answer.status, ""
            self.report.documents.append(answer.status)
            text = answer.content[:16384].decode("utf-8", "replace")
            self.watch.challenged = bool(target) or is_challenge(answer.status, text)
        await self._cookies_to_browser(url)
        if target:
            await route.fulfill(status=200, content_type="text/html", body=_go_to(target))
            return
        headers_out = {
            name: value for name, value in answer.headers
            if name.lower() not in DROPPED_ANSWER_HEADERS
        }  # fmt: skip
        await route.fulfill(status=answer.status, headers=headers_out, body=answer.content)

    def _over_budget(self, url: str, method: str) -> str:
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return "not an http(s) URL"
        same_site = _origin(url) in self.origins
        allowed = SAME_SITE_METHODS if same_site else OTHER_SITE_METHODS
        if method.upper() not in allowed:
            where = "its own site" if same_site else "another site"
            return f"a {method.upper()} request to {where} is not relayed"
        if self.report.asked >= self.budget.requests:
            return f"over the page's budget of {self.budget.requests} requests"
        if self.report.bytes >= self.budget.bytes:
            return f"over the page's budget of {self.budget.bytes} bytes"
        return ""

    def _refuse(self, url: str, why: str, *, main: bool = False) -> None:
        shown = redact_url(url)
        self.report.refusals += 1
        if self.report.refusals <= KEPT_REFUSALS:  # a page asking in a loop fills no log
            self.report.refused.append((shown, why))
            log.warning("render: refused a request the page made to %s: %s", shown, why)
        if main:
            self.watch.failure = f"refused {shown}: {why}"

    async def _cookies_to_jar(self, url: str) -> None:
        """Cookies the page's script set, into the fetcher's jar before a relayed request."""
        jar = self.fetcher.cookies
        for cookie in await self.context.cookies(url):
            rest = {"HttpOnly": ""} if cookie.get("httpOnly") else {}
            expires = cookie.get("expires", -1)
            jar.set_cookie(create_cookie(  # type: ignore[no-untyped-call]
                cookie["name"], cookie["value"], domain=cookie.get("domain", ""),
                path=cookie.get("path", "/"), secure=bool(cookie.get("secure")),
                expires=int(expires) if expires and expires > 0 else None, rest=rest,
            ))  # fmt: skip

    async def _cookies_to_browser(self, url: str) -> None:
        """The jar's cookies for ``url``'s host (set by the answer just relayed), into the
        context, so the page's script sees them as the browser would."""
        host = (urlsplit(url).hostname or "").lower()
        found: list[Any] = []
        for cookie in _jar_copy(self.fetcher):
            domain = (cookie.domain or "").lower()
            bare = domain.lstrip(".")
            if bare and (host == bare or (domain.startswith(".") and host.endswith(domain))):
                found.append({
                    "name": cookie.name, "value": cookie.value or "", "domain": cookie.domain,
                    "path": cookie.path or "/", "secure": bool(cookie.secure),
                    "httpOnly": cookie.has_nonstandard_attr("HttpOnly"),
                    **({"expires": float(cookie.expires)} if cookie.expires else {}),
                })  # fmt: skip
        if found:
            await self.context.add_cookies(found)


def _redirect_target(url: str, answer: Relayed) -> str:
    """The absolute address a 3xx answer sends to ("" when it is not a redirect)."""
    if not 300 <= answer.status < 400:
        return ""
    location = next((v for k, v in answer.headers if k.lower() == "location"), "").strip()
    return urljoin(url, location) if location else ""


def _go_to(target: str) -> str:
    """A page that replaces itself with ``target`` (an http(s) address): a redirect the
    routing sees. The address is a JSON string with ``<`` escaped, so it cannot end the script."""
    quoted = json.dumps(target).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!DOCTYPE html><script>location.replace({quoted})</script>"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{parts.port or ''}"


def _jar_copy(fetcher: Fetcher) -> list[Cookie]:
    """The jar's cookies; other threads' fetches may add some meanwhile (then it is read again)."""
    for _ in range(5):
        try:
            return list(iter(fetcher.cookies))
        except RuntimeError:  # the jar changed size while it was read
            continue
    return []


async def _close_popup(popup: Page) -> None:
    with contextlib.suppress(PlaywrightError):
        await popup.close()


def first_line(err: BaseException) -> str:
    """An error's first line (Playwright's messages go on with a call log), else its type."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
