"""The per-worker flow table: every decoded packet counted into a bidirectional flow, flows
reported every `period`, ended after `timeout` idle, after `active_timeout` of life, when the
table is full, and at end of capture.

Time is packet time, and every report happens at an instant fixed by the clock alone: the
multiples of `period` and of `timeout` since the epoch ("passes"). A pass first ends the flows
idle for more than `timeout` (and those older than `active_timeout`), then, on a multiple of
`period`, reports every other open flow. Because the instants do not depend on how packets
are batched or which worker holds a flow, N workers publish exactly the reports one worker
would (eviction at `max_flows` excepted: that cap is per worker).

The key is protocol, IP version, VLANs and both endpoints (ip, port, mac), packed into
bytes with the endpoints in a canonical order, so both directions meet in one entry. MACs
take part as in Packetbeat unless `allow_mismatched_eth`. ICMP has no ports (Packetbeat 8
keys ICMP flows by address only too). The flow's source is the sender of its first packet.
Bytes are wire lengths of the frames (`Packet.frame_len`), as Packetbeat adds the capture's
original length.
"""

from __future__ import annotations

import heapq
import struct
from typing import Any, Callable

import numpy as np

from shardbeat.decode.packet import Packet
from shardbeat.flows.config import FlowsConfig
from shardbeat.flows.events import flow_event, flow_id
from shardbeat.flows.render import ReportLines
from shardbeat.metrics.counters import Counters

_NS = 1_000_000_000
# At the cap, evict this fraction of the table at once: a flood of new flows then costs one
# scan of the table per max_flows/64 new flows instead of one per new flow.
_EVICT_SHARE = 64
_LINES_AT_ONCE = 256


# What a flow keeps of its first packet: (ts, proto, vlans, src_mac, dst_mac, src_ip, dst_ip,
# src_port, dst_port). The batch path builds it from columns, without a Packet.
FirstPacket = tuple[int, int, tuple[int, ...], bytes, bytes, bytes, bytes, int, int]


def first_packet(pkt: Packet) -> FirstPacket:
    return (pkt.ts, pkt.proto, pkt.vlans, pkt.src_mac, pkt.dst_mac, pkt.src_ip, pkt.dst_ip,
            pkt.src_port, pkt.dst_port)


# A flow's key: protocol, IP version, VLAN + 1 (0: untagged), then endpoint A's address
# (high, low 64 bits), port and MAC, then B's. Bytes: a third of the memory of a tuple of
# ints, and the batch path makes a whole batch's keys with one numpy conversion.
KEY_DTYPE = np.dtype([("proto", "u1"), ("version", "u1"), ("vlan", ">u2"),
                      ("a_hi", ">u8"), ("a_lo", ">u8"), ("a_port", ">u2"), ("a_mac", ">u8"),
                      ("b_hi", ">u8"), ("b_lo", ">u8"), ("b_port", ">u2"), ("b_mac", ">u8")])
_KEY = struct.Struct(">BBHQQHQQQHQ")
_LOW64 = (1 << 64) - 1


class Flow:
    """One bidirectional flow. `src_*` is the first packet's sender."""

    __slots__ = (
        "key", "src_is_a", "proto", "vlans", "src_ip", "dst_ip", "src_port", "dst_port",
        "src_mac", "dst_mac", "first_ns", "last_ns", "src_packets", "src_bytes",
        "dst_packets", "dst_bytes", "dst_seen", "icmp", "icmp_tc", "_id", "static",
        "template", "body", "body_packets",
    )

    def __init__(self, key: bytes, src_is_a: bool, first: FirstPacket, macs: bool) -> None:
        self.key = key
        self.src_is_a = src_is_a
        (self.first_ns, proto, self.vlans, src_mac, dst_mac, self.src_ip, self.dst_ip,
         self.src_port, self.dst_port) = first
        self.proto = proto
        self.src_mac = src_mac if macs else b""
        self.dst_mac = dst_mac if macs else b""
        self.last_ns = self.first_ns
        self.src_packets = self.src_bytes = self.dst_packets = self.dst_bytes = 0
        self.dst_seen = False
        self.icmp = proto == 1 or proto == 58
        self.icmp_tc = 0  # last type << 8 | code the source sent (Packetbeat reports it)
        self._id: str | None = None
        self.static: Any = None  # events.FlowParts: what never changes between reports
        self.template: bytes | None = None  # render.ReportLines' template of its reports
        self.body = b""  # its last report after the head, as render.ReportLines made it
        self.body_packets = -1  # the packet count `body` was rendered at

    def flow_id(self) -> str:
        if self._id is None:
            self._id = flow_id(self.proto, self.vlans, (self.src_mac, self.src_ip,
                               self.src_port), (self.dst_mac, self.dst_ip, self.dst_port))
        return self._id


