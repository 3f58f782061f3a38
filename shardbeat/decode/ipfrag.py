"""IPv4 and IPv6 fragment reassembly, bounded in datagrams, fragments, size and packet time.

A datagram is keyed by (src, dst, proto, id) for IPv4 and (src, dst, id) for IPv6 (RFC 8200:
only the offset-zero fragment's next header counts, so it is not part of the key). It is
complete when a last fragment (more-fragments clear) fixed its length and the fragments seen
cover every byte up to it.

Overlaps: the first fragment to cover a byte wins (later copies of the same range are written
first and then overwritten by earlier ones), and each overlapping fragment is counted
(`ipfrag_overlaps`). Fragments that contradict the datagram's length drop it (`ipfrag_bad`).
Every bound drops the datagram it was exceeded by and is counted: `ipfrag_evictions` (too many
pending datagrams: the oldest goes), `ipfrag_timeouts`, `ipfrag_oversize`,
`ipfrag_too_many_fragments`. `ipfrag_reassembled` counts successes.
"""

from __future__ import annotations

from typing import Hashable

from shardbeat.decode.config import IpFragConfig
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters


class _Datagram:
    __slots__ = ("deadline", "frags", "covered", "total", "wire", "proto")

    def __init__(self, deadline: int) -> None:
        self.deadline = deadline
        self.frags: list[tuple[int, bytes]] = []  # (offset, data) in arrival order
        self.covered: list[tuple[int, int]] = []  # merged [start, end) ranges, sorted
        self.total = -1   # payload length, known once the last fragment arrived
        self.wire = 0     # sum of the fragments' frame lengths
        self.proto = -1   # next header of the offset-zero fragment


def _cover(covered: list[tuple[int, int]], start: int, end: int) -> bool:
    """Add [start, end) to the merged ranges in place; True when it overlapped one."""
    overlap = False
    merged: list[tuple[int, int]] = []
    for a, b in covered:
        if b < start or a > end:
            merged.append((a, b))
            continue
        if a < end and start < b:
            overlap = True
        start, end = min(a, start), max(b, end)
    merged.append((start, end))
    merged.sort()
    covered[:] = merged
    return overlap


class Reassembler:
    """Pending datagrams in arrival order, so the oldest is first to evict or expire."""

    __slots__ = ("_cfg", "_counters", "_pending", "_timeout_ns")

    def __init__(self, config: IpFragConfig, counters: Counters) -> None:
        self._cfg = config
        self._counters = counters
        self._pending: dict[Hashable, _Datagram] = {}
        self._timeout_ns = int(config.timeout * 1_000_000_000)

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: Hashable, offset: int, more: bool, chunk: bytes,
            pkt: Packet) -> tuple[bytes, int, int] | None:
        """Store one fragment (`pkt` gives its time, frame length and next header).

        Returns (payload, proto, summed frame length) when this fragment completed its
        datagram, else None.
        """
        self.expire(pkt.ts)
        pending = self._pending
        dgram = pending.get(key)
        if dgram is None:
            if len(pending) >= self._cfg.max_datagrams:
                del pending[next(iter(pending))]
                self._counters.inc("ipfrag_evictions")
            dgram = pending[key] = _Datagram(pkt.ts + self._timeout_ns)
        problem = self._admit(dgram, offset, offset + len(chunk), more)
        if problem:
            del pending[key]
            self._counters.inc(problem)
            return None
        if chunk and _cover(dgram.covered, offset, offset + len(chunk)):
            self._counters.inc("ipfrag_overlaps")
        dgram.frags.append((offset, chunk))
        dgram.wire += pkt.frame_len
        if offset == 0 and dgram.proto < 0:
            dgram.proto = pkt.proto
        if dgram.total < 0 or dgram.proto < 0:
            return None
        if dgram.total and dgram.covered != [(0, dgram.total)]:
            return None
        del pending[key]
        self._counters.inc("ipfrag_reassembled")
        return self._join(dgram), dgram.proto, dgram.wire

    def _admit(self, dgram: _Datagram, start: int, end: int, more: bool) -> str | None:
        """The counter naming why this fragment ruins its datagram, or None."""
        if end > self._cfg.max_datagram_size:
            return "ipfrag_oversize"
        if len(dgram.frags) >= self._cfg.max_fragments:
            return "ipfrag_too_many_fragments"
        if not more:
            if dgram.total >= 0 and dgram.total != end:
                return "ipfrag_bad"
            if dgram.covered and dgram.covered[-1][1] > end:
                return "ipfrag_bad"
            dgram.total = end
        elif dgram.total >= 0 and end > dgram.total:
            return "ipfrag_bad"
        return None

    @staticmethod
    def _join(dgram: _Datagram) -> bytes:
        buf = bytearray(dgram.total)
        # Latest first, so where fragments overlap the earliest one's bytes remain.
        for offset, chunk in reversed(dgram.frags):
            buf[offset:offset + len(chunk)] = chunk
        return bytes(buf)

    def expire(self, now_ns: int) -> int:
        """Drop datagrams whose time ran out by packet time `now_ns`; returns how many."""
        pending = self._pending
        dropped = 0
        while pending:
            key = next(iter(pending))
            if pending[key].deadline > now_ns:
                break
            del pending[key]
            dropped += 1
        if dropped:
            self._counters.inc("ipfrag_timeouts", dropped)
        return dropped
