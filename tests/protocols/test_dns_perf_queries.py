"""Queries that repeat but for their id and flags are decoded once per body: each must still
be what a fresh decode gives, whatever its header, and whatever pointers it holds."""

from __future__ import annotations

import random
import struct

from shardbeat.protocols.dns.wire import _decode, decode
from tests.protocols.dns_messages import message, opt, pointer, question, rr

# Bytes that make names, pointers (also into the id and flags) and cut records likely.
_ALPHABET = (0, 0, 1, 2, 3, 0x3F, 0xC0, 0x0C, 0x02, ord("a"), 0xFF, 41)


def _fields(msg) -> tuple:
    return (msg.raw, msg.id, msg.flags, msg.questions, msg.answers, msg.authorities,
            msg.additionals, msg.opt, msg.incomplete)


def test_queries_of_a_known_body_decode_as_a_fresh_decode_does():
    """`decode` reads a query's sections once per body (all after id and flags); each such
    query, whatever its id and flags, must be what decoding it from scratch gives, cut,
    lying or whole."""
    rng = random.Random(3)
    bodies = []
    for _ in range(300):
        extra = [opt(udp_size=rng.choice([512, 4096]))] if rng.random() < 0.6 else []
        raw = message(0, 0, [question(rng.choice(["a.example", "b.example.net", "."]),
                                      rng.choice([1, 28]))], additionals=extra)
        cut = rng.choice([len(raw), len(raw), rng.randrange(12, len(raw) + 1)])
        bodies.append(raw[4:cut])
        bodies.append(bytes(rng.choice(_ALPHABET) if rng.random() < 0.7 else rng.randrange(256)
                            for _ in range(rng.randrange(8, 40))))
        bodies.append(b"\0\1\0\0\0\0\0\1" + bytes(rng.choice(_ALPHABET)
                                                for _ in range(rng.randrange(0, 30))))
    for _ in range(3000):
        body = rng.choice(bodies)
        raw = struct.pack("!HH", rng.randrange(0x10000), rng.randrange(0x10000)) + body
        got, want = decode(raw), _decode(raw) if len(raw) >= 12 else None
        assert (got is None) == (want is None)
        if got is not None:
            assert _fields(got) == _fields(want), raw


def test_an_owner_pointing_into_the_id_reads_each_query_own_id():
    body = message(0, 0, [question("a.example")], additionals=[rr(pointer(0), 1, bytes(4))])
    for head in (b"\x01a\0\0", b"\x01b\0\0", b"\0\0\0\0"):
        raw = head + body[4:]
        assert _fields(decode(raw)) == _fields(_decode(raw))