class FlowTable:
    def __init__(self, config: FlowsConfig, publish: Callable[[dict], None],
                 counters: Counters, sink: Callable[[bytes], None] | None = None,
                 tail: bytes = b"}") -> None:
        """`sink`, when given, takes reports as finished lines, each closed by `tail`: the
        fast route when no processor needs a report as a dict."""
        self._publish = publish
        self._sink = sink
        self._lines = ReportLines(tail) if sink is not None else None
        self._counters = counters
        self._flows: dict[bytes, Flow] = {}
        self._macs = not config.allow_mismatched_eth
        self._delta = config.enable_delta_flow_reports
        self._timeout_ns = round(config.timeout * _NS)
        self._period_ns = round(config.period * _NS) if config.period > 0 else 0
        self._active_ns = round(config.active_timeout * _NS)
        self._max_flows = config.max_flows
        self._intervals = tuple(i for i in (self._timeout_ns, self._period_ns) if i)
        self._next_pass = 0  # unknown until the first packet or tick sets the clock

    def __len__(self) -> int:
        return len(self._flows)

    @property
    def uses_macs(self) -> bool:
        return self._macs

    @property
    def next_pass(self) -> int:
        """Packet time of the next report pass; nothing is counted across it."""
        return self._next_pass

    def update(self, pkt: Packet) -> None:
        """Count one decoded packet (the scalar path; batches go through `account`)."""
        ts = pkt.ts
        if ts >= self._next_pass:
            self._advance(ts)
        key, a = self.key_of(pkt)
        flow = self._flows.get(key)
        if flow is None:
            flow = self._open(key, a, first_packet(pkt))
        elif ts < flow.first_ns:
            _found_earlier_first(flow, pkt, a)
        if flow.src_is_a is a:
            flow.src_packets += 1
            flow.src_bytes += pkt.frame_len
            if flow.icmp:
                flow.icmp_tc = pkt.icmp_type << 8 | pkt.icmp_code
        else:
            flow.dst_packets += 1
            flow.dst_bytes += pkt.frame_len
            flow.dst_seen = True
        if ts > flow.last_ns:
            flow.last_ns = ts

    def key_of(self, pkt: Packet) -> tuple[bytes, bool]:
        """(canonical key, whether the sender is endpoint A). Keys are the bytes the batch
        path builds from its columns (`KEY_DTYPE`), so both paths meet in one entry."""
        si, di = int.from_bytes(pkt.src_ip, "big"), int.from_bytes(pkt.dst_ip, "big")
        sp, dp = pkt.src_port, pkt.dst_port
        if self._macs:
            sm, dm = int.from_bytes(pkt.src_mac, "big"), int.from_bytes(pkt.dst_mac, "big")
        else:
            sm = dm = 0
        if si != di:
            a = si < di
        elif sp != dp:
            a = sp < dp
        else:
            a = sm <= dm
        if not a:
            si, sp, sm, di, dp, dm = di, dp, dm, si, sp, sm
        vlans = pkt.vlans
        key = _KEY.pack(pkt.proto, 4 if len(pkt.src_ip) == 4 else 6,
                        vlans[0] + 1 if len(vlans) == 1 else 0,
                        si >> 64, si & _LOW64, sp, sm, di >> 64, di & _LOW64, dp, dm)
        if len(vlans) > 1:  # Q-in-Q: only the scalar path sees it; a longer key
            key += b"".join(v.to_bytes(2, "big") for v in vlans)
        return key, a

    def unknown(self, keys: list[bytes]) -> list[int]:
        """The positions in `keys` of those the table has no flow for."""
        flows = self._flows
        return [i for i, key in enumerate(keys) if key not in flows]

    def account(self, key: bytes, a_first: bool, counts: tuple[int, int, int, int],
                last_ns: int, first: FirstPacket | None) -> None:
        """Add a batch's aggregate for one flow: `counts` are packets and bytes sent by
        endpoint A, then by B; `first` is the flow's first packet when the table does not
        have it yet. The caller guarantees no report pass falls inside the batch."""
        flow = self._flows.get(key)
        if flow is None:
            flow = self._open(key, a_first, first)
        a_packets, a_bytes, b_packets, b_bytes = counts
        if not flow.src_is_a:
            a_packets, a_bytes, b_packets, b_bytes = b_packets, b_bytes, a_packets, a_bytes
        flow.src_packets += a_packets
        flow.src_bytes += a_bytes
        if b_packets:
            flow.dst_packets += b_packets
            flow.dst_bytes += b_bytes
            flow.dst_seen = True
        if last_ns > flow.last_ns:
            flow.last_ns = last_ns

    def tick(self, now_ns: int) -> None:
        """Packet time has reached `now_ns`: make every report due by then."""
        if now_ns >= self._next_pass:
            self._advance(now_ns)

    def flush(self, now_ns: int) -> None:
        """End of capture: a final report of every open flow."""
        self.tick(now_ns)
        ended = list(self._flows.values())
        self._report_all([f for f in ended if f.last_ns <= now_ns], now_ns, True)
        for flow in ended:
            if flow.last_ns > now_ns:
                self._report(flow, flow.last_ns, True)
        self._counters.inc("flows_flushed", len(self._flows))
        self._flows.clear()

    def _open(self, key: bytes, a: bool, first: FirstPacket) -> Flow:
        if len(self._flows) >= self._max_flows:
            self._evict(first[0])
        flow = Flow(key, a, first, self._macs)
        self._flows[key] = flow
        self._counters.inc("flows_opened")
        return flow

    def _evict(self, now_ns: int) -> None:
        """The table is full: end the flows idle the longest, each with a final report."""
        count = max(1, self._max_flows // _EVICT_SHARE)
        for flow in heapq.nsmallest(count, self._flows.values(), key=_last_seen):
            del self._flows[flow.key]
            self._report(flow, max(now_ns, flow.last_ns), True)
        self._counters.inc("flows_evicted", count)

    def _advance(self, now_ns: int) -> None:
        """Run every pass due by `now_ns`, in order; skip straight past an empty table."""
        while self._next_pass <= now_ns:
            if not self._flows:
                self._next_pass = self._next_after(now_ns)
                return
            instant = self._next_pass
            self._pass(instant)
            self._next_pass = self._next_after(instant)

    def _next_after(self, t: int) -> int:
        return min((t // i + 1) * i for i in self._intervals)

    def _pass(self, instant: int) -> None:
        idle_before = instant - self._timeout_ns
        born_before = instant - self._active_ns if self._active_ns else None
        report = self._period_ns and instant % self._period_ns == 0
        idle, aged, ongoing = [], [], []
        for flow in self._flows.values():
            if flow.last_ns < idle_before:
                idle.append(flow)
            elif born_before is not None and flow.first_ns <= born_before:
                aged.append(flow)
            elif report:
                ongoing.append(flow)
        self._report_all(ongoing, instant, False)
        if idle:
            self._counters.inc("flows_idle_timeout", len(idle))
        if aged:
            self._counters.inc("flows_active_timeout", len(aged))
        for ended in (idle, aged):
            for flow in ended:
                del self._flows[flow.key]
            self._report_all(ended, instant, True)

    def _report_all(self, flows: list[Flow], report_ns: int, final: bool) -> None:
        if self._lines is not None:
            sink, lines = self._sink, self._lines.lines
            # A few hundred at a time: a pass's lines at once would be tens of megabytes.
            for lo in range(0, len(flows), _LINES_AT_ONCE):
                for line in lines(flows[lo:lo + _LINES_AT_ONCE], report_ns, final):
                    sink(line)
        else:
            publish = self._publish
            for flow in flows:
                publish(flow_event(flow, report_ns, final))
        if flows:
            self._counters.inc("flows_reported", len(flows))
        if self._delta:
            for flow in flows:
                flow.src_packets = flow.src_bytes = flow.dst_packets = flow.dst_bytes = 0
                flow.body_packets = -1

    def _report(self, flow: Flow, report_ns: int, final: bool) -> None:
        self._report_all([flow], report_ns, final)


def _found_earlier_first(flow: Flow, pkt: Packet, a: bool) -> None:
    """`pkt` precedes what opened `flow`: the batch path counts a segment's frames of the
    common shapes before the frames only the scalar decoder reads (IP fragments, say), so
    a flow whose first packets are of the latter was opened by a later packet. No report
    was made in between (no pass falls inside a segment): make `pkt` the first."""
    flow.first_ns = pkt.ts
    if flow.src_is_a is not a:
        flow.src_is_a = a
        flow.src_ip, flow.dst_ip = flow.dst_ip, flow.src_ip
        flow.src_port, flow.dst_port = flow.dst_port, flow.src_port
        flow.src_mac, flow.dst_mac = flow.dst_mac, flow.src_mac
        flow.src_packets, flow.dst_packets = flow.dst_packets, flow.src_packets
        flow.src_bytes, flow.dst_bytes = flow.dst_bytes, flow.src_bytes
        flow.dst_seen = flow.dst_packets > 0


def _last_seen(flow: Flow) -> int:
    return flow.last_ns
