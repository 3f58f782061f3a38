"""Packets built from decoded columns, for the rows a parser wants.

The scalar decoder would produce the same Packet from the same frame (tested); building
from columns skips re-reading the headers. Payloads are `bytes` slices of the batch, as
the scalar decoder makes them, so a kept payload does not pin the batch buffer.
"""

from __future__ import annotations

from typing import Sequence

from shardbeat.capture.batch import FrameBatch
from shardbeat.decode.batch import Columns
from shardbeat.decode.packet import Packet

_new = Packet.__new__


def _ip(version: int, hi: int, lo: int) -> bytes:
    return lo.to_bytes(4, "big") if version == 4 else (hi << 64 | lo).to_bytes(16, "big")


def packets_from_columns(batch: FrameBatch, c: Columns, rows: Sequence[int]) -> list[Packet]:
    if not len(rows):
        return []
    take = lambda col: col[rows].tolist()  # noqa: E731
    data = batch.data
    out = []
    for (ts, vlan, tagged, version, s_hi, s_lo, d_hi, d_lo, proto, sport, dport, flags,
         seq, ack, start, end, smac, dmac, flen) in zip(
            take(c.ts), take(c.vlan), take(c.has_vlan), take(c.version), take(c.src_hi),
            take(c.src_lo), take(c.dst_hi), take(c.dst_lo), take(c.proto), take(c.sport),
            take(c.dport), take(c.flags), take(c.seq), take(c.ack), take(c.pay_start),
            take(c.pay_end), take(c.src_mac), take(c.dst_mac), take(c.frame_len)):
        p = _new(Packet)
        p.ts = ts
        p.vlans = (vlan,) if tagged else ()
        p.src_mac, p.dst_mac = smac.to_bytes(6, "big"), dmac.to_bytes(6, "big")
        p.ip_version = version
        p.src_ip, p.dst_ip = _ip(version, s_hi, s_lo), _ip(version, d_hi, d_lo)
        p.proto, p.src_port, p.dst_port = proto, sport, dport
        p.tcp_flags, p.seq, p.ack = flags, seq, ack
        p.payload = data[start:end]
        p.icmp_type = p.icmp_code = 0
        p.frame_len = flen
        out.append(p)
    return out
