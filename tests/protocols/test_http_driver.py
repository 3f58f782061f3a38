"""A stand-in for the TCP layer, for the HTTP parser tests: it keeps each direction's
unconsumed bytes, honours `consumed`/`needed`, and plays a conversation under every
chunking (whole segments, line by line, byte by byte, and split at every offset,
gunicorn-style), checking that every chunking yields the same events.

A conversation is a list of steps: `(Direction, bytes)` for data, `("gap", Direction, n)`
for a hole the TCP layer reports, `("fin", Direction)` for a FIN. Each step is one
millisecond after the previous one; pieces of one step share its timestamp.
"""

from __future__ import annotations

import socket
from typing import Callable, Iterator

from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Conn, Direction, ParserEnv
from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.http.parser import HttpParser
from tests.integration.replaycli import get  # noqa: F401 - re-exported for the protocol tests

C2S, S2C = Direction.TO_SERVER, Direction.TO_CLIENT
T0 = 1_700_000_000_000_000_000
MS = 1_000_000
CLIENT = (socket.inet_aton("10.0.0.1"), 40000)
SERVER = (socket.inet_aton("10.0.0.2"), 80)

Splitter = Callable[[bytes, int], list[bytes]]


class Harness:
    """One connection: a parser, its state, and the two directions' buffers."""

    def __init__(self, config: HttpConfig | None = None, server: tuple = SERVER,
                 client: tuple = CLIENT) -> None:
        self.events: list[dict] = []
        self.counters = Counters()
        self.parser = HttpParser(config or HttpConfig(), ParserEnv(self.events.append,
                                                                   self.counters))
        self.state = self.parser.new_state(Conn("tcp", 4, client, server))
        self.bufs = {C2S: bytearray(), S2C: bytearray()}
        self.want = {C2S: 0, S2C: 0}
        self.calls = 0

    def push(self, direction: Direction, data: bytes, ts: int) -> None:
        buf = self.bufs[direction]
        buf += data
        if len(buf) < self.want[direction]:
            return
        total = 0
        while total < len(buf):
            rest = bytes(buf[total:])  # a copy: the parser must not keep what it is fed
            self.calls += 1
            progress = self.parser.feed(self.state, memoryview(rest), direction, ts)
            assert not progress.error
            assert 0 <= progress.consumed <= len(rest)
            if progress.consumed == 0:
                self.want[direction] = len(rest) + max(progress.needed, 1)
                break
            total += progress.consumed
            self.want[direction] = 0
        del buf[:total]

    def gap(self, direction: Direction, nbytes: int) -> None:
        self.bufs[direction].clear()
        self.want[direction] = 0
        self.parser.gap(self.state, direction, nbytes)

    def fin(self, direction: Direction, ts: int) -> None:
        self.parser.fin(self.state, direction, ts)

    def close(self, ts: int) -> None:
        self.parser.close(self.state, ts)


def whole(data: bytes, k: int) -> list[bytes]:
    return [data]


def lines(data: bytes, k: int) -> list[bytes]:
    return [piece for piece in data.splitlines(keepends=True) if piece]


def bytewise(data: bytes, k: int) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


def split_at(data: bytes, k: int) -> list[bytes]:
    k = min(k, len(data))
    return [piece for piece in (data[:k], data[k:]) if piece]


def chunkings(steps: list) -> Iterator[tuple[str, Splitter, int]]:
    yield "whole", whole, 0
    yield "lines", lines, 0
    yield "bytes", bytewise, 0
    longest = max((len(s[1]) for s in steps if isinstance(s[0], Direction)), default=0)
    for k in range(1, longest):
        yield f"split@{k}", split_at, k


def play(steps: list, config: HttpConfig | None = None, splitter: Splitter = whole,
         k: int = 0, close: bool = True) -> Harness:
    h = Harness(config)
    ts = T0
    for step in steps:
        ts += MS
        if step[0] == "gap":
            h.gap(step[1], step[2])
        elif step[0] == "fin":
            h.fin(step[1], ts)
        elif step[0] == "expire":
            h.parser.expire(h.state, ts + step[1])
        else:
            for piece in splitter(step[1], k):
                h.push(step[0], piece, ts)
    if close:
        h.close(ts + MS)
    return h


def events_every_way(steps: list, config: HttpConfig | None = None,
                     close: bool = True) -> list[dict]:
    """The events of `steps`, asserting every chunking produces exactly the same."""
    reference = play(steps, config, close=close).events
    for name, splitter, k in chunkings(steps):
        got = play(steps, config, splitter, k, close=close).events
        assert got == reference, f"chunking {name} differs"
    return reference


def request(target: str = "/", method: str = "GET", headers: dict | None = None,
            body: bytes = b"", version: str = "1.1") -> bytes:
    hdrs = {"Host": "example.com", **(headers or {})}
    if body and "Content-Length" not in hdrs and "Transfer-Encoding" not in hdrs:
        hdrs["Content-Length"] = str(len(body))
    head = f"{method} {target} HTTP/{version}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    return head.encode() + body


def response(status: str = "200 OK", headers: dict | None = None, body: bytes = b"",
             version: str = "1.1", length: bool = True) -> bytes:
    hdrs = dict(headers or {})
    if length and "Content-Length" not in hdrs and "Transfer-Encoding" not in hdrs:
        hdrs["Content-Length"] = str(len(body))
    head = f"HTTP/{version} {status}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    return head.encode() + body


def chunked(*parts: bytes, trailer: bytes = b"") -> bytes:
    out = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
    return out + b"0\r\n" + trailer + b"\r\n"


# -- the driver itself -------------------------------------------------------------------


def test_every_chunking_delivers_every_byte_in_order():
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    steps = [(C2S, data)]
    for name, splitter, k in chunkings(steps):
        assert b"".join(splitter(data, k)) == data, name


def test_split_at_every_offset_covers_each_position():
    steps = [(C2S, b"abcdef")]
    cuts = {k for name, _, k in chunkings(steps) if name.startswith("split@")}
    assert cuts == set(range(1, 6))


def test_driver_waits_for_what_the_parser_says_it_needs():
    h = Harness()
    head = b"GET / HTTP/1.1\r\nHost: a\r\n"
    h.push(C2S, head, T0)
    assert h.want[C2S] > len(head)  # incomplete head: nothing consumed
    calls = h.calls
    h.push(C2S, b"\r\n", T0)
    assert h.calls > calls and not h.bufs[C2S]
