"""ICMP pairing and events, on packets built as the decoder fills them."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.flows.community_id import community_id_v1
from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import ParserEnv
from shardbeat.protocols.icmp.config import IcmpConfig
from shardbeat.protocols.icmp.events import message_text
from shardbeat.protocols.icmp.tracker import (DUPLICATE_REQUEST, ORPHANED_REQUEST,
                                              ORPHANED_RESPONSE, IcmpTracker)
from shardbeat.transactions.event import timestamp_ms, timestamp_ns
from tests.unit.test_flows_packets import S, ip, packet

T0 = 1_445_287_763 * S


def tracker(**options) -> tuple[IcmpTracker, list[dict], Counters]:
    events: list[dict] = []
    counters = Counters()
    return IcmpTracker(IcmpConfig(**options), ParserEnv(events.append, counters)), events, \
        counters


def icmp(ts: int, src: str, dst: str, type_: int, code: int = 0, ident: int = 5,
         seq: int = 1, data: bytes = b"abcd", vlans: tuple[int, ...] = ()):
    v6 = ":" in src
    message = bytes([type_, code, 0, 0]) + ident.to_bytes(2, "big") + \
        seq.to_bytes(2, "big") + data
    return packet(ts, src, dst, proto=58 if v6 else 1, icmp=(type_, code), payload=message,
                  vlans=vlans)


def test_echo_request_and_reply_make_one_transaction():
    icmps, events, counters = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 8))
    icmps.on_packet(icmp(T0 + 20_130_000, "10.0.0.2", "10.0.0.1", 0))
    assert len(events) == 1 and len(icmps) == 0
    ev = events[0]
    assert ev["type"] == "icmp" and ev["status"] == "OK" and ev["path"] == "10.0.0.2"
    assert ev["icmp"] == {
        "version": 4,
        "request": {"message": "EchoRequest", "type": 8, "code": 0},
        "response": {"message": "EchoReply", "type": 0, "code": 0},
    }
    assert ev["source"] == {"ip": "10.0.0.1", "bytes": 4}
    assert ev["destination"] == {"ip": "10.0.0.2", "bytes": 4}
    assert ev["client"] == ev["source"] and ev["server"] == ev["destination"]
    assert ev["network"] == {"type": "ipv4", "transport": "icmp", "bytes": 8,
                             "community_id": community_id_v1(1, ip("10.0.0.1"),
                                                             ip("10.0.0.2"), 8, 0)}
    assert ev["event"]["duration"] == 20_130_000
    assert ev["event"]["type"] == ["connection"] and ev["event"]["dataset"] == "icmp"
    assert ev["@timestamp"] == timestamp_ms(T0)
    assert "error" not in ev
    assert counters.get("icmp_transactions") == 1


def test_icmpv6_echo():
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, "::1", "::2", 128))
    icmps.on_packet(icmp(T0 + 1000, "::2", "::1", 129))
    ev = events[0]
    assert ev["icmp"]["version"] == 6
    assert ev["icmp"]["request"]["type"] == 128 and ev["icmp"]["response"]["type"] == 129
    assert ev["network"]["transport"] == "ipv6-icmp" and ev["network"]["type"] == "ipv6"
    assert ev["source"]["ip"] == "::1" and ev["path"] == "::2"
    assert ev["source"]["bytes"] == 4


def test_replies_match_by_identifier_and_sequence():
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 8, seq=1))
    icmps.on_packet(icmp(T0 + 1, "10.0.0.1", "10.0.0.2", 8, seq=2))
    icmps.on_packet(icmp(T0 + 2, "10.0.0.2", "10.0.0.1", 0, seq=2))
    icmps.on_packet(icmp(T0 + 3, "10.0.0.2", "10.0.0.1", 0, seq=1))
    assert [e["event"]["duration"] for e in events] == [1, 3]


def test_unanswered_request_is_published_after_the_transaction_timeout():
    icmps, events, counters = tracker(transaction_timeout="10s")
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 8))
    icmps.tick(T0 + 9 * S)
    assert events == []
    icmps.tick(T0 + 10 * S)
    assert len(events) == 1
    ev = events[0]
    assert ev["status"] == "Error" and ev["error"]["message"] == ORPHANED_REQUEST
    assert "response" not in ev["icmp"] and "end" not in ev["event"]
    assert ev["event"]["start"] == timestamp_ns(T0)
    assert counters.get("icmp_unmatched_requests") == 1
    icmps.on_packet(icmp(T0 + 11 * S, "10.0.0.2", "10.0.0.1", 0))  # too late: alone
    assert events[1]["error"]["message"] == ORPHANED_RESPONSE


def test_flush_publishes_waiting_requests():
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 8))
    icmps.flush(T0 + 1)
    assert len(events) == 1 and events[0]["error"]["message"] == ORPHANED_REQUEST
    assert len(icmps) == 0


def test_reply_without_request():
    icmps, events, counters = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.2", "10.0.0.1", 0, data=b"x" * 10))
    ev = events[0]
    assert ev["status"] == "Error" and ev["error"]["message"] == ORPHANED_RESPONSE
    # the requester (the reply's receiver) is still the source
    assert ev["source"] == {"ip": "10.0.0.1"} and ev["path"] == "10.0.0.2"
    assert ev["destination"] == {"ip": "10.0.0.2", "bytes": 10}
    assert "start" not in ev["event"] and "duration" not in ev["event"]
    assert ev["event"]["end"] == timestamp_ns(T0) and ev["@timestamp"] == timestamp_ms(T0)
    assert "request" not in ev["icmp"]
    assert counters.get("icmp_unmatched_responses") == 1


def test_repeated_request_closes_the_first():
    icmps, events, counters = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 8))
    icmps.on_packet(icmp(T0 + S, "10.0.0.1", "10.0.0.2", 8))
    icmps.on_packet(icmp(T0 + S + 5, "10.0.0.2", "10.0.0.1", 0))
    assert events[0]["error"]["message"] == DUPLICATE_REQUEST
    assert events[0]["status"] == "Error"
    assert events[1]["status"] == "OK" and events[1]["event"]["duration"] == 5
    assert counters.get("icmp_duplicate_requests") == 1


@pytest.mark.parametrize("src,dst,type_,code,message", [
    ("10.0.0.9", "10.0.0.1", 3, 3, "DestinationUnreachable(Port)"),
    ("10.0.0.9", "10.0.0.1", 11, 0, "TimeExceeded(TTLExceeded)"),
    ("::9", "::1", 1, 4, "DestinationUnreachable(PortUnreachable)"),
    ("::9", "::1", 2, 0, "PacketTooBig"),
])
def test_error_messages_are_published_alone_as_errors(src, dst, type_, code, message):
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, src, dst, type_, code, data=b"\x45" + b"\0" * 27))
    assert len(events) == 1 and len(icmps) == 0
    ev = events[0]
    assert ev["status"] == "Error" and "error" not in ev
    assert ev["icmp"]["request"] == {"message": message, "type": type_, "code": code}
    assert ev["source"]["bytes"] == 28 and "end" not in ev["event"]
    # one-way: the Community ID keeps the direction and hashes the code
    proto = 58 if ":" in src else 1
    assert ev["network"]["community_id"] == community_id_v1(proto, ip(src), ip(dst),
                                                            type_, code)


def test_neighbour_discovery_is_published_alone_and_ok():
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, "fe80::1", "ff02::1:ff00:2", 135))
    assert events[0]["status"] == "OK"
    assert events[0]["icmp"]["request"]["message"] == "NeighborSolicitation"


def test_timestamp_query_pairs_like_echo():
    icmps, events, _ = tracker()
    icmps.on_packet(icmp(T0, "10.0.0.1", "10.0.0.2", 13, data=b"\0" * 12))
    icmps.on_packet(icmp(T0 + 7, "10.0.0.2", "10.0.0.1", 14, data=b"\0" * 12))
    assert len(events) == 1 and events[0]["status"] == "OK"
    assert events[0]["icmp"]["response"]["message"] == "TimestampReply"
    assert events[0]["event"]["duration"] == 7


def test_truncated_message_is_counted_and_dropped():
    icmps, events, counters = tracker()
    short = icmp(T0, "10.0.0.1", "10.0.0.2", 8)
    short.payload = short.payload[:6]
    icmps.on_packet(short)
    assert events == [] and len(icmps) == 0
    assert counters.get("icmp_truncated") == 1


def test_pending_requests_are_capped():
    icmps, events, counters = tracker(max_pending_requests=2)
    for seq in range(3):
        icmps.on_packet(icmp(T0 + seq, "10.0.0.1", "10.0.0.2", 8, seq=seq))
    assert len(icmps) == 2 and counters.get("icmp_pending_evicted") == 1
    assert events[0]["event"]["start"] == timestamp_ns(T0)
    assert events[0]["error"]["message"] == ORPHANED_REQUEST


@pytest.mark.parametrize("version,type_,code,text", [
    (4, 8, 0, "EchoRequest"), (4, 8, 3, "EchoRequest(Code: 3)"),
    (4, 3, 13, "DestinationUnreachable(CommAdminProhibited)"),
    (4, 3, 16, "DestinationUnreachable(Code: 16)"), (4, 5, 2, "Redirect(TOS+Net)"),
    (4, 42, 1, "42(1)"), (6, 3, 1, "TimeExceeded(FragmentReassemblyTimeExceeded)"),
    (6, 4, 2, "ParameterProblem(UnrecognizedIPv6Option)"), (6, 130, 0, "130(0)"),
])
def test_message_texts(version, type_, code, text):
    assert message_text(version, type_, code) == text


def test_icmp_has_no_ports():
    with pytest.raises(pydantic.ValidationError, match="ICMP has no ports"):
        IcmpConfig(ports=[7])


@settings(max_examples=300, deadline=None)
@given(v6=st.booleans(), type_=st.integers(0, 255), code=st.integers(0, 255),
       payload=st.binary(max_size=40), dt=st.integers(0, 20 * S))
def test_any_message_is_handled_without_raising(v6, type_, code, payload, dt):
    icmps, events, _ = tracker()
    a, b = ("::1", "::2") if v6 else ("10.0.0.1", "10.0.0.2")
    for ts, (src, dst) in ((T0, (a, b)), (T0 + dt, (b, a))):
        p = packet(ts, src, dst, proto=58 if v6 else 1, icmp=(type_, code), payload=payload)
        icmps.on_packet(p)
        icmps.tick(ts)
    icmps.flush(T0 + dt)
    assert len(icmps) == 0
    assert all(e["type"] == "icmp" and e["status"] in ("OK", "Error") for e in events)
