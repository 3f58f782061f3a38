"""TCP reassembly as a parser sees it: in-order bytes, gaps, FIN/RST, limits.

The parser here is a real, tiny line protocol ("one message per \\n") that records every
callback, so each assertion is about what a parser is handed, byte for byte.
"""

from __future__ import annotations

import pytest

from shardbeat.decode.packet import Packet, TcpFlag
from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Direction, Progress
from shardbeat.streams.config import TcpConfig
from shardbeat.streams.tcp import TcpTracker

CLIENT = (bytes([10, 0, 0, 1]), 40000)
SERVER = (bytes([10, 0, 0, 2]), 7000)
S = 1_000_000_000


class LineParser:
    name = "lines"

    def __init__(self, fail_on: bytes | None = None, crash_on: bytes | None = None):
        self.fail_on, self.crash_on = fail_on, crash_on
        self.calls: list[tuple] = []
        self.feeds = 0

    def new_state(self, conn):
        self.calls.append(("new", conn.client_port, conn.server_port))
        return {}

    def feed(self, st, data, direction, ts):
        self.feeds += 1
        raw = bytes(data)
        end = raw.find(b"\n")
        if end < 0:
            return Progress(0, needed=1)
        line = raw[:end]
        if self.crash_on is not None and line == self.crash_on:
            raise ValueError("parser bug")
        if self.fail_on is not None and line == self.fail_on:
            return Progress(0, error=True)
        self.calls.append(("msg", Direction(direction).name, line))
        return Progress(end + 1)

    def gap(self, st, direction, nbytes):
        self.calls.append(("gap", Direction(direction).name, nbytes))

    def fin(self, st, direction, ts):
        self.calls.append(("fin", Direction(direction).name))

    def close(self, st, ts):
        self.calls.append(("close",))

    def expire(self, st, ts):
        pass

    def probe(self, data, direction):
        return bytes(data).startswith(b"SYNC")

    def messages(self):
        return [c[1:] for c in self.calls if c[0] == "msg"]


def seg(src, dst, seq, payload=b"", flags=TcpFlag.ACK | TcpFlag.PSH, ts=0):
    p = Packet()
    p.ts = ts
    p.src_ip, p.src_port = src
    p.dst_ip, p.dst_port = dst
    p.proto = 6
    p.seq = seq
    p.tcp_flags = int(flags)
    p.payload = payload
    return p


def tracker(parser, **cfg):
    counters = Counters()
    return TcpTracker({SERVER[1]: parser}, TcpConfig(**cfg), counters), counters


def handshake(t, cseq=1000, sseq=5000):
    t.on_packet(seg(CLIENT, SERVER, cseq, flags=TcpFlag.SYN))
    t.on_packet(seg(SERVER, CLIENT, sseq, flags=TcpFlag.SYN | TcpFlag.ACK))
    return cseq + 1, sseq + 1


def test_in_order_segments_reach_the_parser_as_one_stream():
    p = LineParser()
    t, _ = tracker(p)
    c, s = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"hel"))
    t.on_packet(seg(CLIENT, SERVER, c + 3, b"lo\nwor"))
    t.on_packet(seg(CLIENT, SERVER, c + 9, b"ld\n"))
    t.on_packet(seg(SERVER, CLIENT, s, b"ok\n"))
    assert p.messages() == [("TO_SERVER", b"hello"), ("TO_SERVER", b"world"),
                            ("TO_CLIENT", b"ok")]


def test_out_of_order_segments_are_reordered():
    p = LineParser()
    t, c_ = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c + 4, b"two\n"))
    t.on_packet(seg(CLIENT, SERVER, c, b"one\n"))
    assert p.messages() == [("TO_SERVER", b"one"), ("TO_SERVER", b"two")]
    assert c_.get("tcp_out_of_order_bytes") == 4


def test_retransmissions_and_overlaps_are_not_delivered_twice():
    p = LineParser()
    t, counters = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"abc\n"))
    t.on_packet(seg(CLIENT, SERVER, c, b"abc\n"))            # retransmission
    t.on_packet(seg(CLIENT, SERVER, c + 2, b"c\ndef\n"))     # overlaps two bytes
    assert p.messages() == [("TO_SERVER", b"abc"), ("TO_SERVER", b"def")]
    assert counters.get("tcp_retransmitted_segments") == 1
    assert counters.get("tcp_overlap_bytes") == 2


