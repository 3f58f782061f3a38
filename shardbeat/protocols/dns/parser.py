"""DNS over UDP (one message per datagram) and TCP (RFC 1035 4.2.2 / RFC 7766 framing).

Over TCP each message is preceded by its 16-bit length: several messages may share a
segment, one message may span many, and a zone transfer answers one query with a series of
messages (the first pairs with the query; Packetbeat publishes each further one as a
response without a query, and so does shardbeat). A message longer than
`max_message_size` is skipped without being buffered. After a gap the stream is resynced at
the next data that starts with a plausible length-prefixed header.
"""

from __future__ import annotations

from functools import lru_cache

from shardbeat.protocols.base import Conn, Direction, ParserEnv, Progress
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.events import Sent
from shardbeat.protocols.dns.transactions import INCOMPLETE, NON_DNS, UNEXPECTED_LENGTH, \
    ZERO_LENGTH, Correlator, FlowState
from shardbeat.protocols.dns.wire import HEADER, HEADER_LEN, Malformed, decode, read_name

_PREFIX = 2
_QR = 0x8000
_Z = 0x0040
_KNOWN_OPCODES = frozenset((0, 1, 2, 4, 5, 6))
_MIN_RECORD = 11  # root name, type, class, ttl, rdlength


class _TcpHalf:
    """Framing state of one TCP direction."""

    __slots__ = ("skip", "start_ts", "resync")

    def __init__(self) -> None:
        self.skip = 0            # bytes of an oversized message still to pass over
        self.start_ts: int | None = None  # first packet time of a message not yet whole
        self.resync = False      # a gap came: the next data must look like a message start

    def reset(self) -> None:
        self.skip = 0
        self.start_ts = None


