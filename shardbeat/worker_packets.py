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


def addresses(data: bytes, l3: int, version: int) -> tuple[bytes, bytes]:
    """(source, destination) address bytes of the IP header at `l3`, sliced straight from
    the frame: cheaper than rebuilding them from the integer columns, and the same bytes
    the scalar decoder slices."""
    if version == 4:
        return data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
    return data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]


def packets_from_columns(batch: FrameBatch, c: Columns, rows: Sequence[int]) -> list[Packet]:
    if not len(rows):
        return []
    take = lambda col: col[rows].tolist()  # noqa: E731
    data = batch.data
    frames = batch.offsets[c.idx[rows]].tolist()
    out = []
    for (frame, l3, ts, vlan, tagged, version, proto, sport, dport, flags, seq, ack,
         start, end, flen) in zip(
            frames, take(c.l3), take(c.ts), take(c.vlan), take(c.has_vlan),
            take(c.version), take(c.proto), take(c.sport), take(c.dport), take(c.flags),
            take(c.seq), take(c.ack), take(c.pay_start), take(c.pay_end),
            take(c.frame_len)):
        p = _new(Packet)
        p.ts = ts
        p.vlans = (vlan,) if tagged else ()
        p.dst_mac, p.src_mac = data[frame:frame + 6], data[frame + 6:frame + 12]
        p.ip_version = version
        p.src_ip, p.dst_ip = addresses(data, l3, version)
        p.proto, p.src_port, p.dst_port = proto, sport, dport
        p.tcp_flags, p.seq, p.ack = flags, seq, ack
        p.payload = data[start:end]
        p.icmp_type = p.icmp_code = 0
        p.frame_len = flen
        out.append(p)
    return out
