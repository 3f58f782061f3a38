"""The HTTP/1.x parser the stream layer drives (contract: shardbeat/protocols/base.py).

`feed` runs the framing steps (framing.py) over what the stream layer hands it; finished
pairs go through `EventBuilder` to `env.publish`. `gap` keeps a body going (shorter) and
puts a direction whose head was hit out of sync: the lost message is accounted for so the
pairing queue stays aligned (a lost request leaves a placeholder, a lost response unpairs
the request waiting for it). `fin` ends close-delimited bodies; `close` and `expire` flush
what is pending, each unpaired side published with Packetbeat's note.
"""

from __future__ import annotations

from shardbeat.protocols.base import Conn, Direction, ParserEnv, Progress
from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.http.events import EventBuilder
from shardbeat.protocols.http.framing import Framer
from shardbeat.protocols.http.message import Message, Options
from shardbeat.protocols.http.state import DirState, HttpState, Phase
from shardbeat.protocols.http.transactions import Pairing
from shardbeat.protocols.http.wire import looks_like_start

_LOST_REQUEST = "Packet loss while capturing the request"
_LOST_RESPONSE = "Packet loss while capturing the response"
_CUT_SHORT = "Connection closed before the message was complete"
# Progress is frozen, so one instance per consumed count can be shared: skipping a body
# segment then allocates nothing. Segment sizes repeat (the MSS); bounded (~2 MB at most).
_CONSUMED: dict[int, Progress] = {}
_CONSUMED_MAX = 1 << 14
# Enum members as module constants: `Phase.X` is a slow metaclass lookup (~0.1 us) and
# feed() runs for every segment.
_CHUNK_DATA = Phase.CHUNK_DATA
_SKIPPING = (Phase.BODY_LEN, _CHUNK_DATA)
# A step returns consumed bytes; more steps than this in one call is a framing bug, and
# the loop gives the bytes back rather than spin.
_MAX_STEPS = 1 << 20


