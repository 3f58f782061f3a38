"""Which worker owns a packet: a symmetric, process-independent flow hash.

Both directions of a connection must land on one shard, and every process must agree, so
the hash never uses Python's per-process randomized `hash()`. It is a 64-bit mix
(splitmix64's finaliser) over the endpoints in a canonical order, then the transport
protocol, computed the same way one packet at a time (`shard_of`) and for a whole decoded
batch with numpy (`shard_of_columns`): the two must agree bit for bit, since a batch mixes
both paths.

VLAN ids and MAC addresses are left out on purpose. Leaving them in would split a connection
whose two directions are tagged differently (a router on a stick) or cross different routers
over two workers, which would then each see half of it; leaving them out only means that the
same 5-tuple in two VLANs shares a shard, where flows and streams still keep them apart.
ICMP has no ports, so its request and reply share the hosts' shard.
"""

from __future__ import annotations

import numpy as np

from shardbeat.decode.packet import Packet

_M64 = (1 << 64) - 1
_K1, _K2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * _K1) & _M64
    x = ((x ^ (x >> 27)) * _K2) & _M64
    return x ^ (x >> 31)


def _halves(ip: bytes) -> tuple[int, int]:
    value = int.from_bytes(ip, "big")
    return value >> 64, value & _M64


def shard_of(pkt: Packet, n: int) -> int:
    """The shard in range(n) that owns `pkt`'s connection (0 when n <= 1)."""
    if n <= 1:
        return 0
    a, b = pkt.src_ip, pkt.dst_ip
    pa, pb = pkt.src_port, pkt.dst_port
    if a > b or (a == b and pa > pb):
        a, b, pa, pb = b, a, pb, pa
    (a_hi, a_lo), (b_hi, b_lo) = _halves(a), _halves(b)
    h = _mix(pa << 24 | pb << 8 | pkt.proto)
    for word in (b_lo, b_hi, a_lo, a_hi):
        h = _mix(h ^ word)
    return h % n


def _mix_np(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_K1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_K2)
    return x ^ (x >> np.uint64(31))


def shard_of_columns(src: tuple[np.ndarray, np.ndarray], dst: tuple[np.ndarray, np.ndarray],
                     ports: tuple[np.ndarray, np.ndarray], proto: np.ndarray,
                     n: int) -> np.ndarray:
    """`shard_of` for whole columns: addresses as (high, low) 64-bit halves (IPv4 in the
    low half), ports and protocol as integers."""
    (s_hi, s_lo), (d_hi, d_lo) = src, dst
    sport, dport = (p.astype(np.uint64) for p in ports)
    swap = (s_hi > d_hi) | ((s_hi == d_hi) & (s_lo > d_lo)) | (
        (s_hi == d_hi) & (s_lo == d_lo) & (sport > dport))
    a_hi, b_hi = np.where(swap, d_hi, s_hi), np.where(swap, s_hi, d_hi)
    a_lo, b_lo = np.where(swap, d_lo, s_lo), np.where(swap, s_lo, d_lo)
    pa, pb = np.where(swap, dport, sport), np.where(swap, sport, dport)
    h = _mix_np((pa << np.uint64(24)) | (pb << np.uint64(8)) | proto.astype(np.uint64))
    for word in (b_lo, b_hi, a_lo, a_hi):
        h = _mix_np(h ^ word)
    return (h % np.uint64(n)).astype(np.int64)
