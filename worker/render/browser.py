"""One headless Chromium per worker process, started when a page first needs it and closed when
idle for ``[browser] keep_open``.

Playwright (its asyncio API) drives the system's Chromium over a pipe — no debugging port is
opened and no browser is ever downloaded. It runs on a thread of its own with its own event
loop, so any thread may call ``Renderer.render``; at most ``max_concurrent`` pages render at
once, each in a fresh context. A page still loading at its timeout is given up and its
context closed; one that does not even end then (a browser that stops answering) gets the
browser process killed (found by the marker switch it was started with) and the next render
starts a new one, so a wedged page cannot hold a worker. It must not decide when to render or
read what was rendered.
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
from worker.render.page import Budget, Rendered, RenderError, first_line, render_page

log = logging.getLogger(__name__)

ARGS = (
    "--headless", "--disable-gpu", "--disable-background-networking", "--disable-extensions",
    "--disable-sync", "--disable-default-apps", "--no-first-run", "--mute-audio",
    "--disable-dev-shm-usage", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # what escapes the request routing (a worker's fetch or WebSocket, Chromium's own calls)
    # resolves no name and meets a proxy that is not there
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)  # fmt: skip
GRACE = 10.0  # seconds past the page timeout before the browser is killed
QUEUE_LIMIT = 4  # a render waits at most this many page lifetimes for a free slot
LAUNCH_TIMEOUT = 30.0


class Renderer:
    """Renders pages with a shared, lazily started headless Chromium."""

    def __init__(self, settings: BrowserSettings, executable: str) -> None:
        self.settings = settings
        self.executable = executable
        self.launches = 0  # browsers started so far (a growing number in the log: crashes)
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._start_afresh()

    def _start_afresh(self) -> None:
        """No loop, no browser, no renders: a new renderer, or one in a forked process (the
        parent's loop thread is not there, and its browser is not this one's)."""
        self.marker = _new_marker()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._playwright: Any = None
        self._browser: Any = None
        self._busy = 0
        self._pending: set[concurrent.futures.Future[Rendered]] = set()
        self._pid = os.getpid()
        self._killed = False

    @property
    def running(self) -> bool:
        """Is a browser process up right now?"""
        browser = self._browser
        return browser is not None and bool(browser.is_connected())

    def render(self, url: str, fetcher: Fetcher) -> Rendered:
        """Load ``url`` and let its script run; raises ``RenderError``."""
        began: list[float] = []  # set when the page gets its slot
        try:
            future = asyncio.run_coroutine_threadsafe(
                self._render(url, fetcher, began), self._start_loop()
            )
        except RuntimeError as err:  # the loop was closed meanwhile
            raise RenderError(f"headless Chromium was shut down ({err})") from None
        with self._lock:
            self._pending.add(future)
        limit = self.settings.timeout + GRACE + LAUNCH_TIMEOUT
        asked = time.monotonic()
        try:
            while True:
                try:
                    return future.result(timeout=1.0)
                except concurrent.futures.TimeoutError:
                    now = time.monotonic()
                    if began and now - began[0] > limit:
                        break
                    if not began and now - asked > limit * QUEUE_LIMIT:
                        future.cancel()
                        raise RenderError(
                            f"no browser slot came free within {now - asked:.0f} s "
                            f"({self.settings.max_concurrent} page(s) at once)"
                        ) from None
                except concurrent.futures.CancelledError:
                    raise RenderError("headless Chromium was shut down meanwhile") from None
        finally:
            with self._lock:
                self._pending.discard(future)
        future.cancel()
        self.kill()
        raise RenderError(f"headless Chromium did not finish within {limit:.0f} s; it was killed")

    def close(self) -> None:
        """Close the browser and stop the loop thread (a later render starts them again);
        renders still waiting fail."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            pending, self._pending = self._pending, set()
        for future in pending:
            future.cancel()
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shut(), loop).result(timeout=3 * GRACE)
        except Exception:  # closing is best effort: whatever is left is killed
            self.kill()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=GRACE)

    def kill(self) -> None:
        """SIGKILL the browser this renderer started (found by its marker switch); the next
        render sees it disconnected and starts another. Safe from any thread."""
        self._killed = True  # read by the loop thread: the next render starts a new browser
        for pid in _pids_with(self.marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():
                self._start_afresh()
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
        if self._browser is not None and self._browser.is_connected() and not self._killed:
            return self._browser
        self._killed = False
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        if self._browser is not None:  # killed: its Playwright objects are dropped with it
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._browser.close(), GRACE)
            self._browser = None
        args = [*ARGS, self.marker]
        if not self.settings.sandbox or os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses its sandbox to root
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
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
            raise RenderError(
                f"headless Chromium ({self.executable}) did not start: {first_line(err)}"
            ) from None
        self.launches += 1
        log.info("render: started headless Chromium (%s), start %d", self.executable,
                 self.launches)  # fmt: skip
        return self._browser

    def _arm_idle_close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(
            self.settings.keep_open, lambda: asyncio.ensure_future(self._close_if_idle())
        )

    async def _close_if_idle(self) -> None:
        if self._busy == 0 and (self.running or self._playwright is not None):
            log.info("render: closing headless Chromium, idle for %.0f s",
                     self.settings.keep_open)  # fmt: skip
            await self._shut()

    async def _shut(self) -> None:
        """Close the browser, then Playwright's driver; what does not close in time is killed."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), GRACE)
            except Exception:  # a wedged browser: killed instead
                self.kill()
        if playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(playwright.stop(), GRACE)


def _new_marker() -> str:
    """A switch Chromium ignores, to find the processes one renderer started."""
    return f"--herald-renderer={os.getpid()}-{uuid.uuid4().hex[:12]}"


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
