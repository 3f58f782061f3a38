"""Message framing, one phase at a time: where a message's head, body and chunks end.

Every step gets the unconsumed bytes (a memoryview it must not keep) and returns how many
it consumed (≥ 0, 0 only together with a phase change) or `-k` for "call again when k more
bytes are buffered". A header block waits in the stream buffer until complete (the search
resumes where it stopped, so a slow sender costs linear time); bodies are consumed as they
come and only kept when asked for. Anything malformed is counted, noted where there is a
transaction to note it on, and the direction goes to RESYNC, which skips to the next line
that starts like a message.
"""

from __future__ import annotations

from typing import Any

from shardbeat.protocols.base import Direction
from shardbeat.protocols.http.message import Message, Options
from shardbeat.protocols.http.state import DirState, HttpState, Phase
from shardbeat.protocols.http.wire import (
    RESYNC_REQUEST, RESYNC_RESPONSE, Head, head_end, looks_like_start, parse_chunk_size,
    parse_head, parse_start_line,
)

MAX_CHUNK_LINE = 4096   # a chunk-size line with extensions; longer is not HTTP
RESYNC_WINDOW = 65536   # bytes searched per call when out of sync
RESYNC_TAIL = 1024      # a partial last line kept while searching (may be a start line)
HEAD_STEP = 2048        # first window searched for a head's end; doubles after
_CRLF = b"\r\n"
_NEED, _BAD, _TOO_BIG = -1, -2, -3
_BLANK = (10, 13)
# Enum members as module constants: `Phase.X` is a slow metaclass lookup, and these run
# for every message (as in parser.py).
_TO_SERVER = Direction.TO_SERVER
_BODY_LEN, _BODY_CLOSE = Phase.BODY_LEN, Phase.BODY_CLOSE
_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = (
    Phase.CHUNK_SIZE, Phase.CHUNK_DATA, Phase.CHUNK_END, Phase.TRAILER)


