"""The DNS event shortcuts say what the plain rules they replace say: records of the common
types built whole (no `data` dict merged in), the header part of `dns` looked up once per
combination of opcode, flags, rcode and DO (and shared by the events that have it: the
finisher's tests check that its dict route leaves shared objects alone)."""

from __future__ import annotations

import random
import struct

import pytest

from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.events import _DECODE_ERRORS, _HEADER_FLAGS, Options, Rendered, \
    _records, dns_object
from shardbeat.protocols.dns.names import class_name, opcode_name, rcode_name, type_name
from shardbeat.protocols.dns.rdata import DATA_ONLY, escape_raw, format_rdata
from shardbeat.protocols.dns.wire import Record, decode
from tests.protocols.dns_messages import QR, message, name, opt, pointer, question, rr

_FLAG_KEYS = (("authoritative", 0x0400), ("truncated_response", 0x0200),
              ("recursion_desired", 0x0100), ("recursion_available", 0x0080),
              ("authentic_data", 0x0020), ("checking_disabled", 0x0010))


def _reference_records(raw: bytes, records: list[Record], collect_ips: bool
                       ) -> tuple[list, list, int]:
    """Every record through the general formatter, its `data` dict merged in."""
    out, ips, bad = [], [], 0
    for rec in records:
        try:
            fmt = format_rdata(raw, rec)
        except _DECODE_ERRORS:
            bad += 1
            fmt = {"data": escape_raw(raw[rec.rdata_off:rec.rdata_off + rec.rdlen])}
        else:
            if fmt is None:
                continue
            if collect_ips and rec.rtype in (1, 28):
                ips.append(fmt["data"])
        out.append({"name": rec.name, "type": type_name(rec.rtype),
                    "class": class_name(rec.rclass), "ttl": str(rec.ttl), **fmt})
    return out, ips, bad


def _rdata_for(rng: random.Random, rtype: int) -> bytes:
    size = {1: 4, 28: 16}.get(rtype)
    roll = rng.random()
    if size is not None and roll < 0.7:
        return bytes(rng.randrange(256) for _ in range(size))
    if rtype not in (1, 28) and roll < 0.6:
        return name(rng.choice(["a.example", "cdn.example.net", ""])) if roll < 0.4 \
            else b"\x01x" + pointer(12)
    return bytes(rng.choice((0, 1, 3, 0xC0, 0x0C, 0x41, 0xFF)) for _ in range(rng.randrange(6)))


def _random_record(rng: random.Random, rtype: int) -> bytes:
    owner = rng.choice([pointer(12), name("o.example"), b"\0"])
    return rr(owner, rtype, _rdata_for(rng, rtype), ttl=rng.choice([0, 60, 2**31]),
              rclass=rng.choice([1, 3, 999]))


@pytest.mark.parametrize("collect_ips", [True, False])
def test_common_types_are_built_as_the_general_formatter_builds_them(collect_ips):
    rng = random.Random(11)
    types = sorted(DATA_ONLY) + [15, 16, 99]
    for _ in range(3000):
        records = [_random_record(rng, rng.choice(types)) for _ in range(rng.randrange(1, 4))]
        raw = message(flags=QR, questions=[question("q.example")], answers=records)
        msg = decode(raw)
        found = Rendered()
        got = _records(raw, msg.answers, found, collect_ips)
        assert (got, found.resolved_ips, found.bad_rdata) == \
            _reference_records(raw, msg.answers, collect_ips), raw


def _reference_header(flags: int, do: bool) -> dict:
    header_flags = [text for text, mask in _HEADER_FLAGS if flags & mask]
    if do:
        header_flags.append("DO")
    out = {"op_code": opcode_name((flags >> 11) & 0xF),
           "flags": {key: bool(flags & mask) for key, mask in _FLAG_KEYS},
           "response_code": rcode_name(flags & 0xF)}
    if header_flags:
        out["header_flags"] = header_flags
    return out


def test_every_header_combination_reads_flag_by_flag():
    opts = Options(DnsConfig())
    rng = random.Random(5)
    for _ in range(4000):
        flags = rng.randrange(0x10000)
        do = rng.random() < 0.5
        extra = [opt(do=do)] if do or rng.random() < 0.5 else []
        raw = message(flags=flags, questions=[question("x.example")], additionals=extra)
        out = dns_object(decode(raw), "query", opts, Rendered())
        header = {key: out[key] for key in ("op_code", "flags", "response_code",
                                            "header_flags") if key in out}
        assert header == _reference_header(flags, do), hex(flags)
        assert list(out)[:5] == ["type", "id", "op_code", "flags", "response_code"]


def test_an_answer_record_keeps_its_owner_without_the_trailing_dot():
    raw = message(flags=QR, questions=[question("x.example")],
                  answers=[rr(pointer(12), 1, bytes(4)), rr(b"\0", 1, bytes(4)),
                           rr(b"\x01a" + pointer(12), 1, struct.pack("!I", 1))])
    assert [r.name for r in decode(raw).answers] == ["x.example", ".", "a.x.example"]
