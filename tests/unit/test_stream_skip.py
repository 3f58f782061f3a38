"""Body segments taken by their length (the parser's optional `skip`, offered by the stream
layer, or by the tracker's skip_segment before any Packet is built) end exactly as framing
them would: same events, same counters, under every TCP anomaly the tracker handles
(retransmissions, overlaps, reordering, holes, FIN and RST mid-body, idle expiry) and
every HTTP shape (length, chunked, close-delimited, HEAD/204/304,
upgrades, kept bodies, oversize messages, pipelining).

The specification is the same parser with `skip` always declining: every byte framed."""

from __future__ import annotations

import random

import pytest

from shardbeat.decode.packet import TcpFlag
from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import ParserEnv
from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.http.parser import HttpParser
from shardbeat.streams.config import TcpConfig
from shardbeat.streams.tcp import TcpTracker
from tests.protocols.test_http_driver import chunked, get, request, response
from tests.unit.test_tcp_streams import CLIENT, SERVER, seg

MS = 1_000_000
_ACK, _PSH, _FIN, _RST, _SYN = TcpFlag.ACK, TcpFlag.PSH, TcpFlag.FIN, TcpFlag.RST, TcpFlag.SYN


class FramingOnly(HttpParser):
    """The general path: never skips, so every segment is framed step by step."""

    def skip(self, st, direction, nbytes, ts):
        return False


def _exchanges(rng: random.Random) -> list[tuple[bytes, bytes]]:
    """A keep-alive conversation of (request, response) pairs in every framing."""
    body = lambda: bytes(rng.choice(b"ab\r\n") for _ in range(rng.randrange(0, 9000)))  # noqa: E731
    out = []
    for _ in range(rng.randrange(1, 5)):
        kind = rng.randrange(7)
        if kind == 0:
            out.append((request(), response(body=body(), headers={"Content-Type": "text/plain"})))
        elif kind == 1:
            parts = [body() for _ in range(rng.randrange(1, 4))]
            out.append((request(), response(headers={"Transfer-Encoding": "chunked"},
                                            body=chunked(*[p for p in parts if p]))))
        elif kind == 2:
            out.append((request(method="POST", body=body() + b"x"), response("201 Created")))
        elif kind == 3:
            out.append((request(method="HEAD"), response(headers={"Content-Length": "5000"})))
        elif kind == 4:
            out.append((request(), response(rng.choice(["204 No Content", "304 Not Modified"]))))
        elif kind == 5:
            out.append((request(headers={"Upgrade": "x"}, body=body() + b"y"),
                        response("101 Switching Protocols")))
        else:
            out.append((request(), response(headers={"Connection": "close"}, body=body(),
                                             length=False)))
    return out


def _segments(stream: bytes, seq: int, rng: random.Random) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(stream):
        size = rng.choice((1, 7, 536, 1460, 1460, 1460, 2920))
        out.append(((seq + pos) & 0xFFFFFFFF, stream[pos:pos + size]))
        pos += size
    return out


def _disturb(segs: list, rng: random.Random) -> list:
    """Retransmit, overlap, reorder or lose some segments."""
    out = []
    for seq, data in segs:
        roll = rng.random()
        if roll < 0.04:
            continue  # lost: a hole the tracker reports as a gap
        out.append((seq, data))
        if roll < 0.08:
            out.append((seq, data))  # retransmitted
        elif roll < 0.11 and len(data) > 2:
            out.append((seq + 1, data[1:]))  # overlapping
        elif roll < 0.15 and len(out) > 1:
            out[-1], out[-2] = out[-2], out[-1]  # out of order
    return out


def _packets(rng: random.Random) -> list:
    """One connection's packets in capture order, with times that may cross the idle
    and transaction timeouts."""
    cseq, sseq = rng.randrange(1 << 32), rng.randrange(1 << 32)
    mid_stream = rng.random() < 0.2
    pkts = [] if mid_stream else [(CLIENT, SERVER, cseq, b"", _SYN),
                                  (SERVER, CLIENT, sseq, b"", _SYN | _ACK)]
    cseq, sseq = cseq + 1, sseq + 1
    disturbed = rng.random() < 0.5
    boundaries: list[int] = []  # where the server's segments start
    for requ, resp in _exchanges(rng):
        for src, dst, seq, data in ((CLIENT, SERVER, cseq, requ), (SERVER, CLIENT, sseq, resp)):
            segs = _segments(data, seq, rng)
            for s, d in (_disturb(segs, rng) if disturbed else segs):
                pkts.append((src, dst, s, d, _ACK | _PSH))
            boundaries += [s for s, _ in segs] if src == SERVER else []
        cseq, sseq = cseq + len(requ), sseq + len(resp)
    ending = rng.randrange(5)
    if ending == 1:
        pkts.insert(rng.randrange(len(pkts) + 1), (SERVER, CLIENT, sseq, b"", _FIN | _ACK))
    elif ending == 2:
        pkts.insert(rng.randrange(len(pkts) + 1), (CLIENT, SERVER, cseq, b"", _RST))
    elif ending == 4 and boundaries:  # a FIN that says the stream ends early, mid-body
        fin_at = rng.choice(boundaries)
        pkts.insert(rng.randrange(len(pkts) + 1), (SERVER, CLIENT, fin_at, b"", _FIN | _ACK))
    elif ending == 3:
        pkts += [(CLIENT, SERVER, cseq, b"", _FIN | _ACK), (SERVER, CLIENT, sseq, b"", _FIN | _ACK)]
    return pkts


