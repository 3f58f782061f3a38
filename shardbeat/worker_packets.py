"""Packets built from decoded columns, for the rows a parser wants.

The scalar decoder would produce the same Packet from the same frame (tested); building
from columns skips re-reading the headers. Payloads are `bytes` slices of the batch, as
the scalar decoder makes them, so a kept payload does not pin the batch buffer.

Most of these packets only pass through the stream layer, which reads the addresses,
ports, VLANs, flags, sequence number, payload and time: `stream_packets` fills just those
(MACs, ACK number and frame length are left unset). Flows take what they keep of a new
flow's first packet straight from the columns (`flows.batch`).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from shardbeat.capture.batch import FrameBatch
from shardbeat.decode.batch import Columns
from shardbeat.decode.packet import Packet

_new = Packet.__new__

# What `stream_packets` sets: what the stream layer reads of a Packet.
STREAM_FIELDS = ("ts", "vlans", "ip_version", "src_ip", "dst_ip", "proto", "src_port",
                 "dst_port", "tcp_flags", "seq", "payload")


def addresses(data: bytes, l3: int, version: int) -> tuple[bytes, bytes]:
    """(source, destination) address bytes of the IP header at `l3`, sliced straight from
    the frame: cheaper than rebuilding them from the integer columns, and the same bytes
    the scalar decoder slices."""
    if version == 4:
        return data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
    return data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]


# A TCP segment with any of these is never taken by length (see TcpTracker.skip_segment).
_SYN_FIN_RST = 0x07
_TCP = 6

SkipSegment = Callable[[tuple, tuple, int, int, int], bool]


class StreamRows:
    """The stream-bound rows of a batch, their columns read once."""

    __slots__ = ("data", "columns")

    def __init__(self, batch: FrameBatch, c: Columns, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.data = batch.data
        self.columns = [col[rows].tolist() for col in (
            c.l3, c.ts, c.vlan, c.has_vlan, c.version, c.proto, c.sport, c.dport, c.flags,
            c.seq, c.pay_start, c.pay_end)]

    def packets(self, lo: int, hi: int, skip: SkipSegment | None = None
                ) -> Iterator[Packet]:
        """Packets of rows [lo, hi) with the STREAM_FIELDS only, lazily and in order.
        With `skip` (TcpTracker.skip_segment), each TCP data segment is first offered
        to it by length and only built if declined: as the consumer dispatches each
        packet before asking for the next, a segment is offered exactly when on_packet
        would have seen it. One loop kept in one piece: it runs for every segment."""
        data = self.data
        for (l3, ts, vlan, tagged, version, proto, sport, dport, flags, seq, start,
             end) in zip(*[col[lo:hi] for col in self.columns]):
            if version == 4:
                src_ip, dst_ip = data[l3 + 12:l3 + 16], data[l3 + 16:l3 + 20]
            else:
                src_ip, dst_ip = data[l3 + 8:l3 + 24], data[l3 + 24:l3 + 40]
            vlans = (vlan,) if tagged else ()
            if skip is not None and proto == _TCP and end > start \
                    and not flags & _SYN_FIN_RST:
                src, dst = (src_ip, sport), (dst_ip, dport)
                key = (src, dst, vlans) if src < dst else (dst, src, vlans)
                try:
                    if skip(key, src, seq, end - start, ts):
                        continue
                except Exception:  # on_packet meets the same trouble and it is counted
                    pass
            p = _new(Packet)
            p.ts, p.vlans, p.ip_version = ts, vlans, version
            p.src_ip, p.dst_ip = src_ip, dst_ip
            p.proto, p.src_port, p.dst_port = proto, sport, dport
            p.tcp_flags, p.seq = flags, seq
            p.payload = data[start:end]
            yield p


def stream_packets(batch: FrameBatch, c: Columns, rows: np.ndarray) -> list[Packet]:
    """Packets of `rows` with the STREAM_FIELDS only."""
    return list(StreamRows(batch, c, rows).packets(0, len(rows)))
