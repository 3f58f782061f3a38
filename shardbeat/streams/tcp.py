"""TCP reassembly: in-order bytes per connection and direction, handed to the parser.

Which side is the server: the receiver of a bare SYN, the sender of a SYN-ACK, else (a
capture that starts mid-connection) the side on a configured port. Sequence numbers are
compared modulo 2**32. Retransmitted and overlapping bytes are trimmed; a segment ahead of
the next expected byte waits in a bounded out-of-order buffer; when that buffer is full, or
the connection ends with a hole, the hole becomes a gap reported to the parser, which
resynchronises instead of losing the connection.
"""

from __future__ import annotations

from typing import Any

from shardbeat.decode.packet import Packet, TcpFlag
from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Conn, Direction, Parser
from shardbeat.streams.porttable import PortTable
from shardbeat.streams.config import TcpConfig
from shardbeat.streams.feeder import StreamFeeder

_MOD = 1 << 32
_MASK = _MOD - 1
_TO_SERVER, _TO_CLIENT = Direction.TO_SERVER, Direction.TO_CLIENT
_HALF = 1 << 31
_SYN, _ACK, _FIN, _RST = TcpFlag.SYN, TcpFlag.ACK, TcpFlag.FIN, TcpFlag.RST
_NS = 1_000_000_000


class _Half:
    """One direction's reassembly state."""

    __slots__ = ("isn", "next_seq", "ooo", "ooo_bytes", "fin_seq", "fin_done", "feeder")

    def __init__(self, feeder: StreamFeeder) -> None:
        self.isn: int | None = None  # first sequence number seen (the SYN's, if seen)
        self.next_seq: int | None = None
        self.ooo: dict[int, bytes] = {}
        self.ooo_bytes = 0
        self.fin_seq: int | None = None
        self.fin_done = False
        self.feeder = feeder


class _Stream:
    __slots__ = ("conn", "parser", "state", "halves", "last_ts", "client_key")

    def __init__(self, conn: Conn, parser: Parser, state: Any, halves: tuple[_Half, _Half],
                 client_key: tuple[bytes, int]) -> None:
        self.conn = conn
        self.parser = parser
        self.state = state
        self.halves = halves
        self.last_ts = 0
        self.client_key = client_key


