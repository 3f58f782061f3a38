"""Vectorised L2–L4 decoding of a whole batch of frames with numpy.

The common shapes — Ethernet, at most one 802.1Q tag, IPv4 without options' surprises or
fragmentation, or IPv6 straight to TCP/UDP — are decoded for every frame at once into
columns. A frame of any other shape (other link types, QinQ, IPv6 extension headers,
fragments, ICMP, anything short or inconsistent) is left to the scalar `Decoder`, which
is exact and counts every anomaly; so the columns only ever hold frames both decoders
would read the same way.
"""

from __future__ import annotations

import numpy as np

from shardbeat.capture.batch import FrameBatch

_ETHERNET = 1
_ETH_IPV4, _ETH_IPV6, _ETH_VLAN = 0x0800, 0x86DD, 0x8100
_TCP, _UDP = 6, 17


class Columns:
    """Decoded header fields of the fast-path frames; `idx` are their batch positions."""

    __slots__ = ("idx", "ts", "frame_len", "vlan", "has_vlan", "version", "src_hi",
                 "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport", "flags", "seq",
                 "ack", "l3", "pay_start", "pay_end", "src_mac", "dst_mac")

    def __len__(self) -> int:
        return len(self.idx)


def _be16(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (buf[at].astype(np.int64) << 8) | buf[at + 1]


def _be32(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return ((buf[at].astype(np.int64) << 24) | (buf[at + 1].astype(np.int64) << 16)
            | (buf[at + 2].astype(np.int64) << 8) | buf[at + 3])


def _be48(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (_be16(buf, at) << 32) | _be32(buf, at + 2)


def _be64(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    return ((_be32(buf, at).astype(np.uint64) << np.uint64(32))
            | _be32(buf, at + 4).astype(np.uint64))


def decode_columns_np(batch: FrameBatch) -> tuple[Columns, np.ndarray]:
    """(columns of the fast-path frames, indices of the frames left to the scalar path).
    The reference decoding, and that of a build without the compiled one."""
    # The batch's padding lets every gather below run unguarded: no header read reaches
    # further than PAD bytes past a frame's start, and rejected frames read from offset 0.
    buf = batch.buf
    off, cap = batch.offsets, batch.caplen
    ok = (batch.linktype == _ETHERNET) & (cap >= 14 + 20 + 8)
    safe_off = np.where(ok, off, 0)  # keep gathers inside the buffer for rejected frames
    end = safe_off + np.where(ok, cap, 0)
    etype = _be16(buf, safe_off + 12)
    tagged = etype == _ETH_VLAN
    ok &= ~tagged | (cap >= 18 + 20 + 8)
    l3 = safe_off + np.where(tagged, 18, 14)
    etype = np.where(tagged, _be16(buf, safe_off + 16), etype)
    vlan = np.where(tagged, _be16(buf, safe_off + 14) & 0x0FFF, 0)
    first = buf[l3].astype(np.int64)
    v4 = ok & (etype == _ETH_IPV4) & ((first >> 4) == 4)
    v6 = ok & (etype == _ETH_IPV6) & ((first >> 4) == 6)
    ihl = np.where(v4, (first & 0x0F) * 4, 40)
    total = np.where(v4, _be16(buf, l3 + 2), _be16(buf, l3 + 4) + 40)
    frag = _be16(buf, l3 + 6) & 0x3FFF
    proto = np.where(v4, buf[l3 + 9], buf[l3 + 6]).astype(np.int64)
    ip_end = l3 + total
    good = ((v4 & (ihl >= 20) & (frag == 0) & (total >= ihl)) | (v6 & (total > 40)))
    good &= ((proto == _TCP) | (proto == _UDP)) & (ip_end <= end)
    l4 = l3 + ihl
    good &= l4 + np.where(proto == _TCP, 20, 8) <= ip_end
    l4 = np.where(good, l4, safe_off)
    doff = (buf[l4 + 12].astype(np.int64) >> 4) * 4
    is_tcp = proto == _TCP
    pay_start = l4 + np.where(is_tcp, doff, 8)
    udp_end = l4 + _be16(buf, l4 + 4)
    good &= np.where(is_tcp, (doff >= 20) & (pay_start <= ip_end),
                     (udp_end >= l4 + 8) & (udp_end <= ip_end))
    fast = np.flatnonzero(good)
    cols = _columns(batch, buf, fast, l3, l4, v4, vlan, tagged, proto, pay_start,
                    np.where(is_tcp, ip_end, udp_end))
    return cols, np.flatnonzero(~good)


# The int64 rows _headers.c writes, in its order; then the four address halves (uint64).
_INT_COLUMNS = ("idx", "vlan", "version", "proto", "sport", "dport", "flags", "seq", "ack",
                "l3", "pay_start", "pay_end", "src_mac", "dst_mac")


def _decode_compiled(batch: FrameBatch) -> tuple[Columns, np.ndarray]:
    """`decode_columns_np` in one pass of C (decode/_headers.c)."""
    n = len(batch)
    ints = np.empty((len(_INT_COLUMNS), n), dtype=np.int64)
    addrs = np.empty((4, n), dtype=np.uint64)
    tagged = np.empty(n, dtype=np.uint8)
    slow = np.empty(n, dtype=np.int64)
    fast, slow_count = _headers.decode(
        batch.data, np.ascontiguousarray(batch.offsets, dtype=np.int64),
        np.ascontiguousarray(batch.caplen, dtype=np.int64),
        np.ascontiguousarray(batch.linktype, dtype=np.int32), ints, addrs, tagged, slow)
    c = Columns()
    for name, row in zip(_INT_COLUMNS, ints[:, :fast]):
        setattr(c, name, row)
    c.src_hi, c.src_lo, c.dst_hi, c.dst_lo = addrs[:, :fast]
    c.has_vlan = tagged[:fast].view(np.bool_)
    c.ts, c.frame_len = batch.ts[c.idx], batch.wirelen[c.idx]
    return c, slow[:slow_count]


try:
    from shardbeat.decode import _headers
except ImportError:  # built where no C compiler was: numpy decodes the same
    _headers = None

COMPILED_DECODE = _headers is not None
decode_columns = _decode_compiled if COMPILED_DECODE else decode_columns_np


def _columns(batch: FrameBatch, buf: np.ndarray, fast: np.ndarray, l3: np.ndarray, l4: np.ndarray,
             v4: np.ndarray, vlan: np.ndarray, tagged: np.ndarray, proto: np.ndarray,
             pay_start: np.ndarray, pay_end: np.ndarray) -> Columns:
    c = Columns()
    c.idx = fast
    l3, l4, is_v4 = l3[fast], l4[fast], v4[fast]
    c.ts, c.frame_len = batch.ts[fast], batch.wirelen[fast]
    c.vlan, c.has_vlan = vlan[fast], tagged[fast]
    c.version = np.where(is_v4, 4, 6)
    c.src_hi, c.src_lo, c.dst_hi, c.dst_lo = _addresses(buf, l3, is_v4)
    c.proto = proto[fast]
    c.sport, c.dport = _be16(buf, l4), _be16(buf, l4 + 2)
    is_tcp = c.proto == _TCP
    c.flags = np.where(is_tcp, buf[l4 + 13], 0).astype(np.int64)
    c.seq = np.where(is_tcp, _be32(buf, l4 + 4), 0)
    c.ack = np.where(is_tcp, _be32(buf, l4 + 8), 0)
    c.l3 = l3
    c.pay_start, c.pay_end = pay_start[fast], pay_end[fast]
    frame = batch.offsets[fast]
    c.dst_mac, c.src_mac = _be48(buf, frame), _be48(buf, frame + 6)
    return c


def _addresses(buf: np.ndarray, l3: np.ndarray, is_v4: np.ndarray) -> tuple[np.ndarray, ...]:
    """(source high, source low, destination high, destination low) 64-bit halves of the
    addresses; an IPv4 address is its low half. Each version's bytes are read only for
    its own rows: an IPv6 address is six times the gathers of an IPv4 one, and most
    batches hold one version only."""
    n = len(l3)
    src_hi, src_lo = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64)
    dst_hi, dst_lo = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64)
    v4 = np.flatnonzero(is_v4)
    if len(v4):
        at = l3[v4]
        src_lo[v4], dst_lo[v4] = _be32(buf, at + 12), _be32(buf, at + 16)
    v6 = np.flatnonzero(~is_v4)
    if len(v6):
        at = l3[v6]
        src_hi[v6], src_lo[v6] = _be64(buf, at + 8), _be64(buf, at + 16)
        dst_hi[v6], dst_lo[v6] = _be64(buf, at + 24), _be64(buf, at + 32)
    return src_hi, src_lo, dst_hi, dst_lo
