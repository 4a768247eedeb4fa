"""Send many built requests at once: aiohttp on one event loop, bounded per endpoint and in all.

At most ``per_endpoint`` requests are in flight to one endpoint (its URL) and ``in_flight`` in
all, each with a whole-request timeout (a hanging or dripping endpoint costs one slot for at most
``timeout`` seconds, never anyone else's time). An endpoint's requests go in order; once one of
them is told to retry (``stop_after`` says so), its remaining requests are not sent but handed
back as held, so a dead endpoint is not tried over and over in one batch. Every connection is
vetted by the SSRF guard (``worker.netguard``): host names through the resolver, which pins the
checked addresses, and IP literals before connecting. Redirects are never followed.

This module only moves bytes: it must not classify replies, sign, store or schedule anything.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from worker.netguard import BlockedAddress, Policy, check_address, resolve_and_check
from worker.notify import Outgoing

K = TypeVar("K", bound=Hashable)
MAX_READ_BYTES = 64 * 1024
_NUMERIC = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)
KEEPALIVE = 4.0  # seconds an idle connection is kept: below the 5 s many servers allow
TEXT_CHARS = 8192  # enough of a reply for a platform's JSON error


@dataclass(frozen=True)
class RawReply:
    """What came back: an HTTP status (None when there was no reply) and what was read."""

    status: int | None
    retry_after: str | None
    text: str
    latency_ms: float
    problem: str = ""  # no reply: "timeout", "blocked", "invalid" or "connection"
    error: str = ""


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
                hostname=host, host=str(info[4][0]), port=port, family=info[0],
                proto=info[2], flags=socket.AI_NUMERICHOST,
            )
            for info in infos
        ]

    async def close(self) -> None:
        return None


def check_literal(url: str, policy: Policy) -> None:
    """aiohttp connects to an IP literal without asking the resolver: check it here.

    Legacy numeric spellings (``2130706433``, ``0x7f.1``) are refused by aiohttp itself; they
    are checked here first so the refusal names the address they stand for.
    """
    host = (urlsplit(url).hostname or "").strip("[]")
    try:
        check_address(host, policy, host=host)
    except ValueError:
        if _NUMERIC.match(host):
            resolve_and_check(host, 0, policy)
        # other names: the resolver checks them


async def _post(
    session: aiohttp.ClientSession,
    request: Outgoing,
    vet: Callable[[str], None],
    timeout: aiohttp.ClientTimeout,
) -> RawReply:
    started = time.monotonic()

    def elapsed() -> float:
        return (time.monotonic() - started) * 1000.0

    try:
        vet(request.url)
        async with session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=timeout,
        ) as response:
            data = await response.content.read(MAX_READ_BYTES)
            text = data.decode(response.charset or "utf-8", "replace")[:TEXT_CHARS]
            return RawReply(response.status, response.headers.get("retry-after"), text, elapsed())
    except BlockedAddress as err:
        return RawReply(None, None, "", elapsed(), "blocked", str(err))
    except TimeoutError:
        return RawReply(None, None, "", elapsed(), "timeout", f"timeout after {timeout.total:g} s")
    except (aiohttp.InvalidURL, ValueError) as err:
        return RawReply(None, None, "", elapsed(), "invalid", str(err) or type(err).__name__)
    except OSError as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, BlockedAddress):
            return RawReply(None, None, "", elapsed(), "blocked", str(cause))
        return RawReply(None, None, "", elapsed(), "connection", str(err) or type(err).__name__)
    except aiohttp.ClientError as err:
        return RawReply(None, None, "", elapsed(), "connection", str(err) or type(err).__name__)


async def _send_all(
    session: aiohttp.ClientSession,
    items: Sequence[tuple[K, Outgoing]],
    *,
    policy: Policy,
    timeout: float,
    per_endpoint: int,
    in_flight: int,
    stop_after: Callable[[RawReply], bool],
    progress: Callable[[dict[K, RawReply]], None] | None,
    progress_every: float,
    progress_size: int,
) -> tuple[dict[K, RawReply], list[K]]:
    queues: dict[str, deque[tuple[K, Outgoing]]] = defaultdict(deque)
    for key, request in items:
        queues[request.url].append((key, request))
    replies: dict[K, RawReply] = {}
    stopped: set[str] = set()
    gate = asyncio.Semaphore(in_flight)
    limit = aiohttp.ClientTimeout(total=timeout)
    vetted: dict[str, BlockedAddress | None] = {}  # host → refusal, checked once per batch

    def vet(url: str) -> None:
        host = url.split("/", 3)[2] if "://" in url else url
        if host not in vetted:
            try:
                check_literal(url, policy)
                vetted[host] = None
            except BlockedAddress as err:
                vetted[host] = err
        refused = vetted[host]
        if refused is not None:
            raise refused

    async def drain(session: aiohttp.ClientSession, url: str) -> None:
        queue = queues[url]
        while queue and url not in stopped:
            key, request = queue.popleft()
            async with gate:
                reply = await _post(session, request, vet, limit)
            replies[key] = reply
            if stop_after(reply):
                stopped.add(url)
            if progress is not None and len(replies) - len(reported) >= progress_size:
                report()

    reported: set[K] = set()

    def report() -> None:
        fresh = {k: r for k, r in replies.items() if k not in reported}
        if fresh and progress is not None:
            reported.update(fresh)
            progress(fresh)  # blocking, briefly: the caller records them

    async def keep_reporting() -> None:
        while True:
            await asyncio.sleep(progress_every)
            report()

    workers: list[Any] = []
    for url, queue in queues.items():
        lanes = min(per_endpoint, len(queue))
        workers += [drain(session, url) for _ in range(lanes)]
    reporter = asyncio.ensure_future(keep_reporting()) if progress is not None else None
    try:
        await asyncio.gather(*workers)
    finally:
        if reporter is not None:
            reporter.cancel()
    report()
    held = [key for url in stopped for key, _ in queues[url]]
    return ({} if progress is not None else replies), held


def send_many(
    items: Sequence[tuple[K, Outgoing]],
    *,
    policy: Policy,
    timeout: float,
    per_endpoint: int = 2,
    in_flight: int = 64,
    stop_after: Callable[[RawReply], bool] = lambda reply: False,
    progress: Callable[[dict[K, RawReply]], None] | None = None,
    progress_every: float = 0.2,
    progress_size: int = 100,
) -> tuple[dict[K, RawReply], list[K]]:
    """POST every request; returns the replies by key and the keys held back (not sent).

    With ``progress``, replies are handed over as they come (every ``progress_every`` seconds
    or ``progress_size`` replies, and at the end) instead of returned, so a caller can record
    them while the rest are sent.
    """
    if not items:
        return {}, []
    sender = _sender(policy, in_flight)
    return sender.runner.run(
        _send_all(
            sender.session(), items, policy=policy, timeout=timeout,
            per_endpoint=per_endpoint, in_flight=in_flight, stop_after=stop_after,
            progress=progress, progress_every=progress_every, progress_size=progress_size,
        )
    )


class _Sender:
    """One thread's event loop and client session, kept between batches so connections to the
    same endpoints are reused (keep-alive) instead of opened again for every batch."""

    def __init__(self, policy: Policy, in_flight: int) -> None:
        self.policy, self.in_flight = policy, in_flight
        self.runner = asyncio.Runner(loop_factory=_loop_factory())
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self.runner.run(self._open())
        return self._session

    async def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.in_flight, limit_per_host=0, resolver=GuardedResolver(self.policy),
            ttl_dns_cache=60, keepalive_timeout=KEEPALIVE,
        )
        return aiohttp.ClientSession(connector=connector, trust_env=False)

    def close(self) -> None:
        if self._session is not None and not self._session.closed:
            self.runner.run(self._session.close())
        self.runner.close()


_local = threading.local()
_all: list[_Sender] = []
_all_lock = threading.Lock()


def _sender(policy: Policy, in_flight: int) -> _Sender:
    current: _Sender | None = getattr(_local, "sender", None)
    if current is not None and (current.policy, current.in_flight) == (policy, in_flight):
        return current
    if current is not None:
        current.close()
    current = _local.sender = _Sender(policy, in_flight)
    with _all_lock:
        _all.append(current)
    return current


def _forget_after_fork() -> None:
    """A forked child must not use (or close) its parent's loops and sockets."""
    global _local, _all
    _local, _all = threading.local(), []


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def close_senders() -> None:
    """Close every thread's session when the process ends."""
    with _all_lock:
        senders, _all[:] = list(_all), []
    for sender in senders:
        with contextlib.suppress(Exception):
            sender.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (about 1.5× the requests per second here), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
