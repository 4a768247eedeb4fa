"""One headless Chromium per worker process, started when a page first needs it and closed when
idle for ``[browser] keep_open``.

Playwright (its asyncio API) drives the system's Chromium over a pipe — no debugging port is
opened and no browser is ever downloaded. It runs on a thread of its own with its own event
loop, so any thread may call ``Renderer.render``; at most ``max_concurrent`` pages render at
once, each in a fresh context. A page that outlives its timeout is abandoned and the browser
process is killed (by the marker switch it was started with), so a wedged page cannot hold a
worker. It must not decide when to render or read what was rendered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from worker.config import BrowserSettings
from worker.fetch import Fetcher
from worker.render.page import Budget, Rendered, RenderError, render_page

log = logging.getLogger(__name__)

ARGS = (
    "--headless", "--disable-gpu", "--disable-background-networking", "--disable-extensions",
    "--disable-sync", "--disable-default-apps", "--no-first-run", "--mute-audio",
    "--disable-dev-shm-usage", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # anything that escapes the request routing meets a proxy that is not there
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
)  # fmt: skip
GRACE = 10.0  # seconds past the page timeout before the browser is killed
LAUNCH_TIMEOUT = 30.0


class Renderer:
    """Renders pages with a shared, lazily started headless Chromium."""

    def __init__(self, settings: BrowserSettings, executable: str) -> None:
        self.settings = settings
        self.executable = executable
        self.marker = f"--herald-renderer={os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.launches = 0  # how many times a browser was started (for status and tests)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: asyncio.Semaphore | None = None
        self._playwright: Any = None
        self._browser: Any = None
        self._busy = 0
        self._idle_timer: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        """Is a browser process up right now?"""
        return self._browser is not None

    def render(self, url: str, fetcher: Fetcher) -> Rendered:
        """Load ``url`` and let its script run; raises ``RenderError``."""
        loop = self._start_loop()
        began: list[float] = []  # set when the page gets its slot (waiting for one is no fault)
        future = asyncio.run_coroutine_threadsafe(self._render(url, fetcher, began), loop)
        limit = self.settings.timeout + GRACE + LAUNCH_TIMEOUT
        while True:
            try:
                return future.result(timeout=1.0)
            except concurrent.futures.TimeoutError:
                if began and time.monotonic() - began[0] > limit:
                    break
        future.cancel()
        self.kill()
        raise RenderError(
            f"headless Chromium did not finish within {limit:.0f} s; it was killed"
        )

    def close(self) -> None:
        """Close the browser and stop the loop thread (a later render starts them again)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shut(), loop).result(timeout=GRACE)
        except Exception:  # closing is best effort: whatever is left is killed
            self.kill()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=GRACE)

    def kill(self) -> None:
        """SIGKILL the browser this renderer started (found by its marker switch)."""
        for pid in _pids_with(self.marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self._browser = None

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    self._slots = asyncio.Semaphore(self.settings.max_concurrent)
                    ready.set()
                    loop.run_forever()
                    loop.close()

                thread = threading.Thread(target=run, name="herald-browser", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _render(self, url: str, fetcher: Fetcher, began: list[float]) -> Rendered:
        assert self._slots is not None
        async with self._slots:
            began.append(time.monotonic())
            self._busy += 1
            try:
                browser = await self._ready()
                budget = Budget(
                    self.settings.timeout, self.settings.max_requests, self.settings.max_bytes
                )
                try:
                    return await asyncio.wait_for(
                        render_page(browser, url, fetcher, budget), self.settings.timeout + GRACE
                    )
                except TimeoutError:
                    self.kill()
                    raise RenderError(
                        f"the page did not settle within {self.settings.timeout:.0f} s; "
                        "the browser was killed"
                    ) from None
            finally:
                self._busy -= 1
                self._arm_idle_close()

    async def _ready(self) -> Any:
        """The running browser, started (with Playwright) when there is none."""
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if self._playwright is None:
            self._playwright = await async_playwright().start()
        args = [*ARGS, self.marker]
        if not self.settings.sandbox or os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses its sandbox to root
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                args=args,
                timeout=LAUNCH_TIMEOUT * 1000,
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
                chromium_sandbox=self.settings.sandbox and os.geteuid() != 0,
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise RenderError(
                f"headless Chromium ({self.executable}) did not start: {first}"
            ) from None
        self.launches += 1
        log.info("render: started headless Chromium (%s)", self.executable)
        return self._browser

    def _arm_idle_close(self) -> None:
        assert self._loop is not None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = self._loop.call_later(
            self.settings.keep_open, lambda: asyncio.ensure_future(self._close_if_idle())
        )

    async def _close_if_idle(self) -> None:
        if self._busy == 0 and self._browser is not None:
            log.info("render: closing headless Chromium, idle for %.0f s",
                     self.settings.keep_open)  # fmt: skip
            await self._shut()

    async def _shut(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        try:
            if browser is not None:
                await asyncio.wait_for(browser.close(), GRACE)
            if playwright is not None:
                await asyncio.wait_for(playwright.stop(), GRACE)
        except Exception:  # a wedged browser: killed instead
            self.kill()


def _pids_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (Linux ``/proc``; none elsewhere)."""
    found: list[int] = []
    needle = marker.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