class TcpTracker(PortTable):
    """Owns every parsed TCP connection of one worker."""

    def __init__(self, parsers_by_port: dict[int, Parser], config: TcpConfig,
                 counters: Counters) -> None:
        super().__init__(parsers_by_port, config, counters)
        # key -> (closed at, client endpoint, per direction (isn, end)): closed connections
        # in TIME_WAIT, oldest first.
        self._closed: dict[tuple, tuple] = {}
        self._time_wait_ns = int(config.time_wait * _NS)

    def on_packet(self, pkt: Packet) -> None:
        by_port = self._by_port
        sport, dport = pkt.src_port, pkt.dst_port
        if sport not in by_port and dport not in by_port:
            return
        src, dst = (pkt.src_ip, sport), (pkt.dst_ip, dport)
        key = (src, dst, pkt.vlans) if src < dst else (dst, src, pkt.vlans)
        stream = self._table.get(key)
        flags = pkt.tcp_flags
        if stream is None:
            # Only a SYN or data starts tracking: the bare ACK or FIN that trails a closed
            # connection must not open a new one.
            if flags & _RST or not (flags & _SYN or pkt.payload):
                return
            if key in self._closed and self._replays_closed(key, src, pkt.seq):
                self._counters.inc("tcp_segments_after_close")
                return
            stream = self._open(key, pkt, src, dst)
            if stream is None:
                return
        stream.last_ts = pkt.ts
        direction = _TO_SERVER if src == stream.client_key else _TO_CLIENT
        half = stream.halves[direction]
        if flags & _SYN:
            half.isn = pkt.seq
            half.next_seq = (pkt.seq + 1) & _MASK
            half.ooo.clear()
            half.ooo_bytes = 0
            return
        payload = pkt.payload
        if payload:
            if pkt.seq == half.next_seq and not half.ooo:
                # The common case, in order with nothing held: straight to the parser.
                half.next_seq = (half.next_seq + len(payload)) & _MASK
                half.feeder.push(payload, pkt.ts)
            else:
                self._segment(stream, half, direction, pkt)
        if flags & (_FIN | _RST) or half.fin_seq is not None:
            self._ending(key, stream, half, direction, pkt)

    def skip_segment(self, key: tuple, src: tuple, seq: int, nbytes: int, ts: int) -> bool:
        """A data segment without SYN, FIN or RST (the caller checked), by its length:
        when it comes next in order on a tracked connection whose parser takes it
        unseen (a body segment nobody keeps), it only moves the sequence number and the
        idle clock, with no Packet and no parser call chain. False, with nothing
        changed, for anything else: the caller then hands the packet to on_packet,
        which would have ended the same way for a segment taken here."""
        stream = self._table.get(key)
        if stream is None:
            return False
        half = stream.halves[_TO_SERVER if src == stream.client_key else _TO_CLIENT]
        if seq != half.next_seq or half.ooo or half.fin_seq is not None \
                or not half.feeder.skip(nbytes, ts):
            return False
        stream.last_ts = ts
        half.next_seq = (seq + nbytes) & _MASK
        return True

    def skip_run(self, key: tuple, src: tuple, seq: int, nbytes: int, ts: int,
                 span: int) -> bool:
        """Consecutive in-order data segments of one direction (the caller checked: no
        SYN, FIN or RST, no other segment of the connection among them), `nbytes` in
        all, the last at `ts`, taken as one by `skip_segment`: when the parser takes
        their sum by length, it would have taken each of them. The other connections'
        `span` packets among them go by untouched, so this one must not be evicted by
        one of those opening: the table must have room for all of them."""
        if len(self._table) + span >= self._config.max_connections:
            return False
        return self.skip_segment(key, src, seq, nbytes, ts)

    def touch(self, key: tuple, ts: int) -> None:
        """Bare ACKs of `key` were seen up to `ts`: they change nothing but the idle clock,
        so the batch path counts them here instead of as packets."""
        stream = self._table.get(key)
        if stream is not None and ts > stream.last_ts:
            stream.last_ts = ts

    def _ending(self, key: tuple, stream: _Stream, half: _Half, direction: Direction,
                pkt: Packet) -> None:
        """FIN and RST bookkeeping, and the close once both sides are done."""
        if pkt.tcp_flags & _FIN and half.fin_seq is None:
            half.fin_seq = (pkt.seq + len(pkt.payload)) & _MASK
            if half.next_seq is None:
                half.next_seq = half.fin_seq
        if half.fin_seq is not None and not half.fin_done and half.next_seq == half.fin_seq:
            self._finish_half(stream, half, direction, pkt.ts)
        if pkt.tcp_flags & _RST:
            self._close(key, stream, pkt.ts)
        elif stream.halves[0].fin_done and stream.halves[1].fin_done:
            self._close(key, stream, pkt.ts)

    def _open(self, key: tuple, pkt: Packet, src: tuple, dst: tuple) -> _Stream | None:
        flags = pkt.tcp_flags
        if flags & _SYN and not flags & _ACK:
            client, server = src, dst
        elif flags & _SYN:
            client, server = dst, src
        elif pkt.dst_port in self._by_port:
            client, server = src, dst
        else:
            client, server = dst, src
        parser = self._by_port.get(server[1])
        if parser is None:
            return None
        if len(self._table) >= self._config.max_connections:
            self._evict_oldest(pkt.ts)
        conn = Conn("tcp", pkt.ip_version, client, server, pkt.vlans)
        state = parser.new_state(conn)
        halves = (self._half(parser, state, Direction.TO_SERVER),
                  self._half(parser, state, Direction.TO_CLIENT))
        stream = _Stream(conn, parser, state, halves, client)
        self._table[key] = stream
        self._counters.inc("tcp_connections_opened")
        return stream

    def _half(self, parser: Parser, state: Any, direction: Direction) -> _Half:
        feeder = StreamFeeder(parser, state, direction, self._config.max_stream_buffer,
                              self._counters)
        return _Half(feeder)

    def _segment(self, stream: _Stream, half: _Half, direction: Direction,
                 pkt: Packet) -> None:
        data = pkt.payload
        seq = pkt.seq
        if half.next_seq is None:
            # Mid-connection start: take the first data we see as the stream's beginning.
            half.isn = half.next_seq = seq
        offset = (seq - half.next_seq) % _MOD
        if offset >= _HALF:
            behind = _MOD - offset
            if behind >= len(data):
                self._counters.inc("tcp_retransmitted_segments")
                return
            self._counters.inc("tcp_overlap_bytes", behind)
            data = data[behind:]
            offset = 0
        if offset == 0:
            self._deliver(half, data, pkt.ts)
            if half.ooo:
                self._drain(half, pkt.ts)
            return
        self._hold(half, seq, data, pkt.ts)

    def _deliver(self, half: _Half, data: Any, ts: int) -> None:
        half.next_seq = (half.next_seq + len(data)) % _MOD
        half.feeder.push(data, ts)

    def _hold(self, half: _Half, seq: int, data: Any, ts: int) -> None:
        cfg = self._config
        if seq not in half.ooo:
            half.ooo[seq] = bytes(data)
            half.ooo_bytes += len(data)
            self._counters.inc("tcp_out_of_order_bytes", len(data))
        if len(half.ooo) > cfg.max_ooo_segments or half.ooo_bytes > cfg.max_ooo_bytes:
            self._skip_to_next_held(half, ts)
            self._drain(half, ts)

    def _drain(self, half: _Half, ts: int) -> None:
        """Deliver held segments that now line up (trimming what overlaps)."""
        progressed = True
        while half.ooo and progressed:
            progressed = False
            for seq in list(half.ooo):
                offset = (seq - half.next_seq) % _MOD
                data = half.ooo[seq]
                if offset == 0 or offset >= _HALF:
                    del half.ooo[seq]
                    half.ooo_bytes -= len(data)
                    behind = 0 if offset == 0 else _MOD - offset
                    if behind < len(data):
                        self._deliver(half, memoryview(data)[behind:], ts)
                    progressed = True

    def _skip_to_next_held(self, half: _Half, ts: int) -> None:
        """Declare the hole before the earliest held segment lost and jump over it."""
        nearest = min(half.ooo, key=lambda s: (s - half.next_seq) % _MOD)
        missing = (nearest - half.next_seq) % _MOD
        self._counters.inc("tcp_gaps")
        self._counters.inc("tcp_gap_bytes", missing)
        half.feeder.gap(missing)
        half.next_seq = nearest

    def _finish_half(self, stream: _Stream, half: _Half, direction: Direction,
                     ts: int) -> None:
        half.fin_done = True
        stream.parser.fin(stream.state, direction, ts)

    def _close(self, key: tuple, stream: _Stream, ts: int) -> None:
        """The connection ends: deliver what is held (past its holes), then let the parser
        flush whatever is pending."""
        for direction, half in enumerate(stream.halves):
            while half.ooo:
                self._skip_to_next_held(half, ts)
                self._drain(half, ts)
            if half.fin_seq is not None and not half.fin_done:
                self._finish_half(stream, half, Direction(direction), ts)
        self._table.pop(key, None)
        self._remember_closed(key, stream, ts)
        try:
            stream.parser.close(stream.state, ts)
        except Exception:  # a parser bug must not kill the worker; counted instead
            self._counters.inc(f"{stream.parser.name}_parser_crashes")
        self._counters.inc("tcp_connections_closed")

    def _remember_closed(self, key: tuple, stream: _Stream, ts: int) -> None:
        if not self._time_wait_ns:
            return
        if len(self._closed) >= self._config.max_connections:
            del self._closed[next(iter(self._closed))]
        ranges = tuple((h.isn, h.next_seq) for h in stream.halves)
        self._closed.pop(key, None)
        self._closed[key] = (ts, stream.client_key, ranges)

    def _replays_closed(self, key: tuple, src: tuple, seq: int) -> bool:
        """Whether a segment of a connection we saw close falls inside what that
        connection already sent: a late retransmission, not a new connection."""
        _, client_key, ranges = self._closed[key]
        isn, end = ranges[0 if src == client_key else 1]
        if isn is None or end is None:
            return False
        return (seq - isn) % _MOD <= (end - isn) % _MOD

    def _evict_oldest(self, ts: int) -> None:
        key = next(iter(self._table))
        self._counters.inc("tcp_connections_evicted")
        self._close(key, self._table[key], ts)

    def tick(self, now: int) -> None:
        """Per batch, on packet time: close idle connections, let parsers time out
        transactions."""
        closed_before = now - self._time_wait_ns
        while self._closed:
            oldest = next(iter(self._closed))
            if self._closed[oldest][0] >= closed_before:
                break
            del self._closed[oldest]
        self._sweep(now, "tcp_connections_idle_closed")
