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
SkipRun = Callable[[tuple, tuple, int, int, int, int], bool]
_MASK32 = (1 << 32) - 1
# A run is offered only when it takes at least this many segments.
_MIN_RUN = 3


class StreamRows:
    """The stream-bound rows of a batch, their columns read once."""

    __slots__ = ("data", "columns", "cols", "rows", "runs")

    def __init__(self, batch: FrameBatch, c: Columns, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.data = batch.data
        self.cols, self.rows = c, rows
        self.columns = [col[rows].tolist() for col in (
            c.l3, c.ts, c.vlan, c.has_vlan, c.version, c.proto, c.sport, c.dport, c.flags,
            c.seq, c.pay_start, c.pay_end)]
        self.runs: tuple[list, list, list, Callable] | None = None

    def packets(self, lo: int, hi: int, skip: SkipSegment | None = None,
                skip_run: SkipRun | None = None) -> Iterator[Packet]:
        """Packets of rows [lo, hi) with the STREAM_FIELDS only, lazily and in order.
        With `skip` (TcpTracker.skip_segment), each TCP data segment is first offered
        to it by length and only built if declined: as the consumer dispatches each
        packet before asking for the next, a segment is offered exactly when on_packet
        would have seen it. With `skip_run` (TcpTracker.skip_run) too, a segment that
        starts a run (see `_runs`) first offers the run but its last segment, all in
        one call; the rows taken so are passed over when reached. One loop kept in one
        piece: it runs for every segment."""
        data = self.data
        if skip_run is not None:
            if self.runs is None:
                self.runs = _runs(self.cols, self.rows)
            last_row, run_bytes, run_ts, members = self.runs
            taken = bytearray(hi - lo)
        for (i, l3, ts, vlan, tagged, version, proto, sport, dport, flags, seq, start,
             end) in zip(range(lo, hi), *[col[lo:hi] for col in self.columns]):
            if skip_run is not None and taken[i - lo]:
                continue
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
                    if skip_run is not None and lo <= i < (last := last_row[i]) < hi \
                            and skip_run(key, src, seq, run_bytes[i], run_ts[i], last - i):
                        for row in members(i):
                            taken[row - lo] = 1
                        continue
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


def _runs(c: Columns, rows: np.ndarray) -> tuple[list, list, list, Callable]:
    """Per row: where the run it starts ends (-1 for none), the run's bytes and last
    time, and a function listing the run's other rows. A run is a row and the rows
    after it that carry the next data segments of its connection in the same direction,
    in order (each one's sequence number where the one before ended), with no other row
    of the connection between them; all data without SYN, FIN or RST. The run's last
    segment is left out: it is usually the one that ends a body, which cannot be taken
    by length; and no run starts at a chain's first segment: that is usually a message
    head, whose offer would fail (a chain that begins inside a body loses one segment to
    a plain offer). Found for all rows at once: rows sorted by connection, then by row."""
    n = len(rows)
    none = ([-1] * n, [0] * n, [0] * n, lambda i: ())
    if n <= _MIN_RUN:  # the run and its last segment, left out
        return none
    src = (c.src_hi[rows], c.src_lo[rows], c.sport[rows])
    dst = (c.dst_hi[rows], c.dst_lo[rows], c.dport[rows])
    # The connection's endpoints in canonical order, as the stream keys put them.
    swap = (src[0] > dst[0]) | ((src[0] == dst[0]) & (
        (src[1] > dst[1]) | ((src[1] == dst[1]) & (src[2] > dst[2]))))
    lo_end = [np.where(swap, b, a) for a, b in zip(src, dst)]
    hi_end = [np.where(swap, a, b) for a, b in zip(src, dst)]
    tagged = c.has_vlan[rows].astype(np.int64)
    vlan = np.where(tagged != 0, c.vlan[rows], 0)
    conn = (c.version[rows], tagged, vlan, *lo_end, *hi_end)
    order = np.lexsort((np.arange(n),) + conn[::-1])
    size = (c.pay_end[rows] - c.pay_start[rows]).astype(np.int64)
    seq = c.seq[rows].astype(np.int64)
    data = (c.proto[rows] == _TCP) & (size > 0) & ((c.flags[rows] & _SYN_FIN_RST) == 0)
    a, b = order[:-1], order[1:]
    linked = data[a] & data[b] & (seq[b] == ((seq[a] + size[a]) & _MASK32))
    for col in conn + (src[0], src[1], src[2]):
        linked &= col[a] == col[b]
    # Runs in sorted order: a break before each position not linked to the one before.
    breaks = np.concatenate(([True], ~linked))
    run_id = np.cumsum(breaks) - 1
    run_last = np.flatnonzero(np.concatenate((breaks[1:], [True])))[run_id]
    pos = np.arange(n)
    end = run_last - 1  # the run's last segment left out
    starts = ((end - pos) >= _MIN_RUN - 1) & ~breaks
    sizes = size[order]
    total = np.cumsum(sizes)
    last_row = np.full(n, -1, dtype=np.int64)
    run_bytes = np.zeros(n, dtype=np.int64)
    run_ts = np.zeros(n, dtype=np.int64)
    ends = np.where(starts, end, pos)
    last_row[order[starts]] = order[ends[starts]]
    run_bytes[order] = np.where(starts, total[ends] - total + sizes, 0)
    run_ts[order] = np.where(starts, c.ts[rows][order[ends]], 0)
    where = np.empty(n, dtype=np.int64)
    where[order] = pos
    order_list, where_list = order.tolist(), where.tolist()
    end_list = ends.tolist()

    def members(i: int) -> list[int]:
        p = where_list[i]
        return order_list[p + 1:end_list[p] + 1]

    return last_row.tolist(), run_bytes.tolist(), run_ts.tolist(), members


def stream_packets(batch: FrameBatch, c: Columns, rows: np.ndarray) -> list[Packet]:
    """Packets of `rows` with the STREAM_FIELDS only."""
    return list(StreamRows(batch, c, rows).packets(0, len(rows)))
