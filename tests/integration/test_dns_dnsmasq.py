"""Real DNS queries to a real dnsmasq over UDP and TCP, captured off loopback, replayed
through `shardbeat replay`: every query is one `dns` event with the question, response code
and answers the client decoded, and every TCP connection and UDP socket is one final flow
whose packet and byte counts are tshark's.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.loopcapture import (capture_span, conversations, frame_totals,
                                           packet_fields)
from tests.integration.replaycli import check_loopback_transaction, get, of_type

pytestmark = pytest.mark.integration


def _truth_key(q) -> tuple:
    return (q.transport, q.client_port, q.id)


def _event_key(e: dict) -> tuple:
    return (get(e, "network.transport"), get(e, "client.port"), get(e, "dns.id"))


def _by_key(events: list[dict]) -> dict[tuple, dict]:
    keyed = {}
    for e in of_type(events, "dns"):
        key = _event_key(e)
        assert key not in keyed, f"two dns events for {key}"
        keyed[key] = e
    return keyed


def test_tshark_sees_every_query_and_response(dns_recording):
    """The oracle agrees with the client before either is used to judge shardbeat."""
    port = dns_recording.server_port
    rows = packet_fields(dns_recording.pcap, "dns", "dns.id", "dns.flags.response",
                         "dns.qry.name", "dns.flags.rcode",
                         decode_as=(f"udp.port=={port},dns", f"tcp.port=={port},dns"))
    queries = Counter((int(i, 0), n) for i, r, n, _ in rows if r in ("0", "False"))
    answers = Counter((int(i, 0), n, int(c)) for i, r, n, c in rows if r in ("1", "True"))
    truth = dns_recording.truth.queries
    assert queries == Counter((q.id, q.name) for q in truth)
    rcodes = {"NOERROR": 0, "NXDOMAIN": 3}
    assert answers == Counter((q.id, q.name, rcodes[q.rcode]) for q in truth)


def test_one_dns_event_per_query(dns_recording, dns_events):
    events = of_type(dns_events, "dns")
    assert sorted(map(_event_key, events)) == \
        sorted(map(_truth_key, dns_recording.truth.queries))


def test_question_and_response_code_of_each_query(dns_recording, dns_events):
    events = _by_key(dns_events)
    for q in dns_recording.truth.queries:
        e = events[_truth_key(q)]
        assert (get(e, "dns.question.name"), get(e, "dns.question.type"),
                get(e, "dns.question.class"), get(e, "dns.response_code")) == \
            (q.name, q.type, "IN", q.rcode), _truth_key(q)
        assert get(e, "status") == ("OK" if q.rcode == "NOERROR" else "Error"), _truth_key(q)
        assert get(e, "method") == "QUERY" and get(e, "dns.op_code") == "QUERY"
        assert get(e, "resource") == q.name


def test_answers_are_the_records_the_client_received(dns_recording, dns_events):
    events = _by_key(dns_events)
    for q in dns_recording.truth.queries:
        e = events[_truth_key(q)]
        want = [_answer_dict(a) for a in q.answers]
        got = [{k: a.get(k) for k in ("name", "type", "class", "ttl", "data", "preference")
                if k in a} for a in get(e, "dns.answers", [])]
        assert got == want, _truth_key(q)
        assert get(e, "dns.answers_count") == len(q.answers), _truth_key(q)
        resolved = [a.data for a in q.answers if a.type in ("A", "AAAA")]
        assert get(e, "dns.resolved_ip", []) == resolved, _truth_key(q)


def _answer_dict(a) -> dict:
    # Packetbeat prints the TTL as a string and adds the MX preference beside the data.
    d = {"name": a.name, "type": a.type, "class": "IN", "ttl": str(a.ttl), "data": a.data}
    if a.preference is not None:
        d["preference"] = a.preference
    return d


def test_byte_counts_are_the_message_sizes_on_the_wire(dns_recording, dns_events):
    """UDP: the DNS message; TCP: the message and its two-byte length prefix."""
    events = _by_key(dns_events)
    for q in dns_recording.truth.queries:
        e = events[_truth_key(q)]
        assert (get(e, "source.bytes"), get(e, "destination.bytes"),
                get(e, "network.bytes")) == (q.sent, q.received, q.sent + q.received), \
            _truth_key(q)


def test_endpoints_and_times(dns_recording, dns_events):
    span = capture_span(dns_recording.pcap)
    events = of_type(dns_events, "dns")
    assert events
    for e in events:
        check_loopback_transaction(e, "dns", dns_recording.truth.server_port, span,
                                   _event_key(e))


def _final_flows(events: list[dict], transport: str) -> list[dict]:
    return [e for e in of_type(events, "flow")
            if get(e, "flow.final") is True and get(e, "network.transport") == transport]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_one_final_flow_per_connection_or_socket(dns_recording, dns_events, transport):
    truth = dns_recording.truth
    clients = truth.udp_ports if transport == "udp" else set(truth.tcp_ports)
    conns = conversations(dns_recording.pcap, transport)
    assert {c.ports for c in conns} == {frozenset((p, truth.server_port)) for p in clients}
    flows = _final_flows(dns_events, transport)
    assert Counter(frozenset((get(f, "source.port"), get(f, "destination.port")))
                   for f in flows) == Counter(c.ports for c in conns)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_flow_packets_and_bytes_match_tshark(dns_recording, dns_events, transport):
    totals = frame_totals(dns_recording.pcap, transport)
    flows = _final_flows(dns_events, transport)
    assert flows
    for flow in flows:
        src, dst = get(flow, "source.port"), get(flow, "destination.port")
        sent, back = totals[(src, dst)], totals.get((dst, src), [0, 0])
        assert [get(flow, "source.packets"), get(flow, "source.bytes")] == sent, (src, dst)
        assert [get(flow, "destination.packets", 0), get(flow, "destination.bytes", 0)] \
            == back, (src, dst)
        assert get(flow, "network.packets") == sent[0] + back[0]
        assert get(flow, "network.bytes") == sent[1] + back[1]
