"""The process's sending loop: one event loop on a thread of its own, with one client session
(aiohttp), that every batch this process sends runs on.

The worker's threads hand their batches to it and wait, instead of each running a loop and a
session of their own, so connections are reused across batches and threads. Its budget holds
the requests in flight to ``[delivery] in_flight`` and each endpoint's to its lanes for the
whole process: the sockets a worker opens are bounded, and an endpoint that several batches
write to at once still sees at most its lanes. A loop serves one ``(policy, user_agent,
in_flight)``; a changed configuration gets a new loop, and the old one is closed once its last
batch is done. It must not schedule, judge or record anything (``worker.notify.transport``
does).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from worker.netguard import Policy, resolve_and_check

T = TypeVar("T")
KEEPALIVE = 4.0  # seconds an idle connection is kept: below the 5 s many servers allow
CANCEL_WAIT = 10.0  # seconds an interrupted call waits for its requests to be cancelled
MEANWHILE = 0.1  # seconds between a waiting caller's chores, when nothing wakes it sooner


class GuardedResolver(AbstractResolver):
    """Resolves with the SSRF guard: every address checked; only vetted ones returned."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(
            None, lambda: resolve_and_check(host, port, self.policy, family=family)
        )
        return [
            ResolveResult(
                hostname=host,
                host=str(info[4][0]),
                port=port,
                family=info[0],
                proto=info[2],
                flags=socket.AI_NUMERICHOST,
            )
            for info in infos
        ]

    async def close(self) -> None:
        return None


class Budget:
    """What this process may have in flight: ``in_flight`` requests in all, and ``lanes`` to any
    one endpoint, whichever batch (and thread) the requests come from. Used on the loop only."""

    def __init__(self, in_flight: int) -> None:
        self.gate = asyncio.Semaphore(in_flight)
        self.busy: dict[str, int] = {}  # endpoint → requests in flight to it
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}

    @contextlib.asynccontextmanager
    async def lane(self, endpoint: str, lanes: int) -> AsyncIterator[None]:
        """One of ``endpoint``'s ``lanes``, waited for holding nothing else (a slot of
        ``gate`` is taken inside it)."""
        await self._take_lane(endpoint, lanes)
        try:
            yield
        finally:
            self._give_lane(endpoint)

    async def _take_lane(self, endpoint: str, lanes: int) -> None:
        while self.busy.get(endpoint, 0) >= lanes:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            queue = self.waiting.setdefault(endpoint, deque())
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_next(endpoint)  # woken, then cancelled: pass the turn on
                raise
            finally:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
                if not queue and self.waiting.get(endpoint) is queue:
                    del self.waiting[endpoint]
        self.busy[endpoint] = self.busy.get(endpoint, 0) + 1

    def _give_lane(self, endpoint: str) -> None:
        left = self.busy.pop(endpoint) - 1
        if left:
            self.busy[endpoint] = left
        self._wake_next(endpoint)

    def _wake_next(self, endpoint: str) -> None:
        for waiter in self.waiting.get(endpoint, ()):
            if not waiter.done():
                waiter.set_result(None)
                return


class SendingLoop:
    """An event loop running on its own thread, and the client session that lives on it."""

    def __init__(self, policy: Policy, user_agent: str, in_flight: int) -> None:
        self.policy, self.user_agent, self.in_flight = policy, user_agent, in_flight
        self.loop = _new_loop()
        # the guarded resolver's lookups run here: as many at once as requests may be in
        # flight (the default pool has CPUs + 4 threads, and a dead domain's lookup is slow)
        self.loop.set_default_executor(
            ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="herald-resolve")
        )
        self.thread = threading.Thread(target=self._run, name="herald-send", daemon=True)
        self.thread.start()
        self.lock = threading.Lock()
        self.active = 0  # users in ``sending_loop`` blocks
        self.retired = False  # replaced: closed when the last call is done
        self.session, self.budget = self.call(self._open())

    @property
    def settings(self) -> tuple[Policy, str, int]:
        return self.policy, self.user_agent, self.in_flight

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _open(self) -> tuple[aiohttp.ClientSession, Budget]:
        """The session, and the budget every request of every batch keeps to."""
        connector = aiohttp.TCPConnector(
            limit=0,  # the gate bounds the requests in flight, not the pool
            limit_per_host=0,
            resolver=GuardedResolver(self.policy),
            ttl_dns_cache=60,
            keepalive_timeout=KEEPALIVE,
        )
        headers = {"User-Agent": self.user_agent}
        session = aiohttp.ClientSession(  # an endpoint's cookies are never sent back, to anyone
            connector=connector, headers=headers, trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )  # fmt: skip
        return session, Budget(self.in_flight)

    def call(
        self,
        work: Coroutine[Any, Any, T],
        meanwhile: Callable[[], None] | None = None,
        wake: threading.Event | None = None,
    ) -> T:
        """Run ``work`` on the loop and wait for its result (or its error). While waiting, the
        calling thread runs ``meanwhile`` whenever ``wake`` is set, and every ``MEANWHILE``
        seconds (the caller's own chores: writing what the loop's callbacks queued). Should the
        waiting thread be interrupted (a signal, a time limit), ``work`` is cancelled and
        waited for, so none of its requests outlives the call."""
        if threading.current_thread() is self.thread:
            work.close()
            raise RuntimeError("sending loop: a call from its own thread would never return")
        finished = threading.Event()

        async def guarded() -> T:
            try:
                return await work
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(guarded(), self.loop)
        try:
            if meanwhile is not None:
                woken = wake or threading.Event()
                future.add_done_callback(lambda _: woken.set())
                while not future.done():
                    woken.wait(MEANWHILE)
                    woken.clear()
                    meanwhile()
            return future.result()
        except BaseException:
            future.cancel()
            finished.wait(CANCEL_WAIT)
            raise

    def leave(self) -> None:
        """One user of the loop is done with it (see ``sending_loop``); a retired loop closes
        when its last user leaves."""
        with self.lock:
            self.active -= 1
            last = self.retired and self.active == 0
        if last:
            self.close()

    def retire(self) -> None:
        """Close now if idle, else once the last call in progress is done."""
        with self.lock:
            self.retired = True
            idle = self.active == 0
        if idle:
            self.close()

    def close(self) -> None:
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.session.close(), self.loop).result(CANCEL_WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(CANCEL_WAIT)
            if not self.thread.is_alive():
                self.loop.close()


_current: SendingLoop | None = None
_current_lock = threading.Lock()


@contextlib.contextmanager
def sending_loop(policy: Policy, user_agent: str, in_flight: int) -> Iterator[SendingLoop]:
    """This process's loop for these settings (started on first use), counted as in use until
    the block ends, so that a new configuration retiring it cannot close it under a caller."""
    global _current
    with _current_lock:
        current = _current
        replaced = None
        if current is None or current.settings != (policy, user_agent, in_flight):
            replaced, current = current, SendingLoop(policy, user_agent, in_flight)
            _current = current
        with current.lock:
            current.active += 1
    if replaced is not None:
        replaced.retire()
    try:
        yield current
    finally:
        current.leave()


def _forget_after_fork() -> None:
    """A forked child has no sending thread: it must not use (or close) its parent's loop."""
    global _current, _current_lock
    _current, _current_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def close_sending_loop() -> None:
    """Close the session and stop the loop when the process ends."""
    global _current
    with _current_lock:
        current, _current = _current, None
    if current is not None:
        with contextlib.suppress(Exception):
            current.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (about 1.5× the requests per second here), else asyncio's."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    return factory()