def test_sequence_numbers_wrap_around():
    p = LineParser()
    t, _ = tracker(p)
    c, _ = handshake(t, cseq=2**32 - 3)
    assert c == 2**32 - 2
    t.on_packet(seg(CLIENT, SERVER, c, b"ab"))
    t.on_packet(seg(CLIENT, SERVER, 0, b"c\n"))
    assert p.messages() == [("TO_SERVER", b"abc")]


def test_a_hole_that_never_fills_becomes_a_gap_when_the_buffer_is_full():
    p = LineParser()
    t, counters = tracker(p, max_ooo_segments=2)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"first\n"))
    base = c + 6 + 100  # 100 bytes never arrive
    for i in range(3):
        t.on_packet(seg(CLIENT, SERVER, base + 3 * i, b"x%d\n" % i))
    assert ("gap", "TO_SERVER", 100) in p.calls
    assert p.messages() == [("TO_SERVER", b"first"), ("TO_SERVER", b"x0"),
                            ("TO_SERVER", b"x1"), ("TO_SERVER", b"x2")]
    assert counters.get("tcp_gap_bytes") == 100


def test_mid_stream_capture_takes_the_server_from_the_port():
    p = LineParser()
    t, _ = tracker(p)
    t.on_packet(seg(SERVER, CLIENT, 777, b"reply\n"))
    t.on_packet(seg(CLIENT, SERVER, 99, b"req\n"))
    assert p.calls[0] == ("new", CLIENT[1], SERVER[1])
    assert p.messages() == [("TO_CLIENT", b"reply"), ("TO_SERVER", b"req")]


def test_traffic_on_other_ports_is_ignored():
    p = LineParser()
    t, _ = tracker(p)
    t.on_packet(seg((b"\x01\x01\x01\x01", 1), (b"\x02\x02\x02\x02", 2), 1, b"x\n"))
    assert p.calls == [] and len(t) == 0


def test_fin_in_both_directions_closes_the_connection_after_pending_data():
    p = LineParser()
    t, _ = tracker(p)
    c, s = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"bye\n", flags=TcpFlag.ACK | TcpFlag.FIN))
    t.on_packet(seg(SERVER, CLIENT, s, b"", flags=TcpFlag.ACK | TcpFlag.FIN))
    assert p.calls[-4:] == [("msg", "TO_SERVER", b"bye"), ("fin", "TO_SERVER"),
                            ("fin", "TO_CLIENT"), ("close",)]
    assert len(t) == 0


def test_rst_closes_at_once():
    p = LineParser()
    t, _ = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"", flags=TcpFlag.RST))
    assert p.calls[-1] == ("close",) and len(t) == 0


def test_idle_connections_are_closed_on_packet_time():
    p = LineParser()
    t, counters = tracker(p, idle_timeout="5s")
    handshake(t)
    t.tick(4 * S)
    assert len(t) == 1
    t.tick(6 * S)
    assert len(t) == 0 and p.calls[-1] == ("close",)
    assert counters.get("tcp_connections_idle_closed") == 1


def test_the_connection_cap_evicts_the_oldest():
    p = LineParser()
    t, counters = tracker(p, max_connections=2)
    for port in (1, 2, 3):
        t.on_packet(seg((CLIENT[0], port), SERVER, 1, flags=TcpFlag.SYN))
    assert len(t) == 2
    assert counters.get("tcp_connections_evicted") == 1


def test_the_parser_is_not_called_again_before_it_can_progress():
    p = LineParser()
    t, _ = tracker(p)
    c, _ = handshake(t)
    for i in range(50):
        t.on_packet(seg(CLIENT, SERVER, c + i, b"a"))
    assert p.feeds == 50  # each byte could end the line; LineParser asks for 1 more
    t.on_packet(seg(CLIENT, SERVER, c + 50, b"\n"))
    assert p.messages() == [("TO_SERVER", b"a" * 50)]


def test_an_unconsumed_buffer_past_the_limit_is_dropped_as_a_gap():
    p = LineParser()
    t, counters = tracker(p, max_stream_buffer=1024)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"z" * 1500))
    assert ("gap", "TO_SERVER", 1500) in p.calls
    assert counters.get("tcp_buffer_overflow_bytes") == 1500


