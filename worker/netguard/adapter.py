"""The SSRF guard inside requests/urllib3: every connection is resolved, checked and pinned.

urllib3's ``_new_conn`` is replaced so a connection resolves its host once, checks every
address (``worker.netguard.addresses``) and connects only to a vetted one. The Host header,
TLS SNI and the certificate check keep the original host name. Each redirect hop opens its own
connection, so each hop is checked. Requests through a proxy are refused, since the proxy, not
herald, would pick the address.

The same connections keep a request's deadline while the status line and headers arrive
(``headers_deadline``): a server that drips its headers byte by byte is cut off when the
deadline passes, as the fetcher's watchdog does for bodies.

This module must NOT follow redirects itself, retry, read configuration files or log; a refusal
always surfaces as ``BlockedAddress``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK, DEFAULT_POOLSIZE, HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util.connection import allowed_gai_family

from worker.netguard.addresses import (
    BlockedAddress,
    Policy,
    connect_vetted,
    resolve_and_check,
)
from worker.watchdog import Watchdog


class _Refused(Exception):
    """Carries a refusal out of urllib3 untouched (it retries and wraps every OSError)."""

    def __init__(self, blocked: BlockedAddress) -> None:
        super().__init__(blocked.reason)
        self.blocked = blocked


def _pinned_new_conn(conn: HTTPConnection, policy: Policy) -> socket.socket:
    """urllib3's ``_new_conn`` with the guard: resolve once, check, connect to a vetted address."""
    host = conn._dns_host  # with its trailing dot, if any: it matters to DNS
    timeout = conn.timeout
    if not (timeout is None or isinstance(timeout, int | float)):
        timeout = socket.getdefaulttimeout()  # urllib3's "no timeout given" sentinel
    try:
        infos = resolve_and_check(host, conn.port, policy, family=allowed_gai_family())
        sock = connect_vetted(infos, timeout, conn.source_address, conn.socket_options)
    except BlockedAddress as exc:
        raise _Refused(exc) from None
    except socket.gaierror as exc:
        raise NameResolutionError(host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(
            conn, f"Connection to {host} timed out. (connect timeout={timeout})"
        ) from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    sys.audit("http.client.connect", conn, host, conn.port)
    return sock


_deadline = threading.local()


@contextlib.contextmanager
def headers_deadline(at: float) -> Iterator[None]:
    """Within the block, this thread's requests must have their status line and headers by
    ``at`` (a ``time.monotonic()`` value); past it the connection's socket is shut down."""
    _deadline.at = at
    try:
        yield
    finally:
        _deadline.at = None


def _within_deadline(conn: HTTPConnection, read: Callable[[], Any]) -> Any:
    at: float | None = getattr(_deadline, "at", None)
    sock = conn.sock
    if at is None or sock is None:
        return read()
    watchdog = Watchdog(lambda: sock.shutdown(socket.SHUT_RDWR), at - time.monotonic())
    try:
        return read()
    finally:
        watchdog.disarm()


class _PinnedHTTPConnection(HTTPConnection):
    """A connection that opens only vetted, pinned sockets and keeps the headers' deadline."""

    def __init__(self, *args: Any, netguard_policy: Policy, **kwargs: Any) -> None:
        self.netguard_policy = netguard_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return _pinned_new_conn(self, self.netguard_policy)

    def getresponse(self) -> Any:
        return _within_deadline(self, super().getresponse)


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    """The same over TLS (the host name kept for SNI and the certificate check)."""


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    """A PoolManager whose pools make pinned, checked connections."""

    def __init__(self, *args: Any, netguard_policy: Policy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.netguard_policy = netguard_policy
        self.pool_classes_by_scheme = {"http": _PinnedHTTPPool, "https": _PinnedHTTPSPool}

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["netguard_policy"] = self.netguard_policy
        return pool


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose every connection is checked against ``policy`` and pinned."""

    __attrs__ = (*HTTPAdapter.__attrs__, "policy")

    def __init__(self, policy: Policy, **kwargs: Any) -> None:
        self.policy = policy  # init_poolmanager (called by HTTPAdapter.__init__) needs it
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _PinnedPoolManager(
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            netguard_policy=self.policy,
            **pool_kwargs,
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if proxies and select_proxy(request.url or "", dict(proxies)):
            raise BlockedAddress(
                "blocked: a proxy is configured for this URL and the guard cannot check the "
                "address the proxy connects to (unset HTTP(S)_PROXY or list the host in NO_PROXY)",
                request=request,
            )
        try:
            return super().send(request, stream, timeout, verify, cert, proxies)
        except _Refused as exc:
            raise BlockedAddress(exc.blocked.reason, request=request) from None


def guard_session(session: requests.Session, policy: Policy) -> requests.Session:
    """Replace every HTTP adapter mounted on ``session`` by a GuardedAdapter with its settings.

    Pool sizes, blocking and retries carry over; returns ``session``.
    """
    prefixes = list(session.adapters) or ["https://", "http://"]
    for prefix in prefixes:
        old = session.adapters.get(prefix)
        if isinstance(old, GuardedAdapter) and old.policy == policy:
            continue
        if old is not None and not isinstance(old, HTTPAdapter):
            raise TypeError(f"netguard: cannot guard the {type(old).__name__} on {prefix!r}")
        settings: dict[str, Any] = {}
        if old is not None:
            settings = {
                "pool_connections": getattr(old, "_pool_connections", DEFAULT_POOLSIZE),
                "pool_maxsize": getattr(old, "_pool_maxsize", DEFAULT_POOLSIZE),
                "pool_block": getattr(old, "_pool_block", DEFAULT_POOLBLOCK),
                "max_retries": old.max_retries,
            }
            old.close()
        session.mount(prefix, GuardedAdapter(policy, **settings))
    return session


def guarded_session(policy: Policy) -> requests.Session:
    """A new ``requests.Session`` whose HTTP(S) connections go through the guard."""
    return guard_session(requests.Session(), policy)
