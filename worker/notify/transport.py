"""The one outbound seam of delivery: built requests POSTed on one event loop (aiohttp), and
built mails handed to the SMTP relay on the same loop (``worker.notify.mail_transport``).

Every delivery, to a generic webhook or a chat platform, goes out here. Requests to one endpoint
go in order, at most its ``lanes`` at a time (one for a rate-limited chat platform), and at most
``in_flight`` in all (both in this process, whichever batch they belong to), each with a
whole-request timeout: a hanging or dripping endpoint costs one
slot for at most ``timeout`` seconds, never anyone else's time. Once an endpoint is told to wait
(the caller's ``on_reply`` says so), its remaining requests are handed back unsent. Every
connection is vetted by the SSRF guard (``worker.netguard``): host names through the resolver,
which pins the checked addresses, and IP literals before connecting. Redirects are never
followed. Whatever an endpoint sends back (any status, headers, body, size or timing) becomes a
``Reply``, read up to a bound; nothing it sends can raise out of here.

This module only moves bytes: it must not classify replies, sign, store or schedule anything.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from worker.netguard import BlockedAddress, Policy, check_address, resolve_and_check
from worker.notify import Outgoing, Reply
from worker.notify.mail_transport import Relay, send_mail
from worker.notify.sending_loop import Budget, sending_loop

K = TypeVar("K", bound=Hashable)
MAX_READ_BYTES = 64 * 1024
_NUMERIC = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)
TEXT_CHARS = 8192  # enough of a reply for a platform's JSON error
MAX_HEADER_CHARS = 1000  # of a Retry-After or Location header kept
STOP_CHECK = 0.2  # seconds a paced lane sleeps at a time, so that a stop is seen at once
RECHECK = 0.05  # seconds before asking ``may_start`` again after "not yet"


class Stopping(Protocol):
    """A flag another thread or process sets (``threading.Event``, ``multiprocessing.Event``)."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Send(Generic[K]):
    """One request to send. Requests to one ``endpoint`` go in order, at most ``lanes`` at a time
    from this batch and ``allowed`` from the whole process (0: ``lanes``); ``not_before`` holds
    one back that many seconds from the start of the batch (a rate window).
    """

    key: K
    endpoint: str
    request: Outgoing
    lanes: int = 2
    not_before: float = 0.0
    allowed: int = 0


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
) -> Reply:
    """POST once, never following redirects. Whatever happens, a ``Reply``: once the status line
    has come, a failure while reading the body keeps the status (the endpoint did answer)."""
    started = time.monotonic()

    def elapsed() -> float:
        return (time.monotonic() - started) * 1000.0

    try:
        vet(request.url)
        async with session.post(
            URL(request.url, encoded=True),  # exactly as built: a signed query is not re-encoded
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=timeout,
        ) as response:
            status, headers = response.status, response.headers
            data = await _read_bounded(response)
            return Reply(
                status, _decode(data, response.charset), elapsed(),
                _header(headers, "retry-after"), _header(headers, "location"),
            )  # fmt: skip
    except BlockedAddress as err:
        return Reply(None, "", elapsed(), problem="blocked", error=str(err))
    except aiohttp.ClientSSLError as err:  # a certificate may be renewed: not permanent
        return Reply(None, "", elapsed(), problem="connection", error=_describe(err))
    except TimeoutError:
        return Reply(
            None, "", elapsed(), problem="timeout", error=f"timeout after {timeout.total:g} s"
        )
    except (aiohttp.InvalidURL, ValueError) as err:
        return Reply(None, "", elapsed(), problem="invalid", error=str(err) or type(err).__name__)
    except OSError as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, BlockedAddress):
            return Reply(None, "", elapsed(), problem="blocked", error=str(cause))
        return Reply(None, "", elapsed(), problem="connection", error=_describe(err))
    except aiohttp.ClientError as err:
        return Reply(None, "", elapsed(), problem="connection", error=_describe(err))
    except Exception as err:  # anything else a hostile endpoint provokes: no reply
        return Reply(None, "", elapsed(), problem="error", error=_describe(err))


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The reply's body up to MAX_READ_BYTES, however it is cut into segments; what came
    before a body cut short or too slow (the status is what counts)."""
    data = bytearray()
    try:
        while len(data) < MAX_READ_BYTES and not response.content.at_eof():
            chunk = await response.content.read(MAX_READ_BYTES - len(data))
            if not chunk:
                break
            data += chunk
    except Exception:
        pass
    return bytes(data)


def _describe(err: BaseException) -> str:
    return (str(err) or type(err).__name__)[:300]


def _decode(data: bytes, charset: str | None) -> str:
    """The reply's text in its declared charset (UTF-8 when unknown), cut to TEXT_CHARS."""
    try:
        text = data.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):
        text = data.decode("utf-8", "replace")
    return text[:TEXT_CHARS]


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else str(value)[:MAX_HEADER_CHARS]


