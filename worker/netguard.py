"""The SSRF guard: outgoing HTTP reaches only public addresses and what ``[network] allow`` lists.

The check runs where the socket is opened: a connection resolves its host once, checks EVERY
address found (any blocked address refuses the whole host: a name mixing public and private
answers is a rebinding trick, not a deployment) and connects only to those vetted addresses,
so a second DNS answer can never be used. The Host header, TLS SNI and the certificate check
keep the original host name. Each redirect hop opens its own connection, so each hop is
checked. Embedded IPv4 addresses (IPv4-mapped, NAT64, 6to4, Teredo) are checked too.

Refused: loopback, private, link-local, CGNAT, multicast, unspecified, broadcast, reserved,
benchmarking and documentation ranges; IPv6 loopback, unique-local, link-local, site-local,
multicast, IPv4-compatible and local-use NAT64 addresses. Requests through a proxy are refused
as well, since the proxy, not herald, would pick the address.

This module must NOT follow redirects itself, retry, read configuration files or log; it must
not let a refusal pass silently: every refusal raises ``BlockedAddress`` with its reason.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK, DEFAULT_POOLSIZE, HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util.connection import allowed_gai_family

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]

HINT = "add it to [network] allow to permit"

# Ranges refused unless allowed; the first match names the reason. Public ranges that embed an
# IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, Teredo) are judged by what they embed.
_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), what)
    for cidr, what in (
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved (IETF protocol) address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved (6to4 relay) address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible (deprecated) address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:10::/28", "a reserved (ORCHID) address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


class BlockedAddress(requests.exceptions.ConnectionError):
    """A URL whose host is, resolves to or embeds an address the policy refuses.

    A ``requests.ConnectionError`` so that callers catching ``RequestException`` handle it;
    ``reason`` is the whole message (``blocked: 127.0.0.1 is a loopback address (...)``).
    """

    def __init__(self, reason: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(reason, *args, **kwargs)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class _Refused(Exception):
    """Carries a refusal out of urllib3 untouched (it retries and wraps every OSError)."""

    def __init__(self, blocked: BlockedAddress) -> None:
        super().__init__(blocked.reason)
        self.blocked = blocked


@dataclass(frozen=True)
class Policy:
    """What may be reached despite the blocked ranges: networks and exact host names.

    ``Policy()`` allows nothing beyond public addresses. An allowed host name is reached at
    whatever it resolves to (still pinned per connection); names match exactly, case-insensitively.
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_allow(cls, entries: Iterable[str]) -> Policy:
        """Build from ``[network] allow`` entries; ValueError naming the first bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            parsed = parse_allow_entry(entry)
            if isinstance(parsed, str):
                hosts.add(parsed)
            else:
                networks.append(parsed)
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        return normalize_host(host) in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        return any(ip in network for network in self.networks)


def parse_allow_entry(entry: str) -> IPNetwork | str:
    """One ``allow`` entry: a network (``10.0.0.0/8``, ``::1``) or a normalized host name."""
    if not isinstance(entry, str):
        raise ValueError(f"[network] allow: {entry!r} is not a string")
    text = entry.strip()
    if not text:
        raise ValueError(f"[network] allow: {entry!r} is an empty entry")
    if "://" in text:
        raise ValueError(f"[network] allow: {entry!r} is a URL; give its host name or a network")
    try:
        return ipaddress.ip_network(text)
    except ValueError as exc:
        if "/" in text or ":" in text:
            hint = ""
            if "host bits set" in str(exc):
                hint = f" (did you mean {ipaddress.ip_network(text, strict=False)}?)"
            raise ValueError(f"[network] allow: {entry!r} is not a valid network{hint}") from None
    if "*" in text:
        raise ValueError(f"[network] allow: {entry!r}: wildcards are not supported")
    try:
        host = normalize_host(text.encode("idna").decode("ascii"))
    except UnicodeError:
        raise ValueError(f"[network] allow: {entry!r} is not a valid host name") from None
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"[network] allow: {entry!r} is neither a network nor a host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise ValueError(
            f"[network] allow: {entry!r} looks like an IP address in an unusual form; "
            "write it as a plain address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)"
        )
    return host


def normalize_host(host: str) -> str:
    """Lower case, without IPv6 brackets or a trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def blocked_range(ip: IPAddress) -> str | None:
    """What ``ip`` is when it falls in a blocked range (``"a loopback address"``), else None."""
    for network, what in _BLOCKED:
        if ip in network:
            return what
    if isinstance(ip, ipaddress.IPv4Address) and not ip.is_global:
        return "not a public address"
    return None


def embedded_ipv4(ip: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries: mapped, NAT64, 6to4, Teredo server+client."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ()
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:  # (server, client); the client is the NOT of the last 32 bits
        return ip.teredo
    return ()


def check_address(ip: str | IPAddress, policy: Policy, *, host: str = "") -> None:
    """Raise BlockedAddress unless ``ip`` and every IPv4 address it embeds may be reached.

    ``host`` (the name ``ip`` was resolved from) only makes the reason clearer.
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    named = bool(host) and _as_address(host) != address
    lead = f"{normalize_host(host)} resolves to {address}," if named else str(address)
    for candidate in (address, *embedded_ipv4(address)):
        if policy.allows_address(candidate):
            continue
        what = blocked_range(candidate)
        if what is None:
            continue
        if candidate is not address:
            text = f"{lead} {'which ' if named else ''}embeds {candidate}, {what}"
        else:
            text = f"{lead} {what}" if named else f"{address} is {what}"
        raise BlockedAddress(f"blocked: {text} ({HINT})")


def _as_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(normalize_host(host))
    except ValueError:
        return None


def resolve_and_check(
    host: str, port: int, policy: Policy, *, family: int = socket.AF_UNSPEC
) -> Sequence[AddrInfo]:
    """Resolve ``host`` (any IPv4 spelling getaddrinfo accepts) and check every address.

    Returns the getaddrinfo results to connect to; raises BlockedAddress if ANY address is
    refused (unless the host name itself is allowed), ``socket.gaierror`` when it does not
    resolve.
    """
    name = normalize_host(host)  # for matching and messages; DNS gets the name as given
    infos = socket.getaddrinfo(host.strip().strip("[]"), port, family, socket.SOCK_STREAM)
    if not policy.allows_host(name):
        for info in infos:
            check_address(str(info[4][0]), policy, host=name)
    return infos


def connect_vetted(
    infos: Iterable[AddrInfo],
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
) -> socket.socket:
    """Connect to the first of these (already checked) addresses that answers."""
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("getaddrinfo returned an empty list")


# --- urllib3 / requests plumbing ------------------------------------------------------------


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


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, netguard_policy: Policy, **kwargs: Any) -> None:
        self.netguard_policy = netguard_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return _pinned_new_conn(self, self.netguard_policy)


class _PinnedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, netguard_policy: Policy, **kwargs: Any) -> None:
        self.netguard_policy = netguard_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        return _pinned_new_conn(self, self.netguard_policy)


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
