"""DNS over TCP: 2-byte length framing under every chunking, zone transfers, limits, gaps."""

from __future__ import annotations

import pytest

from shardbeat.metrics.counters import Counters
from shardbeat.protocols.base import Direction
from shardbeat.streams.feeder import StreamFeeder
from tests.protocols.dns_messages import SOA, T0, Harness, a_answer, name, pointer, query, \
    response, rr, tcp_frame

TO_SERVER, TO_CLIENT = Direction.TO_SERVER, Direction.TO_CLIENT
MS = 1_000_000
AXFR, NS_ = 252, 2

CLIENT_BYTES = tcp_frame(query("a.example.com", msg_id=1)) + \
    tcp_frame(query("b.example.com", msg_id=2))
SERVER_BYTES = tcp_frame(response("b.example.com", msg_id=2, answers=[a_answer("192.0.2.2")])) \
    + tcp_frame(response("a.example.com", msg_id=1, answers=[a_answer("192.0.2.1")]))


def run(client_chunks: list[bytes], server_chunks: list[bytes], **config) -> list[dict]:
    h = Harness("tcp", **config)
    for chunk in client_chunks:
        h.stream(chunk, TO_SERVER, T0)
    for chunk in server_chunks:
        h.stream(chunk, TO_CLIENT, T0 + MS)
    h.close(T0 + 2 * MS)
    return h.events


def split(data: bytes, at: int) -> list[bytes]:
    return [data[:at], data[at:]]


WHOLE = run([CLIENT_BYTES], [SERVER_BYTES])


def test_pipelined_queries_pair_with_their_responses():
    assert [(e["resource"], e["status"], e["dns"]["resolved_ip"]) for e in WHOLE] == \
        [("b.example.com", "OK", ["192.0.2.2"]), ("a.example.com", "OK", ["192.0.2.1"])]
    assert all(e["network"]["transport"] == "tcp" for e in WHOLE)


def test_sizes_count_the_length_prefix_as_packetbeat_does():
    first = WHOLE[0]
    assert first["source"]["bytes"] == len(query("b.example.com")) + 2
    assert first["destination"]["bytes"] == \
        len(response("b.example.com", answers=[a_answer("192.0.2.2")])) + 2


def test_byte_by_byte_gives_the_same_events():
    assert run(list(map(bytes, zip(CLIENT_BYTES))), list(map(bytes, zip(SERVER_BYTES)))) \
        == WHOLE


@pytest.mark.parametrize("at", range(1, len(CLIENT_BYTES)))
def test_client_bytes_split_at_every_offset(at):
    assert run(split(CLIENT_BYTES, at), [SERVER_BYTES]) == WHOLE


@pytest.mark.parametrize("at", range(1, len(SERVER_BYTES)))
def test_server_bytes_split_at_every_offset(at):
    assert run([CLIENT_BYTES], split(SERVER_BYTES, at)) == WHOLE


def test_a_message_spanning_segments_is_timed_from_its_first_segment():
    h = Harness("tcp")
    q = tcp_frame(query())
    h.stream(q[:5], TO_SERVER, T0)
    h.stream(q[5:], TO_SERVER, T0 + 7 * MS)
    h.stream(tcp_frame(response()), TO_CLIENT, T0 + 10 * MS)
    assert h.events[0]["event"]["duration"] == 10 * MS


def axfr_messages() -> tuple[bytes, bytes, bytes]:
    soa = rr(pointer(12), SOA, name("ns.etas.com") + name("hostmaster.etas.com") + bytes(20))
    first = response("etas.com", AXFR, msg_id=0,
                     answers=[soa, rr(pointer(12), NS_, name("ns.etas.com")),
                              a_answer("1.1.1.1", owner=b"\x07welcome" + pointer(12))])
    second = response("etas.com", AXFR, msg_id=0,
                      answers=[a_answer("1.1.1.2", owner=b"\x03www" + pointer(12)), soa])
    return query("etas.com", AXFR, msg_id=0), first, second


def test_a_zone_transfer_in_one_message_is_one_transaction():
    q, first, _ = axfr_messages()
    events = run([tcp_frame(q)], [tcp_frame(first)])
    (event,) = events
    assert event["query"] == "class IN, type AXFR, etas.com" and event["status"] == "OK"
    assert [a["name"] for a in event["dns"]["answers"]] == \
        ["etas.com", "etas.com", "welcome.etas.com"]


def test_later_messages_of_a_zone_transfer_are_published_as_packetbeat_does():
    q, first, second = axfr_messages()
    events = run([tcp_frame(q)], [tcp_frame(first) + tcp_frame(second)])
    paired, rest = events
    assert paired["status"] == "OK" and paired["dns"]["answers_count"] == 3
    assert rest["error"]["message"] == "Response: received without an associated Query"
    assert rest["dns"]["resolved_ip"] == ["1.1.1.2"]