def test_a_parser_error_resyncs_on_probe():
    p = LineParser(fail_on=b"garbage")
    t, counters = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"garbage\n"))
    t.on_packet(seg(CLIENT, SERVER, c + 8, b"more junk\n"))
    t.on_packet(seg(CLIENT, SERVER, c + 18, b"SYNC ok\n"))
    assert p.messages() == [("TO_SERVER", b"SYNC ok")]
    assert counters.get("lines_parse_errors") == 1
    assert counters.get("lines_resync_bytes_dropped") == 18


def test_a_parser_that_raises_costs_the_bytes_not_the_worker():
    p = LineParser(crash_on=b"boom")
    t, counters = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"boom\n"))
    assert counters.get("lines_parser_crashes") == 1
    t.on_packet(seg(CLIENT, SERVER, c + 5, b"SYNC\n"))
    assert p.messages() == [("TO_SERVER", b"SYNC")]


def test_flush_closes_everything_and_delivers_held_segments_past_their_holes():
    p = LineParser()
    t, _ = tracker(p)
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c + 10, b"late\n"))
    t.flush(10 * S)
    assert ("gap", "TO_SERVER", 10) in p.calls
    assert p.messages() == [("TO_SERVER", b"late")]
    assert p.calls[-1] == ("close",)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_any_segmentation_gives_the_same_messages(chunk):
    stream = b"alpha\nbeta\ngamma gamma\n\ndelta\n"
    p = LineParser()
    t, _ = tracker(p)
    c, _ = handshake(t)
    for off in range(0, len(stream), chunk):
        t.on_packet(seg(CLIENT, SERVER, c + off, stream[off:off + chunk]))
    assert [m[1] for m in p.messages()] == stream.split(b"\n")[:-1]


def test_the_ack_trailing_a_closed_connection_opens_nothing():
    p = LineParser()
    t, counters = tracker(p)
    c, s = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"", flags=TcpFlag.ACK | TcpFlag.FIN))
    t.on_packet(seg(SERVER, CLIENT, s, b"", flags=TcpFlag.ACK | TcpFlag.FIN))
    t.on_packet(seg(CLIENT, SERVER, c + 1, b"", flags=TcpFlag.ACK))
    assert len(t) == 0
    assert counters.get("tcp_connections_opened") == 1


def test_late_retransmissions_after_close_open_no_phantom_connection():
    p = LineParser()
    t, counters = tracker(p)
    c, s = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"req\n"))
    t.on_packet(seg(SERVER, CLIENT, s, b"resp\n"))
    t.on_packet(seg(CLIENT, SERVER, c + 4, b"", flags=TcpFlag.ACK | TcpFlag.FIN))
    t.on_packet(seg(SERVER, CLIENT, s + 5, b"", flags=TcpFlag.ACK | TcpFlag.FIN))
    t.on_packet(seg(CLIENT, SERVER, c - 1, flags=TcpFlag.SYN))   # the SYN again
    t.on_packet(seg(SERVER, CLIENT, s, b"resp\n"))               # the response again
    assert len(t) == 0
    assert counters.get("tcp_segments_after_close") == 2
    assert p.messages() == [("TO_SERVER", b"req"), ("TO_CLIENT", b"resp")]


def test_a_new_connection_on_the_same_ports_is_not_mistaken_for_a_replay():
    p = LineParser()
    t, _ = tracker(p)
    c, s = handshake(t, cseq=1000)
    t.on_packet(seg(CLIENT, SERVER, c, b"", flags=TcpFlag.ACK | TcpFlag.RST))
    handshake(t, cseq=900_000_000)
    t.on_packet(seg(CLIENT, SERVER, 900_000_001, b"again\n"))
    assert p.messages() == [("TO_SERVER", b"again")]


def test_closed_connections_are_forgotten_after_time_wait():
    p = LineParser()
    t, _ = tracker(p, time_wait="2s")
    c, _ = handshake(t)
    t.on_packet(seg(CLIENT, SERVER, c, b"", flags=TcpFlag.RST))
    t.tick(3 * S)
    t.on_packet(seg(CLIENT, SERVER, c - 1, flags=TcpFlag.SYN))
    assert len(t) == 1
