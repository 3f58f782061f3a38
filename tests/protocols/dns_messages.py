"""Builds DNS wire messages for the DNS parser tests (RFC 1035 4.1), byte by byte, so that
each test says exactly what is on the wire: compression pointers, lying counts, cut records.

Also the small harness that runs `DnsParser` the way the UDP dispatcher and the TCP stream
layer do: one datagram per call, or a per-direction buffer honouring consumed/needed.
"""

from __future__ import annotations

import struct

from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Conn, Direction, ParserEnv
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.parser import DnsParser

CLIENT = (bytes([10, 0, 0, 1]), 40000)
SERVER = (bytes([10, 0, 0, 53]), 53)
NS = 1_000_000_000
T0 = 1_700_000_000 * NS

QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010
A, NS_, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41


def name(text: str) -> bytes:
    """Uncompressed wire form of a dotted name ("" or "." is the root)."""
    out = b"".join(bytes([len(label)]) + label.encode()
                   for label in text.strip(".").split(".") if label)
    return out + b"\0"


def pointer(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


def question(qname: str | bytes, qtype: int = A, qclass: int = 1) -> bytes:
    wire = name(qname) if isinstance(qname, str) else qname
    return wire + struct.pack("!HH", qtype, qclass)


def rr(owner: str | bytes, rtype: int, rdata: bytes, ttl: int = 300, rclass: int = 1) -> bytes:
    wire = name(owner) if isinstance(owner, str) else owner
    return wire + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(udp_size: int = 4096, do: bool = False, version: int = 0, ext_rcode: int = 0,
        options: bytes = b"") -> bytes:
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack("!HHIH", OPT, udp_size, ttl, len(options)) + options


def option(code: int, data: bytes) -> bytes:
    return struct.pack("!HH", code, len(data)) + data


def message(msg_id: int = 0x1234, flags: int = RD, questions=(), answers=(), authorities=(),
            additionals=(), counts: tuple[int, int, int, int] | None = None) -> bytes:
    """`counts` overrides the header counts (to make them lie)."""
    sections = (list(questions), list(answers), list(authorities), list(additionals))
    qd, an, ns, ar = counts or tuple(len(s) for s in sections)
    head = struct.pack("!HHHHHH", msg_id, flags, qd, an, ns, ar)
    return head + b"".join(b"".join(s) for s in sections)


def query(qname: str = "www.example.com", qtype: int = A, msg_id: int = 0x1234,
          flags: int = RD, additionals=()) -> bytes:
    return message(msg_id, flags, [question(qname, qtype)], additionals=additionals)


def response(qname: str = "www.example.com", qtype: int = A, msg_id: int = 0x1234,
             flags: int = QR | RD | RA, rcode: int = 0, answers=(), authorities=(),
             additionals=()) -> bytes:
    """Answers' owner names point at the question (offset 12), as servers write them."""
    return message(msg_id, flags | rcode, [question(qname, qtype)], answers, authorities,
                   additionals)


def a_answer(address: str, owner: bytes = pointer(12), ttl: int = 300) -> bytes:
    return rr(owner, A, bytes(int(x) for x in address.split(".")), ttl)


def tcp_frame(msg: bytes) -> bytes:
    return struct.pack("!H", len(msg)) + msg


class Harness:
    """One parser, one flow, and the events it published."""

    def __init__(self, transport: str = "udp", **config) -> None:
        self.events: list[dict] = []
        self.counters = Counters()
        self.parser = DnsParser(DnsConfig(**config), ParserEnv(self.events.append,
                                                               self.counters))
        self.conn = Conn(transport, 4, CLIENT, SERVER)
        self.state = self.parser.new_state(self.conn)
        self.buffers = {Direction.TO_SERVER: bytearray(), Direction.TO_CLIENT: bytearray()}
        self.want = {Direction.TO_SERVER: 0, Direction.TO_CLIENT: 0}

    def datagram(self, data: bytes, direction: Direction, ts: int = T0) -> None:
        progress = self.parser.feed(self.state, memoryview(data), direction, ts)
        assert progress.consumed == len(data) and not progress.error

    def stream(self, data: bytes, direction: Direction, ts: int = T0) -> None:
        """Play the TCP layer: append, feed everything unconsumed, drop what was consumed,
        and do not call again before `needed` more bytes are there."""
        buf = self.buffers[direction]
        buf += data
        if len(buf) < self.want[direction]:
            return
        self.want[direction] = 0
        while buf:
            progress = self.parser.feed(self.state, memoryview(bytes(buf)), direction, ts)
            assert not progress.error
            if progress.consumed == 0:
                assert progress.needed > 0
                self.want[direction] = len(buf) + progress.needed
                return
            assert progress.consumed <= len(buf)
            del buf[:progress.consumed]

    def close(self, ts: int = T0) -> None:
        self.parser.close(self.state, ts)
