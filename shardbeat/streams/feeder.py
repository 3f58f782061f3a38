"""Hands one direction's in-order bytes to its parser and keeps what it has not consumed.

The parser says how far it got (`Progress.consumed`) and how many more bytes it needs before
it can make progress (`Progress.needed`), so a large message is not re-parsed on every
segment. Data that arrives while nothing is buffered is fed straight from the packet, with
no copy; or, when the parser can take it by its length alone (the optional `skip` of
protocols/base.py: a body segment nobody keeps), it is not even looked at. A parser that
reports `error` has lost sync: its buffer is dropped (counted) and later data is offered
to `probe()` until a message start is found again.

Parsers must not keep a memoryview of what they are fed past the call: the buffer behind
it is reused.
"""

from __future__ import annotations

from typing import Any

from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Direction, Parser


class StreamFeeder:
    __slots__ = ("parser", "state", "direction", "buf", "want", "in_sync", "limit",
                 "counters", "name", "_skip")

    def __init__(self, parser: Parser, state: Any, direction: Direction, limit: int,
                 counters: Counters) -> None:
        self.parser = parser
        self.state = state
        self.direction = direction
        self.buf = bytearray()
        self.want = 0
        self.in_sync = True
        self.limit = limit
        self.counters = counters
        self.name = parser.name
        self._skip = getattr(parser, "skip", None)

    def push(self, data: Any, ts: int) -> None:
        if not self.in_sync and not self._resync(data):
            return
        if self.buf:
            self.buf += data
            if len(self.buf) < self.want:
                self._check_limit()
                return
            self._feed_buffer(ts)
            return
        if self._skip is not None and self.skip(len(data), ts):
            return
        view = memoryview(data)
        done = self._run(view, ts)
        if done is not None and done < len(view):
            self.buf += view[done:]
            self._check_limit()

    def skip(self, nbytes: int, ts: int) -> bool:
        """The next `nbytes` in-order bytes by their length only: True when the parser
        took them so (no view, no Progress, no framing), as `push` of them would have
        ended; False, with nothing changed, when they must be pushed."""
        skip = self._skip
        if skip is None or self.buf or not self.in_sync:
            return False
        try:
            return skip(self.state, self.direction, nbytes, ts)
        except Exception:  # as a crash in feed() would be: the bytes are lost
            self._crashed()
            self._lose_sync(nbytes)
            return True

    def gap(self, nbytes: int) -> None:
        """A hole of `nbytes` precedes the next data: what is buffered cannot be completed
        in order, so the parser decides what to keep."""
        self.buf.clear()
        self.want = 0
        try:
            self.parser.gap(self.state, self.direction, nbytes)
        except Exception:
            self._crashed()

    def _feed_buffer(self, ts: int) -> None:
        view = memoryview(self.buf)
        try:
            done = self._run(view, ts)
        finally:
            view.release()
        if done is None:
            return
        try:
            del self.buf[:done]
        except BufferError:  # the parser kept a view: take a fresh buffer instead
            self.counters.inc(f"{self.name}_parser_kept_buffer")
            self.buf = bytearray(self.buf[done:])
        self._check_limit()

    def _run(self, view: memoryview, ts: int) -> int | None:
        """Feed until the parser stops making progress; return bytes consumed, or None when
        the direction lost sync (and the buffer was dropped)."""
        total = 0
        size = len(view)
        parser, state, direction = self.parser, self.state, self.direction
        while total < size:
            try:
                progress = parser.feed(state, view[total:] if total else view, direction, ts)
            except Exception:
                self._crashed()
                progress = None
            if progress is None or progress.error:
                self._lose_sync(size - total)
                return None
            consumed = progress.consumed
            if consumed <= 0:
                self.want = size - total + max(progress.needed, 1)
                return total
            total += consumed
            self.want = 0
        return min(total, size)

    def _lose_sync(self, dropped: int) -> None:
        self.counters.inc(f"{self.name}_parse_errors")
        self.counters.inc(f"{self.name}_resync_bytes_dropped", dropped)
        self.buf = bytearray()
        self.want = 0
        self.in_sync = False

    def _resync(self, data: Any) -> bool:
        try:
            found = self.parser.probe(memoryview(data), self.direction)
        except Exception:
            self._crashed()
            found = False
        if found:
            self.in_sync = True
            return True
        self.counters.inc(f"{self.name}_resync_bytes_dropped", len(data))
        return False

    def _check_limit(self) -> None:
        if len(self.buf) > self.limit:
            self.counters.inc("tcp_buffer_overflow_bytes", len(self.buf))
            dropped = len(self.buf)
            self.buf = bytearray()
            self.want = 0
            try:
                self.parser.gap(self.state, self.direction, dropped)
            except Exception:
                self._crashed()

    def _crashed(self) -> None:
        # A parser bug must cost its connection's bytes, never the worker.
        self.counters.inc(f"{self.name}_parser_crashes")
