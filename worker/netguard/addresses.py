"""The SSRF guard's judgement: which addresses may be reached, and resolving a host to vetted ones.

A host is resolved once and EVERY address found is checked (any blocked address refuses the
whole host: a name mixing public and private answers is a rebinding trick, not a deployment);
``connect_vetted`` connects only to those addresses. Embedded IPv4 addresses (IPv4-mapped,
IPv4-translated, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.

Refused: loopback, private, link-local, CGNAT, multicast, unspecified, broadcast, reserved,
benchmarking and documentation ranges; IPv6 loopback, unique-local, link-local, site-local,
multicast, IPv4-compatible and local-use NAT64 addresses.

This module must NOT make HTTP requests, follow redirects, retry, read configuration files or
log; it must not let a refusal pass silently: every refusal raises ``BlockedAddress``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]

HINT = "add it to [network] allow to permit"

# Ranges refused unless allowed; the first match names the reason. Public ranges that embed an
# IPv4 address (IPv4-mapped, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4, Teredo)
# are judged by what they embed.
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
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765): ::ffff:0:a.b.c.d
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
    """The IPv4 addresses an IPv6 address carries: mapped, translated, NAT64, 6to4, Teredo."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ()
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64 or ip in _TRANSLATED:
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