def test_a_message_over_the_limit_is_skipped_without_buffering():
    big = response("big.example.com", msg_id=1,
                   answers=[a_answer(f"192.0.2.{i}") for i in range(20)])
    small = response("ok.example.com", msg_id=2)
    client = tcp_frame(query("big.example.com", msg_id=1)) + \
        tcp_frame(query("ok.example.com", msg_id=2))
    server = tcp_frame(big) + tcp_frame(small)
    for chunks in ([server], list(map(bytes, zip(server)))):
        h = Harness("tcp", max_message_size=200)
        h.stream(client, TO_SERVER)
        for chunk in chunks:
            h.stream(chunk, TO_CLIENT)
            assert len(h.buffers[TO_CLIENT]) <= 2 + len(small)
        assert [(e["resource"], e["status"]) for e in h.events] == \
            [("big.example.com", "Error"), ("ok.example.com", "OK")]
        assert h.events[0]["error"]["message"] == "Response: Unexpected message data length"
        assert h.counters.get("dns_oversize_messages") == 1


def test_a_zero_length_message_closes_the_pending_query_and_parsing_goes_on():
    h = Harness("tcp")
    h.stream(tcp_frame(query(msg_id=1)), TO_SERVER)
    h.stream(b"\x00\x00", TO_CLIENT)
    assert h.events[0]["error"]["message"] == "Response: Message's length was set to zero"
    h.stream(tcp_frame(query(msg_id=2)), TO_SERVER)
    h.stream(tcp_frame(response(msg_id=2)), TO_CLIENT)
    assert h.events[1]["status"] == "OK" and h.counters.get("dns_zero_length_messages") == 1


def test_a_response_cut_by_fin_closes_its_query_with_a_note():
    h = Harness("tcp")
    h.stream(tcp_frame(query()), TO_SERVER)
    h.stream(tcp_frame(response())[:9], TO_CLIENT)
    h.parser.fin(h.state, TO_CLIENT, T0)
    (event,) = h.events
    assert event["error"]["message"] == "Response: Message's data is incomplete"
    assert event["dns"]["type"] == "query"


def test_after_a_gap_a_plausible_message_start_resumes_parsing():
    h = Harness("tcp")
    h.stream(tcp_frame(query(msg_id=1)) + tcp_frame(query(msg_id=2)), TO_SERVER)
    h.stream(tcp_frame(response(msg_id=1))[:10], TO_CLIENT)
    h.buffers[TO_CLIENT].clear()
    h.want[TO_CLIENT] = 0
    h.parser.gap(h.state, TO_CLIENT, 30)
    assert h.events[0]["error"]["message"] == "Response: Message's data is incomplete"
    h.stream(tcp_frame(response(msg_id=2)), TO_CLIENT)
    assert h.events[1]["dns"]["id"] == 2 and h.events[1]["status"] == "OK"


def test_after_a_gap_mid_message_the_direction_reports_lost_sync():
    h = Harness("tcp")
    h.parser.gap(h.state, TO_CLIENT, 100)
    tail = tcp_frame(response())[7:]
    progress = h.parser.feed(h.state, memoryview(tail), TO_CLIENT, T0)
    assert progress.error and progress.consumed == 0


def test_the_stream_layer_resyncs_through_probe_after_lost_sync():
    """Through the real StreamFeeder: garbage after a gap is dropped, the next message
    start is found by probe() and parsed."""
    h = Harness("tcp")
    counters = Counters()
    to_client = StreamFeeder(h.parser, h.state, TO_CLIENT, 1 << 20, counters)
    h.stream(tcp_frame(query(msg_id=1)) + tcp_frame(query(msg_id=2)), TO_SERVER)
    to_client.gap(50)
    to_client.push(b"\x17\x03\x03 random bytes that are no message at all", T0)
    to_client.push(tcp_frame(response(msg_id=2))[:20], T0)  # ends inside the name
    to_client.push(tcp_frame(response(msg_id=2))[20:], T0)
    assert [e["dns"]["id"] for e in h.events] == [2]
    assert counters.get("dns_resync_bytes_dropped") > 0


def test_probe_accepts_message_starts_only():
    h = Harness("tcp")
    assert h.parser.probe(memoryview(tcp_frame(query())), TO_SERVER)
    assert h.parser.probe(memoryview(tcp_frame(response())), TO_CLIENT)
    assert h.parser.probe(memoryview(query()), TO_SERVER)
    assert not h.parser.probe(memoryview(tcp_frame(query())), TO_CLIENT)
    assert not h.parser.probe(memoryview(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), TO_SERVER)
    assert not h.parser.probe(memoryview(b"\x00"), TO_SERVER)
