"""UDP: each datagram of a parsed protocol goes whole to its parser, with per-flow state.

The client is the side not on the protocol's port (the sender when both are). Flows idle
past `udp.idle_timeout` are closed so their parsers flush what is pending. A parser that
takes datagrams whole (`datagram(state, data, direction, ts)`, returning whether anything
is still pending) has its flow closed as soon as nothing is: UDP has no connection to keep,
and tens of thousands of answered DNS flows would otherwise be swept by every timer tick.
Such a flow is dropped without `close`: with nothing pending there is nothing to flush, and
a DNS lookup is one flow opened and dropped.
"""

from __future__ import annotations

from typing import Any, Callable

from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Conn, Direction, Parser
from shardbeat.streams.porttable import PortTable
from shardbeat.streams.config import UdpConfig

_NS = 1_000_000_000
# An enum member lookup costs a Python call in 3.11; these run for every datagram.
_TO_SERVER, _TO_CLIENT = Direction.TO_SERVER, Direction.TO_CLIENT


class _Flow:
    __slots__ = ("parser", "state", "client_key", "last_ts", "datagram")

    def __init__(self, parser: Parser, state: Any, client_key: tuple,
                 datagram: Callable[[Any, bytes, Direction, int], bool] | None) -> None:
        self.parser = parser
        self.state = state
        self.client_key = client_key
        self.last_ts = 0
        self.datagram = datagram


class UdpDispatcher(PortTable):
    def __init__(self, parsers_by_port: dict[int, Parser], config: UdpConfig,
                 counters: Counters) -> None:
        super().__init__(parsers_by_port, config, counters)
        # `datagram` is optional in the parser contract; looked up once per parser.
        self._datagram = {id(p): getattr(p, "datagram", None)
                          for p in parsers_by_port.values()}

    def on_packet(self, pkt: Packet) -> None:
        by_port = self._by_port
        sport, dport = pkt.src_port, pkt.dst_port
        if sport not in by_port and dport not in by_port:
            return
        src, dst = (pkt.src_ip, sport), (pkt.dst_ip, dport)
        key = (src, dst, pkt.vlans) if src < dst else (dst, src, pkt.vlans)
        flow = self._table.get(key)
        if flow is None:
            flow = self._open(key, pkt, src, dst)
        flow.last_ts = ts = pkt.ts
        direction = _TO_SERVER if src == flow.client_key else _TO_CLIENT
        if flow.datagram is not None:
            try:
                pending = flow.datagram(flow.state, pkt.payload, direction, ts)
            except Exception:  # a parser bug costs this datagram, never the worker
                self._counters.inc(f"{flow.parser.name}_parser_crashes")
                return
            if not pending:
                del self._table[key]  # nothing pending: nothing for `close` to flush
            return
        try:
            progress = flow.parser.feed(flow.state, memoryview(pkt.payload), direction, ts)
        except Exception:  # a parser bug costs this datagram, never the worker
            self._counters.inc(f"{flow.parser.name}_parser_crashes")
            return
        if progress.error:
            self._counters.inc(f"{flow.parser.name}_parse_errors")

    def _open(self, key: tuple, pkt: Packet, src: tuple, dst: tuple) -> _Flow:
        client, server = (src, dst) if pkt.dst_port in self._by_port else (dst, src)
        parser = self._by_port[server[1]]
        if len(self._table) >= self._config.max_flows:
            old = next(iter(self._table))
            self._counters.inc("udp_flows_evicted")
            self._close(old, self._table[old], pkt.ts)
        conn = Conn("udp", pkt.ip_version, client, server, pkt.vlans)
        flow = _Flow(parser, parser.new_state(conn), client, self._datagram[id(parser)])
        self._table[key] = flow
        return flow

    def _close(self, key: tuple, flow: _Flow, ts: int) -> None:
        self._table.pop(key, None)
        try:
            flow.parser.close(flow.state, ts)
        except Exception:
            self._counters.inc(f"{flow.parser.name}_parser_crashes")

    def tick(self, now: int) -> None:
        self._sweep(now)
