"""What a decoded packet meets inside a worker, assembled from the config once.

Flows see every packet; TCP and UDP packets on a parsed port go to their stream layer;
ICMP goes to its tracker. Every component publishes plain event dicts into `publish`,
which finishes and encodes each one exactly once and hands the bytes to the sink.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from shardbeat.metrics.counters import Counters
from shardbeat.processors.finish import EventFinisher, SectionExtras
from shardbeat.protocols.base import ParserEnv
from shardbeat.protocols.registry import PROTOCOLS
from shardbeat.streams.config import UdpConfig
from shardbeat.streams.tcp import TcpTracker
from shardbeat.streams.udp import UdpDispatcher

_TCP, _UDP, _ICMP, _ICMPV6 = 6, 17, 1, 58


class Pipeline:
    __slots__ = ("flows", "tcp", "udp", "icmp", "active_protocols", "_timed", "_tcp_ports",
                 "_udp_ports")

    def __init__(self, flows: Any, tcp: TcpTracker, udp: UdpDispatcher, icmp: Any,
                 active_protocols: tuple[str, ...]) -> None:
        self.flows, self.tcp, self.udp, self.icmp = flows, tcp, udp, icmp
        self.active_protocols = active_protocols
        self._timed = [c for c in (tcp, udp, icmp, flows) if c is not None]
        self._tcp_ports = _port_mask(tcp.ports)
        self._udp_ports = _port_mask(udp.ports)

    def wants(self, cols: Any, rows: np.ndarray) -> np.ndarray:
        """Which of `rows` (TCP/UDP rows of decoded columns) are on a parsed port."""
        proto, sport, dport = cols.proto[rows], cols.sport[rows], cols.dport[rows]
        tcp = (proto == _TCP) & (self._tcp_ports[sport] | self._tcp_ports[dport])
        udp = (proto == _UDP) & (self._udp_ports[sport] | self._udp_ports[dport])
        return rows[tcp | udp]

    def dispatch_streams(self, pkts: Any) -> int:
        """TCP and UDP packets (any iterable) whose flows were already counted (batch
        path), in order, to the streams only. One that raises is skipped, not the rest:
        returns how many did.
        Many per call rather than one, so the loop costs no call per packet; each is
        dispatched before the next is drawn, so `pkts` may be lazy and see the effect."""
        tcp, udp = self.tcp.on_packet, self.udp.on_packet
        errors = 0
        for pkt in pkts:
            try:
                if pkt.proto == _TCP:
                    tcp(pkt)
                else:
                    udp(pkt)
            except Exception:
                errors += 1
        return errors

    def dispatch(self, pkt: Any) -> None:
        if self.flows is not None:
            self.flows.update(pkt)
        proto = pkt.proto
        if proto == _TCP:
            self.tcp.on_packet(pkt)
        elif proto == _UDP:
            self.udp.on_packet(pkt)
        elif (proto == _ICMP or proto == _ICMPV6) and self.icmp is not None:
            self.icmp.on_packet(pkt)

    def tick(self, now: int) -> None:
        for component in self._timed:
            component.tick(now)

    def flush(self, now: int) -> None:
        # Transactions before flows: a flow's final report is the last word on it.
        for component in self._timed:
            component.flush(now)


def _port_mask(ports: Any) -> np.ndarray:
    mask = np.zeros(65536, dtype=bool)
    mask[list(ports)] = True
    return mask


def _extras(section: Any) -> SectionExtras:
    return SectionExtras(section.tags, section.fields, section.fields_under_root)


def build_pipeline(settings: Any, sink: Callable[[bytes], None],
                   counters: Counters) -> Pipeline:
    sb = settings.shardbeat
    sections = {"flow": _extras(sb.flows)}
    enabled = []
    for spec in PROTOCOLS:
        cfg = getattr(sb.protocols, spec.name)
        if cfg.enabled and spec.parser is not None:
            enabled.append((spec, cfg))
            sections[spec.name] = _extras(cfg)
    finisher = EventFinisher(_extras(settings), sections, settings.name)

    def publish(event: dict) -> None:
        sink(finisher.finish(event))

    env = ParserEnv(publish=publish, counters=counters)
    tcp_ports: dict[int, Any] = {}
    udp_ports: dict[int, Any] = {}
    icmp = None
    for spec, cfg in enabled:
        instance = spec.parser_class()(cfg, env)
        if "icmp" in spec.transports:
            icmp = instance
            continue
        for port in cfg.ports:
            if "tcp" in spec.transports:
                tcp_ports.setdefault(port, instance)
            if "udp" in spec.transports:
                udp_ports.setdefault(port, instance)
    flows = None
    if sb.flows.enabled:
        from shardbeat.flows.table import FlowTable

        from shardbeat.flows.events import FLOW_EVENT_KEYS

        append = finisher.appender("flow", FLOW_EVENT_KEYS)
        if append is not None and not settings.processors and not sb.flows.processors:
            flows = FlowTable(sb.flows, publish, counters, sink, tail=append(b""))
        else:
            flows = FlowTable(sb.flows, publish, counters)
    tcp = TcpTracker(tcp_ports, sb.tcp, counters)
    udp = UdpDispatcher(udp_ports, getattr(sb, "udp", None) or UdpConfig(), counters)
    return Pipeline(flows, tcp, udp, icmp, tuple(spec.name for spec, _ in enabled))