class DnsParser:
    name = "dns"

    def __init__(self, config: DnsConfig, env: ParserEnv) -> None:
        self._counters = env.counters
        self._tx = Correlator(config, env)
        self._max_message = config.max_message_size

    def datagram(self, st: FlowState, data: bytes | memoryview, direction: Direction,
                 ts: int) -> bool:
        """One whole UDP datagram, as `feed` takes it; whether a query still waits for its
        answer: a UDP flow without one is dropped at once (there is nothing for `close` to
        flush) instead of being swept by every timer tick until it idles out."""
        self._message(st, bytes(data), len(data), direction, ts)
        return bool(st.pending)

    def new_state(self, conn: Conn) -> FlowState:
        halves = (_TcpHalf(), _TcpHalf()) if conn.transport == "tcp" else ()
        return FlowState(conn, halves)

    def feed(self, st: FlowState, data: memoryview, direction: Direction,
             ts: int) -> Progress:
        if not st.halves:
            self.datagram(st, data, direction, ts)
            return _whole(len(data))
        return self._stream(st, data, direction, ts)

    def _stream(self, st: FlowState, data: memoryview, direction: Direction,
                ts: int) -> Progress:
        half: _TcpHalf = st.halves[direction]
        size = len(data)
        if half.skip:
            step = min(size, half.skip)
            half.skip -= step
            return Progress(step)
        if half.resync:
            half.resync = False
            if not self._plausible_frame(data, direction):
                half.reset()
                return Progress(0, error=True)
        if size < _PREFIX:
            return self._wait(half, ts, _PREFIX - size)
        length = (data[0] << 8) | data[1]
        if length == 0:
            self._counters.inc("dns_zero_length_messages")
            self._unusable(st, direction, None, ZERO_LENGTH)
            half.start_ts = None
            return Progress(_PREFIX)
        if length > self._max_message:
            self._counters.inc("dns_oversize_messages")
            self._unusable(st, direction, None, UNEXPECTED_LENGTH)
            half.start_ts = None
            half.skip = length
            return Progress(_PREFIX)
        total = _PREFIX + length
        if size < total:
            return self._wait(half, ts, total - size)
        start = half.start_ts if half.start_ts is not None else ts
        half.start_ts = None
        # Packetbeat counts the length prefix in a TCP message's size.
        self._message(st, bytes(data[_PREFIX:total]), total, direction, start)
        return Progress(total)

    @staticmethod
    def _wait(half: _TcpHalf, ts: int, needed: int) -> Progress:
        if half.start_ts is None:
            half.start_ts = ts
        return Progress(0, needed=needed)

    def _message(self, st: FlowState, raw: bytes, length: int, direction: Direction,
                 ts: int) -> None:
        msg = decode(raw)
        if msg is None or msg.is_empty():
            self._counters.inc("dns_parse_errors")
            if len(raw) >= HEADER_LEN and raw[2] & 0x80:
                self._tx.response_error(st, direction, (raw[0] << 8) | raw[1], NON_DNS)
            return
        if msg.incomplete:
            self._counters.inc("dns_incomplete_messages")
        if msg.flags & _QR:
            self._tx.response(st, direction, Sent(msg, ts, length))
        else:
            self._tx.query(st, direction, Sent(msg, ts, length))

    def _unusable(self, st: FlowState, direction: Direction, msg_id: int | None,
                  note: str) -> None:
        if direction == Direction.TO_CLIENT:
            self._tx.response_error(st, direction, msg_id, note)

    def gap(self, st: FlowState, direction: Direction, nbytes: int) -> None:
        if not st.halves:
            return
        half: _TcpHalf = st.halves[direction]
        if half.skip >= nbytes:
            half.skip -= nbytes  # the hole is inside a message we skip anyway
            return
        if half.start_ts is not None:
            self._counters.inc("dns_incomplete_messages")
            self._unusable(st, direction, None, INCOMPLETE)
        half.reset()
        half.resync = True

    def fin(self, st: FlowState, direction: Direction, ts: int) -> None:
        if not st.halves:
            return
        half: _TcpHalf = st.halves[direction]
        if half.start_ts is not None:
            self._counters.inc("dns_incomplete_messages")
            self._unusable(st, direction, None, INCOMPLETE)
        half.reset()

    def close(self, st: FlowState, ts: int) -> None:
        self._tx.close(st)

    def expire(self, st: FlowState, ts: int) -> None:
        self._tx.expire(st, ts)

    def probe(self, data: memoryview, direction: Direction) -> bool:
        """Does `data` start a DNS message, length-prefixed (TCP) or bare (a datagram)?"""
        return self._plausible_frame(data, direction) or \
            _plausible_header(data, 0, len(data), direction)

    def _plausible_frame(self, data: memoryview, direction: Direction) -> bool:
        if len(data) < _PREFIX + HEADER_LEN:
            return False
        length = (data[0] << 8) | data[1]
        if not HEADER_LEN <= length <= self._max_message:
            return False
        return _plausible_header(data, _PREFIX, length, direction)


@lru_cache(maxsize=2048)
def _whole(size: int) -> Progress:
    # A datagram is consumed whole; Progress is immutable, so one per size is shared
    # rather than built (a frozen dataclass, slow to build) per datagram.
    return Progress(size)


def _plausible_header(data: memoryview, off: int, length: int, direction: Direction) -> bool:
    """A header a real client or server would send this way, and a first name that reads."""
    if len(data) < off + HEADER_LEN or length < HEADER_LEN:
        return False
    _, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data, off)
    if bool(flags & _QR) != (direction == Direction.TO_CLIENT) or flags & _Z:
        return False
    if (flags >> 11) & 0xF not in _KNOWN_OPCODES or qdcount > 1:
        return False
    if (ancount + nscount + arcount) * _MIN_RECORD > length - HEADER_LEN:
        return False
    if qdcount == 0:  # only a zone transfer's later messages come without a question
        return bool(flags & _QR) and ancount > 0
    window = bytes(data[off:off + min(length, len(data) - off)])
    try:
        _, end = read_name(window, HEADER_LEN)
    except Malformed:
        # Judge the name only when all of it is here; a segment may end inside it.
        return len(window) < length
    return end + 4 <= length
