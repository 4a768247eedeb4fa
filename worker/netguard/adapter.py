"""The SSRF guard inside requests/urllib3: every connection is resolved, checked and pinned.

urllib3's ``_new_conn`` is replaced so a connection resolves its host once, checks every
address (``worker.netguard.addresses``) and connects only to a vetted one. The Host header,
TLS SNI and the certificate check keep the original host name. Each redirect hop opens its own
connection, so each hop is checked. Through a proxy (only the one herald's own settings name:
``proxies`` given to the session, never the environment's), the connection to the proxy is
checked and pinned like any other, and the target host's addresses are checked before the
request is handed to the proxy; the proxy then resolves the name itself, a gap documented in
design-notes.

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
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager, ProxyManager
from urllib3.util.connection import allowed_gai_family
from urllib3.util.url import parse_url

from worker.netguard.addresses import (
    BlockedAddress,
    Policy,
    connect_vetted,
    resolve_and_check,
)
from worker.redact import redact_url
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


class _PinnedProxyManager(ProxyManager):
    """A ProxyManager whose connections to the proxy are pinned and checked."""

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

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        """The manager for ``proxy``: its connections to the proxy go through the guard."""
        if proxy not in self.proxy_manager:
            if not proxy.lower().startswith(("http://", "https://")):
                raise BlockedAddress(f"blocked: unsupported proxy scheme in {redact_url(proxy)}")
            parsed = parse_url(proxy)
            self.proxy_manager[proxy] = _PinnedProxyManager(
                proxy_url=parsed.url,
                proxy_headers=self.proxy_headers(proxy),
                num_pools=self._pool_connections,
                maxsize=self._pool_maxsize,
                block=self._pool_block,
                netguard_policy=self.policy,
                **proxy_kwargs,
            )
        manager: ProxyManager = self.proxy_manager[proxy]
        return manager

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
            check_target(request, self.policy)
        try:
            return super().send(request, stream, timeout, verify, cert, proxies)
        except _Refused as exc:
            raise BlockedAddress(exc.blocked.reason, request=request) from None


def check_target(request: requests.PreparedRequest, policy: Policy) -> None:
    """Check the addresses of a request's host before a proxy is asked to reach it."""
    url = parse_url(request.url or "")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        resolve_and_check(url.host or "", port, policy, family=allowed_gai_family())
    except BlockedAddress as exc:
        raise BlockedAddress(exc.reason, request=request) from None
    except OSError as exc:  # the name does not resolve here: the proxy may not resolve it either
        raise requests.exceptions.ConnectionError(exc, request=request) from exc


def guarded_session(policy: Policy, *, proxy: str = "", pool_maxsize: int = 32) -> requests.Session:
    """A new ``requests.Session`` whose HTTP(S) connections go through the guard, and through
    ``proxy`` when one is given; the environment's proxies (and ``.netrc``) are never read."""
    session = requests.Session()
    session.trust_env = False
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
    adapter = GuardedAdapter(policy, pool_connections=16, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
