"""Names read by their memoised wire bytes read exactly as the label-by-label walk reads them."""

from __future__ import annotations

import random
import struct

import pytest

from shardbeat.protocols.dns.wire import MAX_POINTERS, Malformed, _walk_name, decode, read_name, \
    trim_dot


def _outcome(read, msg: bytes, off: int):
    try:
        return read(msg, off)
    except Malformed:
        return "malformed"


@pytest.mark.parametrize("wire", [
    b"\0",                                  # the root
    b"\x03www\x07example\x03com\0",
    b"\x03a\0b\x03com\0",                   # a zero octet inside a label
    b"\x05a.b c\x03com\0",                  # bytes that print escaped
    b"\x3f" + b"x" * 63 + b"\0",
    b"\x01a\xc0\x0c",                       # ends in a pointer
    b"\x41abc\0",                           # unsupported label type
    b"\x05ab\0",                            # label runs past the zero
    b"".join(b"\x3f" + b"y" * 63 for _ in range(4)) + b"\0",  # 257 octets: too long
    b"".join(b"\x3e" + b"y" * 62 for _ in range(4)) + b"\0",  # 253 octets: fits
])
def test_a_name_reads_the_same_either_way(wire):
    msg = bytes(12) + wire + b"\0\x01\0\x01"
    assert _outcome(read_name, msg, 12) == _outcome(_walk_name, msg, 12)


def test_random_bytes_read_the_same_either_way():
    rng = random.Random(3)
    alphabet = (0, 0, 1, 2, 3, 0x3F, 0x40, 0xC0, 0x0C, ord("a"), ord("."), 0xFF)
    for _ in range(20000):
        msg = bytes(rng.choice(alphabet) if rng.random() < 0.7 else rng.randrange(256)
                    for _ in range(rng.randrange(13, 60)))
        off = rng.randrange(0, len(msg))
        assert _outcome(read_name, msg, off) == _outcome(_walk_name, msg, off), (msg, off)


def _reference_questions(raw: bytes, count: int) -> tuple[list, bool]:
    """The question section read label by label, as RFC 1035 4.1.2 lays it out."""
    out, off = [], 12
    try:
        for _ in range(count):
            if off >= len(raw):
                break
            name, off = _walk_name(raw, off)
            if off + 4 > len(raw):
                raise Malformed("question cut short")
            qtype, qclass = struct.unpack_from("!HH", raw, off)
            off += 4
            out.append((trim_dot(name), qtype, qclass))
    except Malformed:
        return out, True
    return out, False


def test_random_questions_decode_the_same_either_way():
    rng = random.Random(5)
    alphabet = (0, 0, 1, 2, 3, 0x3F, 0xC0, 0x0C, ord("a"), 0xFF)
    for _ in range(20000):
        count = rng.randrange(1, 3)
        body = bytes(rng.choice(alphabet) if rng.random() < 0.7 else rng.randrange(256)
                     for _ in range(rng.randrange(0, 40)))
        raw = struct.pack("!HHHHHH", 1, 0, count, 0, 0, 0) + body
        msg = decode(raw)
        questions, cut = _reference_questions(raw, count)
        assert [tuple(q) for q in msg.questions] == questions, raw
        assert msg.incomplete == cut, raw


def _reference_owners(raw: bytes, off: int, count: int) -> list[str]:
    """Each record's owner read label by label where it stands, trailing dot trimmed."""
    owners: list[str] = []
    for _ in range(count):
        if off >= len(raw):
            break
        try:
            name, off = _walk_name(raw, off)
        except Malformed:
            break
        if off + 10 > len(raw):
            break
        rdlen = struct.unpack_from("!H", raw, off + 8)[0]
        off += 10 + rdlen
        if off > len(raw):
            break
        owners.append(trim_dot(name))
    return owners


def test_owners_pointing_at_the_question_read_as_the_walk_reads_them():
    rng = random.Random(9)
    labels = [b"www", b"a.b", b"x y", b"\xff\x00", b"example", b"com"]
    for _ in range(5000):
        qname = b"".join(bytes([len(lb)]) + lb for lb in rng.sample(labels, rng.randrange(0, 4)))
        records = b""
        count = rng.randrange(1, 4)
        for _ in range(count):
            owner = rng.choice([b"\xc0\x0c", b"\x01a\xc0\x0c", b"\0", b"\xc0\x0d"])
            records += owner + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)
        raw = struct.pack("!HHHHHH", 1, 0x8000, 1, count, 0, 0) + qname + b"\0\0\1\0\1" + records
        msg = decode(raw)
        expected = _reference_owners(raw, 12 + len(qname) + 5, count)
        assert [r.name for r in msg.answers] == expected, raw


def test_an_owner_pointing_at_a_question_read_through_pointers_counts_them_all():
    # The question is a pointer into a chain: MAX_POINTERS in all, just within the bound.
    # An answer pointing at the question follows one more and is malformed, so the question
    # name may not stand in for it as a name written out whole does.
    chain_start = 12 + 6 + 16
    chain = bytearray(b"\x01x\x00")
    target = chain_start
    for _ in range(MAX_POINTERS - 1):
        here = chain_start + len(chain)
        chain += struct.pack("!H", 0xC000 | target)
        target = here
    question = struct.pack("!HHH", 0xC000 | target, 1, 1)
    answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes(4)
    raw = struct.pack("!HHHHHH", 1, 0x8000, 1, 1, 0, 0) + question + answer + bytes(chain)
    msg = decode(raw)
    assert [q.name for q in msg.questions] == ["x"]
    assert msg.answers == [] and msg.incomplete
