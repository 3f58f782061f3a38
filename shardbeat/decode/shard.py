"""Which worker owns a packet: a symmetric, process-independent flow hash.

Both directions of a connection must land on one shard, and every process must agree, so the
hash is CRC-32 (never Python's per-process randomized `hash()` of bytes) over the endpoints
in a canonical order, then the transport protocol.

VLAN ids and MAC addresses are left out on purpose. Leaving them in would split a connection
whose two directions are tagged differently (a router on a stick) or cross different routers
over two workers, which would then each see half of it; leaving them out only means that the
same 5-tuple in two VLANs shares a shard, where flows and streams still keep them apart.
ICMP has no ports, so its request and reply share the hosts' shard.
"""

from __future__ import annotations

import struct
from zlib import crc32

from shardbeat.decode.packet import Packet

_TAIL = struct.Struct("!HHB").pack  # low port, high port, protocol


def shard_of(pkt: Packet, n: int) -> int:
    """The shard in range(n) that owns `pkt`'s connection (0 when n <= 1)."""
    if n <= 1:
        return 0
    a, b = pkt.src_ip, pkt.dst_ip
    pa, pb = pkt.src_port, pkt.dst_port
    if a > b or (a == b and pa > pb):
        a, b, pa, pb = b, a, pb, pa
    return crc32(a + b + _TAIL(pa, pb, pkt.proto)) % n
