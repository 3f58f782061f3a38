"""Community ID v1 (https://github.com/corelight/community-id-spec): one flow hash that Zeek,
Suricata, tshark and Packetbeat all agree on, so events from each can be joined.

    "1:" + base64(sha1(seed:u16 | src_ip | dst_ip | proto:u8 | 0:u8 | sport:u16 | dport:u16))

with the endpoints ordered so that both directions hash alike. ICMP has no ports: its type
stands in for the source port and the type of the matching reply (or, for a message that
has none, its code) for the destination port. A one-way message is hashed as it travels,
never reordered.

The type tables are the spec's (mirroring Zeek). Packetbeat's own table omits
InfoReply→Info (16→15) and MLD Report→Query (131→130); on those two rare types its ids
differ from the spec's, and ours follow the spec.
"""

from __future__ import annotations

import hashlib
import struct
from binascii import b2a_base64
from functools import lru_cache

_HEADER = struct.Struct("!H")
_PROTO_PORTS = struct.Struct("!BxHH")
_PROTO_ONLY = struct.Struct("!Bx")

ICMP, TCP, UDP, ICMPV6, SCTP = 1, 6, 17, 58, 132
_WITH_PORTS = frozenset((TCP, UDP, SCTP, ICMP, ICMPV6))

# Request ↔ reply counterparts: echo, router solicitation/advertisement, timestamp,
# information, address mask.
_ICMP4_COUNTERPART = {8: 0, 0: 8, 10: 9, 9: 10, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18,
                      18: 17}
# Echo, MLD query/report, router and neighbour discovery, who-are-you, home agent address
# discovery.
_ICMP6_COUNTERPART = {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136,
                      136: 135, 139: 140, 140: 139, 144: 145, 145: 144}


def icmp_ports(version: int, type: int, code: int) -> tuple[int, int, bool]:  # noqa: A002
    """(source port, destination port, is_one_way) standing in for an ICMP message."""
    table = _ICMP4_COUNTERPART if version == 4 else _ICMP6_COUNTERPART
    counterpart = table.get(type)
    if counterpart is None:
        return type, code, True
    return type, counterpart, False


def community_id_v1(proto: int, src_ip: bytes, dst_ip: bytes, src_port: int = 0,
                    dst_port: int = 0, seed: int = 0) -> str:
    """The Community ID of a flow given as its first packet saw it.

    For ICMP (1) and ICMPv6 (58) pass the message's type and code as `src_port` and
    `dst_port`; the mapping to port equivalents happens here.
    """
    one_way = False
    if proto == ICMP or proto == ICMPV6:
        src_port, dst_port, one_way = icmp_ports(4 if proto == ICMP else 6, src_port,
                                                 dst_port)
    if not one_way and (src_ip > dst_ip or (src_ip == dst_ip and src_port > dst_port)):
        src_ip, dst_ip, src_port, dst_port = dst_ip, src_ip, dst_port, src_port
    if proto in _WITH_PORTS:
        tail = _PROTO_PORTS.pack(proto, src_port, dst_port)
    else:
        tail = _PROTO_ONLY.pack(proto)
    return _hashed(seed, src_ip + dst_ip + tail).decode("ascii")


def ported_community_id(proto: int, src_ip: bytes, dst_ip: bytes, src_port: int,
                        dst_port: int) -> bytes:
    """`community_id_v1` of a TCP or UDP flow (seed 0), as bytes: what a flow report's
    template takes, once for each of a busy link's many short flows."""
    if src_ip > dst_ip or (src_ip == dst_ip and src_port > dst_port):
        src_ip, dst_ip, src_port, dst_port = dst_ip, src_ip, dst_port, src_port
    return _hashed(0, src_ip + dst_ip + _PROTO_PORTS.pack(proto, src_port, dst_port))


def _hashed(seed: int, data: bytes) -> bytes:
    sha = _seeded(seed).copy()
    sha.update(data)
    return b"1:" + b2a_base64(sha.digest(), newline=False)


@lru_cache(maxsize=8)
def _seeded(seed: int) -> "hashlib._Hash":
    """The hash of the seed alone, copied for each id: copying a started hash costs a third
    of making one (OpenSSL looks the algorithm up anew for every new hash)."""
    return hashlib.sha1(_HEADER.pack(seed), usedforsecurity=False)
