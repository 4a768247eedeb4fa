"""The SSRF guard: outgoing HTTP reaches only public addresses and what ``[network] allow`` lists.

The check runs where the socket is opened: a connection resolves its host once, checks EVERY
address found (any blocked address refuses the whole host: a name mixing public and private
answers is a rebinding trick, not a deployment) and connects only to those vetted addresses,
so a second DNS answer can never be used. The Host header, TLS SNI and the certificate check
keep the original host name. Each redirect hop opens its own connection, so each hop is
checked. Embedded IPv4 addresses (IPv4-mapped, IPv4-translated, NAT64, 6to4, Teredo) are checked
too.

Refused: loopback, private, link-local, CGNAT, multicast, unspecified, broadcast, reserved,
benchmarking and documentation ranges; IPv6 loopback, unique-local, link-local, site-local,
multicast, IPv4-compatible and local-use NAT64 addresses. A proxy is used only when herald's
own settings name one (``[network] proxy``; never the environment's ``HTTP_PROXY``): the
connection to it is checked like any other, and so are the target host's addresses before the
proxy is asked to reach it.

This module must NOT follow redirects itself, retry, read configuration files or log; it must
not let a refusal pass silently: every refusal raises ``BlockedAddress`` with its reason.
``addresses`` judges addresses and resolves hosts; ``adapter`` puts the check into urllib3's
connections for requests. Import the names from here.
"""

from worker.netguard.adapter import (
    GuardedAdapter,
    check_target,
    guarded_session,
    headers_deadline,
)
from worker.netguard.addresses import (
    HINT,
    AddrInfo,
    BlockedAddress,
    IPAddress,
    IPNetwork,
    Policy,
    blocked_range,
    check_address,
    connect_vetted,
    embedded_ipv4,
    normalize_host,
    parse_allow_entry,
    resolve_and_check,
)

__all__ = [
    "HINT",
    "AddrInfo",
    "BlockedAddress",
    "GuardedAdapter",
    "IPAddress",
    "IPNetwork",
    "Policy",
    "blocked_range",
    "check_address",
    "check_target",
    "connect_vetted",
    "embedded_ipv4",
    "guarded_session",
    "headers_deadline",
    "normalize_host",
    "parse_allow_entry",
    "resolve_and_check",
]