def _replay(parser_class, config: HttpConfig, pkts: list, rng: random.Random,
            offer: bool = False):
    """Events and counters of `pkts` through a tracker; with `offer`, every data segment
    without SYN/FIN/RST goes to skip_segment first, as the batch path does."""
    events: list[dict] = []
    counters = Counters()
    parser = parser_class(config, ParserEnv(events.append, counters))
    tracker = TcpTracker({SERVER[1]: parser},
                         TcpConfig(max_ooo_segments=3, idle_timeout=10.0), counters)
    ts = 0
    for (src, dst, seq, data, flags), pause in zip(pkts, rng.choices(
            (MS, MS, MS, 6_000 * MS, 40_000 * MS), k=len(pkts))):
        ts += pause
        if pause > MS:
            tracker.tick(ts)
        if offer and data and not flags & (_SYN | _FIN | _RST):
            key = (src, dst, ()) if src < dst else (dst, src, ())
            if tracker.skip_segment(key, src, seq, len(data), ts):
                continue
        tracker.on_packet(seg(src, dst, seq, data, flags, ts))
    tracker.flush(ts + MS)
    return events, counters.snapshot()


_CONFIGS = {
    "default": HttpConfig(),
    "kept-bodies": HttpConfig(include_body_for=["text/plain"]),
    "small-max-message": HttpConfig(max_message_size=3000, include_body_for=["text/plain"]),
}


@pytest.mark.parametrize("name", sorted(_CONFIGS))
def test_skipping_by_length_publishes_what_framing_publishes(name):
    config = _CONFIGS[name]
    skipped = 0
    for case in range(150):
        pkts = _packets(random.Random(case))
        timing = random.Random(case).getstate()
        general = _replay(FramingOnly, config, pkts, _with_state(timing))
        fast = _replay(HttpParser, config, pkts, _with_state(timing))
        assert fast == general, case
        offered = _replay(HttpParser, config, pkts, _with_state(timing), offer=True)
        assert offered == general, case
        skipped += bool(general[0])
    assert skipped > 100  # the cases did publish


def test_a_body_segment_is_taken_by_length_without_being_framed():
    calls = []

    class Watching(HttpParser):
        def feed(self, st, data, direction, ts):
            calls.append(len(data))
            return super().feed(st, data, direction, ts)

    events: list[dict] = []
    parser = Watching(HttpConfig(), ParserEnv(events.append, Counters()))
    tracker = TcpTracker({SERVER[1]: parser}, TcpConfig(), Counters())
    requ, resp = request(), response(body=b"z" * 5000)
    head = len(resp) - 5000
    tracker.on_packet(seg(CLIENT, SERVER, 1, requ, ts=1))
    for pos in (0, head, head + 1460, head + 2920, head + 4380):
        end = head if pos == 0 else min(pos + 1460, len(resp))
        tracker.on_packet(seg(SERVER, CLIENT, 100 + pos, resp[pos:end], ts=2))
    assert calls == [len(requ), head, len(resp) - head - 4380]  # the last one completes
    assert len(events) == 1 and get(events[0], "http.response.body.bytes") == 5000


def _with_state(state) -> random.Random:
    rng = random.Random()
    rng.setstate(state)
    return rng


def test_a_skip_that_raises_costs_what_a_feed_that_raises_costs():
    """A parser bug in `skip` loses the direction's sync, counted as a crash, exactly as
    the same bug in `feed` would; the worker goes on."""

    class SkipCrashes(HttpParser):
        def skip(self, st, direction, nbytes, ts):
            if super().skip(st, direction, nbytes, ts):
                raise ValueError("parser bug")
            return False

    class FeedCrashes(FramingOnly):
        def feed(self, st, data, direction, ts):
            if HttpParser.skip(self, st, direction, len(data), ts):
                raise ValueError("parser bug")
            return super().feed(st, data, direction, ts)

    pkts = [(CLIENT, SERVER, 1, request(), _ACK | _PSH)]
    resp = response(body=b"q" * 4000) + response(body=b"r" * 10)
    pkts += [(SERVER, CLIENT, 100 + s, d, _ACK | _PSH) for s, d in
             ((pos, resp[pos:pos + 1460]) for pos in range(0, len(resp), 1460))]
    pkts.append((CLIENT, SERVER, 1 + len(request()), request(), _ACK | _PSH))
    results = [_replay(cls, HttpConfig(), pkts, random.Random(1))
               for cls in (SkipCrashes, FeedCrashes)]
    assert results[0] == results[1]
    assert results[0][1]["http_parser_crashes"] == 1
