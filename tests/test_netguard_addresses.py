"""The SSRF guard's judgements of addresses and of the ``[network] allow`` list: every refused
range named plainly, public addresses passing, embedded IPv4 forms judged by what they carry,
allow entries parsed, normalized and checked when the config loads."""

from __future__ import annotations

import pytest

from worker.config import ConfigError, parse_config
from worker.netguard import BlockedAddress, Policy, check_address

HINT = "(add it to [network] allow to permit)"


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "words"),
    [
        ("169.254.169.254", "is a link-local address"),
        ("100.64.0.1", "is a shared (CGNAT) address"),
        ("10.1.2.3", "is a private address"),
        ("172.16.0.1", "is a private address"),
        ("192.168.1.1", "is a private address"),
        ("224.0.0.1", "is a multicast address"),
        ("0.0.0.0", "is the unspecified address"),
        ("0.1.2.3", "'this network'"),
        ("198.18.0.1", "is a benchmarking address"),
        ("192.0.2.1", "is a documentation address"),
        ("240.0.0.1", "is a reserved address"),
        ("255.255.255.255", "is the broadcast address"),
        ("::", "is the unspecified address"),
        ("::1", "is a loopback address"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("fd12:3456::1", "is a unique-local (private) address"),
        ("fe80::1", "is a link-local address"),
        ("fec0::1", "is a site-local address"),
        ("ff02::1", "is a multicast address"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1, a private address"),
        ("::ffff:0:7f00:1", "embeds 127.0.0.1, a loopback address"),  # IPv4-translated (SIIT)
        ("::ffff:0:a9fe:a9fe", "embeds 169.254.169.254, a link-local address"),
        ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254, a link-local address"),
        ("64:ff9b:1::808:808", "local-use NAT64"),
        ("2002:a9fe:a9fe::1", "embeds 169.254.169.254, a link-local address"),
        # Teredo: the client is the NOT of the last 32 bits (0xf5fffffe -> 10.0.0.1)
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "embeds 10.0.0.1, a private address"),
    ],
)
def test_refused_addresses(ip: str, words: str) -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_address(ip, Policy())
    assert words in str(caught.value) and HINT in str(caught.value)


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "::ffff:0:808:808",  # IPv4-translated 8.8.8.8
        "64:ff9b::808:808",  # DNS64 answers for IPv4-only sites
        "2002:808:808::1",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo client 8.8.8.8
    ],
)
def test_public_addresses_pass(ip: str) -> None:
    check_address(ip, Policy())


def test_allow_list_opens_networks_and_their_mapped_forms() -> None:
    policy = Policy.from_allow(["10.0.0.0/8", "fd00::/8"])
    for ip in ("10.1.2.3", "::ffff:10.1.2.3", "::ffff:0:a01:203", "fd00::5"):
        check_address(ip, policy)
    with pytest.raises(BlockedAddress):
        check_address("192.168.0.1", policy)


# --- the allow list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("10.1.2.3/8", "did you mean 10.0.0.0/8?"),
        ("10.0.0.0/33", "not a valid network"),
        ("fe80::/zz", "not a valid network"),
        ("http://intranet", "is a URL"),
        ("*.corp.example", "wildcards"),
        ("127.1", "unusual form"),
        ("0x7f000001", "unusual form"),
        ("", "empty entry"),
        ("bad host", "neither a network nor a host name"),
        ("-x.example", "neither a network nor a host name"),
        ("intranet:8080", "not a valid network"),
    ],
)
def test_bad_allow_entries_are_named(entry: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        Policy.from_allow(["192.168.0.0/16", entry])
    assert words in str(caught.value) and f"{entry!r}" in str(caught.value)


def test_allow_entries_are_normalized() -> None:
    policy = Policy.from_allow(["10.0.0.0/8", "::1", "Intranet.Example.", "bücher.example"])
    assert policy.hosts == {"intranet.example", "xn--bcher-kva.example"}
    assert [str(n) for n in policy.networks] == ["10.0.0.0/8", "::1/128"]
    assert policy.allows_host("INTRANET.example.")


def test_a_bad_allow_entry_stops_loading_the_config() -> None:
    with pytest.raises(ConfigError, match=r"network\.allow: .*did you mean 10\.0\.0\.0/8"):
        parse_config({"network": {"allow": ["10.1.2.3/8"]}})