async def _send_all(
    session: aiohttp.ClientSession,
    budget: Budget,
    sends: Sequence[Send[K]],
    *,
    policy: Policy,
    timeout: float,
    in_flight: int,
    on_reply: Callable[[K, Reply], bool],
    may_start: Callable[[K], bool | None],
    deadline: float | None,
    stop: Stopping | None = None,
    relay: Relay | None = None,
) -> list[K]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    queues: dict[str, deque[Send[K]]] = defaultdict(deque)
    for send in sends:
        queues[send.endpoint].append(send)
    stopped: set[str] = set()
    unsent: list[K] = []
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

    failed: list[BaseException] = []  # a callback raised: no lane starts another request

    async def lane(endpoint: str) -> None:
        queue = queues[endpoint]
        previous: tuple[float, float] | None = None  # (planned offset, when it was answered)
        while queue:
            send = queue.popleft()
            go_at = started + send.not_before
            if previous is not None:  # keep the planned gap after the previous reply
                go_at = max(go_at, previous[1] + send.not_before - previous[0])
            while go_at > loop.time() and not (stop is not None and stop.is_set()):
                await asyncio.sleep(min(go_at - loop.time(), STOP_CHECK))
            async with budget.lane(endpoint, send.allowed or send.lanes):
                reply = None
                while True:  # every check once a slot is ours: the wait for it may be long
                    async with budget.gate:
                        cleared = clear(send, endpoint)
                        if cleared and send.request.url.startswith("mailto:"):
                            reply = await send_mail(send.request, relay, timeout)
                        elif cleared:
                            reply = await _post(session, send.request, vet, limit)
                    if cleared is not None:
                        break
                    await asyncio.sleep(RECHECK)  # "not yet": ask again shortly, slot given up
            if reply is None:
                unsent.append(send.key)
                continue
            previous = (send.not_before, loop.time())
            try:
                halt = on_reply(send.key, reply)
            except BaseException as err:
                failed.append(err)
                raise
            if halt:
                stopped.add(endpoint)

    def clear(send: Send[K], endpoint: str) -> bool | None:
        """Whether ``send`` may go now (None: not yet, ``may_start`` says)."""
        late = deadline is not None and time.monotonic() >= deadline
        if failed or endpoint in stopped or late or (stop is not None and stop.is_set()):
            return False
        return may_start(send.key)

    # A lane never held back by a rate window only waits for a slot: at most ``in_flight``
    # runners take such lanes in turn (a fan-out to 10,000 endpoints costs 64 tasks, not
    # 10,000 tasks queued on the gate); a paced lane sleeps on its own task.
    plain: deque[str] = deque()
    paced: list[str] = []
    for endpoint, queue in queues.items():
        lanes = max(1, min(queue[0].lanes, len(queue)))
        if any(send.not_before > 0 for send in queue):
            paced += [endpoint] * lanes
        else:
            plain.extend([endpoint] * lanes)

    async def runner() -> None:
        while plain:
            await lane(plain.popleft())

    try:
        async with asyncio.TaskGroup() as group:  # one lane raising cancels the others
            for _ in range(min(in_flight, len(plain))):
                group.create_task(runner())
            for endpoint in paced:
                group.create_task(lane(endpoint))
    except BaseExceptionGroup as errors:  # the callback's own error goes up, not the group
        raise errors.exceptions[0] from None
    return unsent


def send_all(
    sends: Sequence[Send[K]],
    *,
    policy: Policy,
    timeout: float,
    user_agent: str,
    in_flight: int = 64,
    on_reply: Callable[[K, Reply], bool],
    may_start: Callable[[K], bool | None] = lambda key: True,
    deadline: float | None = None,
    stop: Stopping | None = None,
    meanwhile: Callable[[], None] | None = None,
    wake: threading.Event | None = None,
    relay: Relay | None = None,
) -> list[K]:
    """POST every request with ``user_agent`` (the ``[network]`` one), and hand every mail
    (a ``mailto:`` request) to ``relay``; returns the keys not sent.

    Each reply goes to ``on_reply`` as it comes; when that returns True the endpoint's remaining
    requests are not sent. A request is sent only if ``may_start(key)`` says so once it holds a
    slot, right before it goes (None: ask again shortly), and none starts after ``deadline`` (a
    ``time.monotonic()`` value) or once ``stop`` is set (a worker shutting down: requests in
    flight finish, waiting ones come back unsent at once). The callbacks run on the event loop,
    so they must be quick; if one raises, every lane stops and the error goes up (requests
    already started may or may not have reached their endpoint). The requests go out on the
    process's sending loop (``worker.notify.sending_loop``) while this thread waits; whatever
    interrupts the wait (a time limit's signal too) cancels them, so none outlives the call.
    Meanwhile this thread runs ``meanwhile`` when ``wake`` is set and every few tenths of a
    second (the caller's writes, kept off the loop).
    """
    if not sends:
        return []
    with sending_loop(policy, user_agent, in_flight) as sending:
        return sending.call(
            _send_all(
                sending.session, sending.budget, sends, policy=policy, timeout=timeout,
                in_flight=in_flight, on_reply=on_reply, may_start=may_start, deadline=deadline,
                stop=stop, relay=relay,
            ),
            meanwhile,
            wake,
        )  # fmt: skip
