"""Hostile input never raises out of the DNS parser, and what it publishes stays JSON."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardbeat.protocols.base import Direction
from tests.protocols.dns_messages import AAAA, MX, SOA, T0, TXT, Harness, a_answer, name, \
    opt, option, pointer, query, response, rr, tcp_frame

SEEDS = [
    query("www.example.com", additionals=[opt(do=True, options=option(8, b"\0\1\x18\0\1\2\3"))]),
    response("www.example.com", answers=[a_answer("192.0.2.1"), a_answer("192.0.2.2")]),
    response("example.com", MX, answers=[rr(pointer(12), MX, b"\0\5" + name("mx.example.com"))],
             authorities=[rr(pointer(12), SOA, name("ns") + name("h") + bytes(20))],
             additionals=[rr("mx.example.com", AAAA, bytes(16)), opt()]),
    response("example.com", TXT, answers=[rr(pointer(12), TXT, b"\x05hello\x03a\"b")]),
]
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "pointer"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[at:at + 2] = pointer(draw(st.integers(0, 0x3FFF)))
    return bytes(data)


messages = st.one_of(mutated(), st.binary(max_size=600))
directions = st.sampled_from([Direction.TO_SERVER, Direction.TO_CLIENT])


def check_events(h: Harness) -> None:
    for event in h.events:
        orjson.dumps(event)
        assert event["type"] == "dns" and "dns" in event


@FUZZ
@given(st.lists(st.tuples(messages, directions), max_size=8))
def test_datagrams_never_raise(datagrams):
    h = Harness(include_authorities=True, include_additionals=True, send_request=True,
                send_response=True)
    for i, (data, direction) in enumerate(datagrams):
        h.datagram(data, direction, T0 + i)
        h.parser.probe(memoryview(data), direction)
    h.parser.expire(h.state, T0 + 20 * 10**9)
    h.close()
    check_events(h)


@FUZZ
@given(st.lists(st.tuples(messages, directions, st.integers(1, 64),
                          st.sampled_from(["none", "gap", "fin"])), max_size=6))
def test_streams_never_raise(steps):
    h = Harness("tcp", include_authorities=True, include_additionals=True,
                max_message_size=400)
    parser, state = h.parser, h.state
    for i, (data, direction, chunk, event) in enumerate(steps):
        framed = tcp_frame(data) if i % 2 == 0 else data  # unframed bytes lose sync too
        for at in range(0, len(framed), chunk):
            progress = parser.feed(state, memoryview(framed[at:at + chunk]), direction, T0)
            assert 0 <= progress.consumed <= chunk and progress.needed >= 0
        if event == "gap":
            parser.gap(state, direction, chunk)
        elif event == "fin":
            parser.fin(state, direction, T0)
        parser.expire(state, T0 + i)
    parser.close(state, T0)
    check_events(h)