class HttpParser:
    name = "http"

    def __init__(self, config: HttpConfig, env: ParserEnv) -> None:
        self.config = config
        self.env = env
        self.opts = Options.from_config(config)
        self.builder = EventBuilder(self.opts, env.counters)
        self.framer = Framer(self.opts, env.counters)

    # -- contract ------------------------------------------------------------------------

    def new_state(self, conn: Conn) -> HttpState:
        return HttpState(conn, Pairing(self._emit, conn, self.env.counters,
                                       self.opts.max_pending))

    def feed(self, st: HttpState, data: memoryview, direction: Direction,
             ts: int) -> Progress:
        size = len(data)
        d = st.dirs[direction]
        # A head, a body's last segment: no skip possible, and no call to find that out.
        if size < d.remaining and self.skip(st, direction, size, ts):
            return _consumed(size)
        st.last_ts = ts
        if d.closed:
            return _consumed(size)
        steps = self.framer.steps
        pos = 0
        for _ in range(_MAX_STEPS):
            if pos >= size:
                break
            done = steps[d.phase](st, d, data[pos:] if pos else data, direction, ts)
            if done < 0:
                return Progress(pos, -done)
            pos += done
        return _consumed(pos)

    def skip(self, st: HttpState, direction: Direction, nbytes: int, ts: int) -> bool:
        """The optional by-length hook (base.py): most segments of a keep-alive connection
        fall strictly inside a body nobody keeps, and skipping one is a subtraction
        (framing.body_len / chunk_data, undispatched). Anything else: False, untouched."""
        d = st.dirs[direction]
        if nbytes >= d.remaining or d.phase not in _SKIPPING or d.closed:
            return False
        msg = d.msg
        if msg.body is not None:
            return False
        st.last_ts = ts
        d.remaining -= nbytes
        msg.size += nbytes
        if d.phase is _CHUNK_DATA:
            msg.body_bytes += nbytes  # a Content-Length body counted it up front
        return True

    def gap(self, st: HttpState, direction: Direction, nbytes: int) -> None:
        d = st.dirs[direction]
        phase = d.phase
        if phase in (Phase.TUNNEL, Phase.RESYNC) or nbytes <= 0:
            return
        msg = d.msg
        if phase in (Phase.BODY_LEN, Phase.CHUNK_DATA) and nbytes < d.remaining:
            self.env.counters.inc("http_gaps_in_body")
            msg.note_loss()
            msg.size += nbytes
            if phase == Phase.CHUNK_DATA:
                msg.body_bytes += nbytes
            d.remaining -= nbytes
            return
        if phase == Phase.BODY_CLOSE:
            self.env.counters.inc("http_gaps_in_body")
            msg.note_loss()
            msg.size += nbytes
            msg.body_bytes += nbytes
            return
        self._lose_head(st, d, direction, nbytes)

    def _lose_head(self, st: HttpState, d: DirState, direction: Direction,
                   nbytes: int) -> None:
        """The gap covers a message start (or the framing we needed): finish what was
        going with a note, account for the message whose start was lost, resync."""
        counters = self.env.counters
        msg = d.msg
        if msg is not None:
            counters.inc("http_gaps_in_body")
            msg.note_loss()
            framed = d.phase == Phase.BODY_LEN
            if framed:
                msg.size += d.remaining
                nbytes -= d.remaining
            self.framer.complete(st, d, direction)
            if not framed:
                # Where the chunked body ends is lost with the gap: only resync.
                d.reset(Phase.RESYNC)
                return
            if nbytes <= 0:
                return
        counters.inc("http_gaps_in_head")
        if (direction ^ st.flipped) == Direction.TO_SERVER:
            st.pairing.request_lost(_LOST_REQUEST)
        else:
            st.pairing.response_lost(_LOST_RESPONSE)
        d.reset(Phase.RESYNC)

    def fin(self, st: HttpState, direction: Direction, ts: int) -> None:
        d = st.dirs[direction]
        self._finish(st, d, direction, note=True)
        d.closed = True

    def close(self, st: HttpState, ts: int) -> None:
        for direction in (Direction.TO_SERVER, Direction.TO_CLIENT):
            d = st.dirs[direction]
            if not d.closed:
                self._finish(st, d, direction, note=True)
                d.closed = True
        st.pairing.flush()

    def expire(self, st: HttpState, ts: int) -> None:
        """Packetbeat's Expired: a connection idle for transaction_timeout has its pending
        transactions flushed, each unpaired side published with its note."""
        if ts - st.last_ts < self.opts.timeout_ns:
            return
        busy = any(d.msg is not None for d in st.dirs)
        if not busy and not len(st.pairing):
            return
        for direction in (Direction.TO_SERVER, Direction.TO_CLIENT):
            self._finish(st, st.dirs[direction], direction, note=False)
        st.pairing.flush()

    def probe(self, data: memoryview, direction: Direction) -> bool:
        return looks_like_start(bytes(data[:64]), direction == Direction.TO_SERVER)

    # -- helpers -------------------------------------------------------------------------

    def _finish(self, st: HttpState, d: DirState, direction: Direction, note: bool) -> None:
        """End the message in progress: normally for a close-delimited body, with a note
        when a length or chunk framing said more was coming."""
        msg = d.msg
        if msg is None:
            if d.in_head:
                self.env.counters.inc("http_incomplete_messages")
                d.reset()
            return
        if d.phase != Phase.BODY_CLOSE:
            self.env.counters.inc("http_incomplete_messages")
            if note:
                msg.note(_CUT_SHORT)
        self.framer.complete(st, d, direction)

    def _emit(self, conn: Conn, requ: Message | None, resp: Message | None) -> None:
        self.env.publish(self.builder.build(requ, resp, conn))


def _consumed(n: int) -> Progress:
    """`Progress(n)`, shared."""
    progress = _CONSUMED.get(n)
    if progress is None:
        progress = Progress(n)
        if n <= _CONSUMED_MAX:
            _CONSUMED[n] = progress
    return progress
