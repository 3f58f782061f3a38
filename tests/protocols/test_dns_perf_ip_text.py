"""Addresses in rdata print as Go's net.IP.String does, whichever fast path formats them."""

from __future__ import annotations

import ipaddress
import random

import pytest

from shardbeat.protocols.dns.rdata import ip_text


@pytest.mark.parametrize("text", [
    "::", "::1", "::2:3", "::102:304", "1::", "1::2", "2001:db8::1", "2001:db8:0:1:1:1:1:1",
    "2001:0:0:1::1", "fe80::1:0:0:1", "1:0:0:2:0:0:0:3", "0:0:1::", "ffff::ffff:102:304",
])
def test_ipv6_zero_runs_compress_as_rfc_5952_says(text):
    packed = ipaddress.IPv6Address(text).packed
    assert ip_text(packed) == ipaddress.IPv6Address(packed).compressed


def test_ipv4_mapped_ipv6_prints_as_ipv4_and_ipv4_compatible_does_not():
    assert ip_text(ipaddress.IPv6Address("::ffff:10.1.2.3").packed) == "10.1.2.3"
    assert ip_text(ipaddress.IPv6Address("::10.1.2.3").packed) == "::a01:203"


def test_ipv4_is_dotted_decimal():
    assert ip_text(bytes([0, 10, 200, 255])) == "0.10.200.255"


def test_random_ipv6_with_zero_runs_matches_the_reference():
    rng = random.Random(7)
    for _ in range(20000):
        words = [rng.choice((0, 0, 0, 1, 0xFFFF, rng.randrange(0x10000))) for _ in range(8)]
        packed = b"".join(word.to_bytes(2, "big") for word in words)
        if packed[:12] == b"\0" * 10 + b"\xff\xff":
            continue
        assert ip_text(packed) == ipaddress.IPv6Address(packed).compressed