class Framer:
    """The per-phase steps; owns no connection state (that is `HttpState`)."""

    def __init__(self, opts: Options, counters: Any) -> None:
        self.opts = opts
        self.counters = counters
        self.steps = {
            Phase.START: self.head, Phase.BODY_LEN: self.body_len,
            Phase.BODY_CLOSE: self.body_close, Phase.CHUNK_SIZE: self.chunk_size,
            Phase.CHUNK_DATA: self.chunk_data, Phase.CHUNK_END: self.chunk_end,
            Phase.TRAILER: self.trailer, Phase.TUNNEL: self.tunnel,
            Phase.RESYNC: self.resync,
        }

    # -- heads ---------------------------------------------------------------------------

    def head(self, st: HttpState, d: DirState, view: memoryview, direction: Direction,
             ts: int) -> int:
        if d.start_ts is None:
            if view[0] in _BLANK:
                return _leading_blank(view)  # stray CRLFs between messages (RFC 9112 2.2)
            d.start_ts = ts
        end, window = self._head_end(d, view)
        if end < 0:
            if end == _NEED:
                return -1
            name = "http_parse_errors" if end == _BAD else "http_header_too_large"
            return self.fail(st, d, direction, name, view)
        # Usually the whole head was in the first window searched: no second copy.
        raw = window[:end] if window is not None else bytes(view[:end])
        head = parse_head(raw, self.opts.max_headers, d.start_line)
        if isinstance(head, str):
            name = "http_too_many_headers" if head == "too many headers" \
                else "http_parse_errors"
            return self.fail(st, d, direction, name, view)
        return self._begin(st, d, head, raw, direction)

    def _head_end(self, d: DirState, view: memoryview) -> tuple[int, bytes | None]:
        """Where the header block ends, or _NEED / _BAD / _TOO_BIG; with the window it was
        found in when that window starts at the message start. Copies growing windows
        from where the last call stopped, so the cost follows the head, not the buffer
        behind it, and a slow sender is not rescanned."""
        size = min(len(view), self.opts.max_head + 4)
        lo, step = max(0, d.scan_from - 3), HEAD_STEP
        while True:
            hi = min(size, lo + step)
            window = bytes(view[lo:hi])
            if not d.checked and not self._check_start(d, view, window, lo):
                return _BAD, None
            found = head_end(window)
            if found >= 0:
                return lo + found, (window if lo == 0 else None)
            d.scan_from = hi
            if hi >= size:
                return (_TOO_BIG if size >= self.opts.max_head + 4 else _NEED), None
            lo, step = hi - 3, step * 2

    def _check_start(self, d: DirState, view: memoryview, window: bytes, lo: int) -> bool:
        """Reject garbage as soon as its first line (or its first bytes) shows it."""
        nl = window.find(b"\n")
        if nl >= 0:
            d.checked = True
            line = window[:nl] if lo == 0 else bytes(view[:lo + nl])
            d.start_line = parse_start_line(line.rstrip(b"\r"))
            return d.start_line is not None
        if lo:
            return True
        probe = window[:16]
        return (looks_like_start(probe, True) or looks_like_start(probe, False)
                or _token_prefix(probe))

    def _begin(self, st: HttpState, d: DirState, head: Head, raw: bytes,
               direction: Direction) -> int:
        is_request = head.start.is_request
        if is_request != ((direction ^ st.flipped) == _TO_SERVER):
            if st.decided:
                return self.fail(st, d, direction, "http_wrong_direction", memoryview(raw))
            st.flip()
        st.decided = True
        msg = Message(d.start_ts)
        msg.apply_head(head, raw, self.opts)
        if head.bad_lines:
            self.counters.inc("http_bad_header_lines", head.bad_lines)
        if msg.bad_content_length:
            self.counters.inc("http_bad_content_length")
            msg.note("Invalid Content-Length header")
        d.reset()
        d.msg = msg
        if is_request:
            d.slot = st.pairing.request_started(msg)
            self._request_body(st, d, msg, direction)
        else:
            self._response_body(st, d, msg, direction)
        return len(raw)

    def _request_body(self, st: HttpState, d: DirState, msg: Message,
                      direction: Direction) -> None:
        if msg.chunked:
            d.phase = _CHUNK_SIZE
        elif msg.content_length > 0:
            msg.body_bytes = d.remaining = msg.content_length
            d.phase = _BODY_LEN
        else:
            self.complete(st, d, direction)

    def _response_body(self, st: HttpState, d: DirState, msg: Message,
                       direction: Direction) -> None:
        code = msg.status_code
        slot = st.pairing.waiting()
        method = slot.request.method if slot and slot.request else b""
        if code == 101 or (method == b"CONNECT" and 200 <= code < 300):
            # The connection stops being HTTP once this response is done.
            self.complete(st, d, direction)
            for side in st.dirs:
                side.reset(Phase.TUNNEL)
            self.counters.inc("http_tunnels")
        elif 100 <= code < 200 or code in (204, 304) or method == b"HEAD":
            self.complete(st, d, direction)
        elif msg.chunked:
            d.phase = _CHUNK_SIZE
        elif msg.has_content_length:
            msg.body_bytes = d.remaining = msg.content_length
            if d.remaining:
                d.phase = _BODY_LEN
            else:
                self.complete(st, d, direction)
        elif msg.closes:
            d.phase = _BODY_CLOSE
        else:
            # Packetbeat's rule: a keep-alive response without length has no body.
            self.complete(st, d, direction)

    # -- bodies --------------------------------------------------------------------------

    def body_len(self, st: HttpState, d: DirState, view: memoryview, direction: Direction,
                 ts: int) -> int:
        n = min(len(view), d.remaining)
        msg = d.msg
        if msg.body is not None:
            msg.keep(view[:n], self.opts)
        msg.size += n
        d.remaining -= n
        if d.remaining == 0:
            self.complete(st, d, direction)
        return n

    def body_close(self, st: HttpState, d: DirState, view: memoryview,
                   direction: Direction, ts: int) -> int:
        msg = d.msg
        if msg.body is not None:
            msg.keep(view, self.opts)
        msg.size += len(view)
        msg.body_bytes += len(view)
        return len(view)

    def chunk_size(self, st: HttpState, d: DirState, view: memoryview,
                   direction: Direction, ts: int) -> int:
        window = _line(view, MAX_CHUNK_LINE)
        nl = window.find(b"\n")
        if nl < 0:
            if len(window) >= MAX_CHUNK_LINE:
                return self.fail(st, d, direction, "http_bad_chunks", view)
            return -1
        size = parse_chunk_size(window[:nl].rstrip(b"\r"))
        if size is None:
            return self.fail(st, d, direction, "http_bad_chunks", view)
        d.msg.size += nl + 1
        d.remaining = size
        d.phase = _CHUNK_DATA if size else _TRAILER
        return nl + 1

    def chunk_data(self, st: HttpState, d: DirState, view: memoryview,
                   direction: Direction, ts: int) -> int:
        n = min(len(view), d.remaining)
        msg = d.msg
        if msg.body is not None:
            msg.keep(view[:n], self.opts)
        msg.size += n
        msg.body_bytes += n
        d.remaining -= n
        if d.remaining == 0:
            d.phase = _CHUNK_END
        return n

    def chunk_end(self, st: HttpState, d: DirState, view: memoryview,
                  direction: Direction, ts: int) -> int:
        first = view[0]
        if first == 10:
            n = 1
        elif first == 13 and len(view) < 2:
            return -1
        elif bytes(view[:2]) == _CRLF:
            n = 2
        else:
            return self.fail(st, d, direction, "http_bad_chunks", view)
        d.msg.size += n
        d.phase = _CHUNK_SIZE
        return n

    def trailer(self, st: HttpState, d: DirState, view: memoryview, direction: Direction,
                ts: int) -> int:
        room = self.opts.max_head - d.trailer
        window = _line(view, room + 2)
        nl = window.find(b"\n")
        if nl < 0:
            if len(window) > room:
                return self.fail(st, d, direction, "http_header_too_large", view)
            return -1
        d.msg.size += nl + 1
        d.trailer += nl + 1
        if window[:nl].rstrip(b"\r") == b"":
            self.complete(st, d, direction)
        return nl + 1

    def tunnel(self, st: HttpState, d: DirState, view: memoryview, direction: Direction,
               ts: int) -> int:
        return len(view)

    # -- completion and failure ----------------------------------------------------------

    def complete(self, st: HttpState, d: DirState, direction: Direction) -> None:
        msg, slot = d.msg, d.slot
        d.reset()
        if msg is None:
            return
        if msg.truncated:
            self.counters.inc("http_oversize_messages")
            msg.note(f"HTTP message larger than max_message_size "
                     f"({self.opts.max_message_size} bytes): body truncated")
        if msg.is_request:
            st.pairing.request_finished(slot)
        else:
            st.pairing.response_finished(msg)

    def fail(self, st: HttpState, d: DirState, direction: Direction, counter: str,
             view: memoryview) -> int:
        """Count, note, and go looking for the next message; consumes the bad line."""
        # A valid message sent the wrong way is not an attempt the server will answer.
        answered = counter != "http_wrong_direction"
        self.counters.inc(counter)
        msg = d.msg
        if msg is not None:
            msg.note("Malformed HTTP message, parsing resumed at the next message")
            self.complete(st, d, direction)
        nl = bytes(view[:RESYNC_WINDOW]).find(b"\n")
        line = bytes(view[:nl]) if nl >= 0 else b""
        if answered and msg is None and (direction ^ st.flipped) == Direction.TO_SERVER \
                and _printable(line):
            # A text line that fails as a request line was meant as one: the server will
            # likely answer it (400), and that answer must not take the next request's.
            st.pairing.request_lost("Request not parsed: malformed")
        d.reset(Phase.RESYNC)
        return nl + 1 if nl >= 0 else min(len(view), 1)

    def resync(self, st: HttpState, d: DirState, view: memoryview, direction: Direction,
               ts: int) -> int:
        window = bytes(view[:RESYNC_WINDOW])
        requests = (direction ^ st.flipped) == Direction.TO_SERVER
        patterns = (RESYNC_REQUEST, RESYNC_RESPONSE) if not st.decided else \
            ((RESYNC_REQUEST,) if requests else (RESYNC_RESPONSE,))
        starts = [m.start() for p in patterns if (m := p.search(window))]
        if starts:
            skip = min(starts)
            if skip == 0:
                d.phase = Phase.START
            self.counters.inc("http_resync_skipped_bytes", skip)
            return skip
        tail = len(window) - (window.rfind(b"\n") + 1)
        skip = len(window) - (tail if tail <= RESYNC_TAIL else 0)
        if skip == 0:
            return -1
        self.counters.inc("http_resync_skipped_bytes", skip)
        return skip


def _line(view: memoryview, limit: int) -> bytes:
    """The bytes up to the first LF (within `limit`), copying a short window first."""
    window = bytes(view[:min(64, limit)])
    if b"\n" in window or len(window) == len(view) or len(window) == limit:
        return window
    return bytes(view[:limit])


def _leading_blank(view: memoryview) -> int:
    n = 0
    for byte in view[:64]:
        if byte not in (10, 13):
            break
        n += 1
    return n


def _printable(line: bytes) -> bool:
    line = line.rstrip(b"\r")
    return bool(line) and all(32 <= b < 127 or b == 9 for b in line[:256])


def _token_prefix(data: bytes) -> bool:
    """Could `data` still become `METHOD SP ...`? (First line not complete yet.)"""
    token = data.split(b" ", 1)[0]
    return bool(token) and len(token) <= 32 and token.isalpha() and token.isupper()
