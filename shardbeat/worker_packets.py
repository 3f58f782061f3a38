"""Packets built from decoded columns, for the rows a parser wants.

The scalar decoder would produce the same Packet from the same frame (tested); building
from columns skips re-reading the headers. Payloads are `bytes` slices of the batch, as
the scalar decoder makes them, so a kept payload does not pin the batch buffer.

Most of these packets only pass through the stream layer, which reads the addresses,
ports, VLANs, flags, sequence number, payload and time: `stream_packets` fills just those
(MACs, ACK number and frame length are left unset). Flows need whole packets, and only
for a flow's first packet: `packets_from_columns` completes them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from shardbeat.capture.batch import FrameBatch
from shardbeat.decode.batch import Columns
from shardbeat.decode.packet import Packet

_new = Packet.__new__

# What `stream_packets` sets; the rest of Packet.__slots__ only `packets_from_columns` does.
STREAM_FIELDS = ("ts", "vlans", "ip_version", "src_ip", "dst_ip", "proto", "src_port",
                 "dst_port", "tcp_flags", "seq", "payload")


def addresses(data: bytes, l3: int, version: int) -> tuple[bytes, bytes]:
    """(source, destination) address bytes of the IP header at `l3`, sliced straight from
    the frame: cheaper than rebuilding them from the integer columns, and the same bytes
    the scalar decoder slices."""
    if version == 4:
        return data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
    return data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]


def stream_packets(batch: FrameBatch, c: Columns, rows: np.ndarray) -> list[Packet]:
    """Packets of `rows` with the STREAM_FIELDS only. A loop over one row per packet, kept
    in one piece: this runs for every parser-bound segment."""
    if not len(rows):
        return []
    rows = np.asarray(rows)
    data = batch.data
    out = []
    append = out.append
    for (l3, ts, vlan, tagged, version, proto, sport, dport, flags, seq, start, end) in zip(
            c.l3[rows].tolist(), c.ts[rows].tolist(), c.vlan[rows].tolist(),
            c.has_vlan[rows].tolist(), c.version[rows].tolist(), c.proto[rows].tolist(),
            c.sport[rows].tolist(), c.dport[rows].tolist(), c.flags[rows].tolist(),
            c.seq[rows].tolist(), c.pay_start[rows].tolist(), c.pay_end[rows].tolist()):
        p = _new(Packet)
        p.ts = ts
        p.vlans = (vlan,) if tagged else ()
        p.ip_version = version
        if version == 4:
            p.src_ip, p.dst_ip = data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
        else:
            p.src_ip, p.dst_ip = data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]
        p.proto, p.src_port, p.dst_port = proto, sport, dport
        p.tcp_flags, p.seq = flags, seq
        p.payload = data[start:end]
        append(p)
    return out


def packets_from_columns(batch: FrameBatch, c: Columns, rows: Sequence[int]) -> list[Packet]:
    """Whole packets of `rows`, every field as the scalar decoder sets it."""
    rows = np.asarray(rows, dtype=np.int64)
    out = stream_packets(batch, c, rows)
    if not out:
        return out
    data = batch.data
    for p, frame, ack, flen in zip(out, batch.offsets[c.idx[rows]].tolist(),
                                   c.ack[rows].tolist(), c.frame_len[rows].tolist()):
        p.dst_mac, p.src_mac = data[frame:frame + 6], data[frame + 6:frame + 12]
        p.ack = ack
        p.icmp_type = p.icmp_code = 0
        p.frame_len = flen
    return out
