"""Real HTTP traffic to a real nginx, captured off loopback, replayed through `shardbeat
replay`: every request the client made is one `http` event with the URL, method, status,
ports and byte counts the client saw, and every TCP connection is one final flow whose
packet and byte counts are tshark's.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.integration.loopcapture import (capture_span, conversations, frame_totals,
                                           packet_fields)
from tests.integration.replaycli import check_loopback_transaction, get, of_type, timestamp_ns

pytestmark = pytest.mark.integration


def _params(x) -> str | None:
    """url.query as Packetbeat reports it: the query string's parameters, those of a
    form-urlencoded body replacing any of the same name, re-encoded with keys sorted (Go's
    url.Values.Encode)."""
    merged: dict[str, list[str]] = {}
    for source in (x.query, x.form):
        found: dict[str, list[str]] = {}
        for key, value in parse_qsl(source or "", keep_blank_values=True):
            found.setdefault(key, []).append(value)
        merged.update(found)
    return urlencode(sorted(merged.items()), doseq=True) or None


def _truth_key(x) -> tuple:
    return (x.client_port, x.method, x.path, _params(x), x.status)


def _event_key(e: dict) -> tuple:
    return (get(e, "client.port"), get(e, "http.request.method"), get(e, "url.path"),
            get(e, "url.query"), get(e, "http.response.status_code"))


def _summary(events: list[dict]) -> list[tuple]:
    return sorted(map(_event_key, events), key=repr)


def test_tshark_sees_every_request_and_response(http_recording):
    """The oracle agrees with the client before either is used to judge shardbeat."""
    truth = http_recording.truth
    as_http = (f"tcp.port=={truth.server_port},http",)
    seen = Counter()
    for port, methods, uris in packet_fields(http_recording.pcap, "http.request", "tcp.srcport",
                                             "http.request.method", "http.request.uri",
                                             decode_as=as_http):
        for method, uri in zip(methods.split(","), uris.split(",")):
            seen[(int(port), method, uri)] += 1
    made = Counter((x.client_port, x.method, x.path + (f"?{x.query}" if x.query else ""))
                   for x in truth.exchanges)
    assert seen == made
    answered = Counter()
    for port, codes in packet_fields(http_recording.pcap, "http.response", "tcp.dstport",
                                     "http.response.code", decode_as=as_http):
        for code in codes.split(","):
            answered[(int(port), int(code))] += 1
    assert answered == Counter((x.client_port, x.status) for x in truth.exchanges)


def test_one_http_event_per_request(http_recording, http_events):
    events = of_type(http_events, "http")
    assert len(events) == len(http_recording.truth.exchanges), _summary(events)


def test_events_carry_the_url_method_and_status_of_each_request(http_recording, http_events):
    events = of_type(http_events, "http")
    assert Counter(map(_event_key, events)) == \
        Counter(map(_truth_key, http_recording.truth.exchanges))


def test_keepalive_requests_are_reported_in_the_order_they_were_made(http_recording,
                                                                     http_events):
    truth = http_recording.truth
    sequential = {x.client_port for x in truth.exchanges if not x.pipelined}
    assert len(sequential) >= 2
    for port in sorted(sequential):
        made = [_truth_key(x) for x in truth.exchanges if x.client_port == port]
        events = [e for e in of_type(http_events, "http") if get(e, "client.port") == port]
        events.sort(key=lambda e: timestamp_ns(get(e, "event.start")))
        assert [_event_key(e) for e in events] == made, f"connection from port {port}"


def test_pipelined_requests_are_each_paired_with_their_response(http_recording, http_events):
    truth = http_recording.truth
    pipelined = [x for x in truth.exchanges if x.pipelined]
    assert len(pipelined) >= 3
    port = pipelined[0].client_port
    events = [e for e in of_type(http_events, "http") if get(e, "client.port") == port]
    assert Counter((*_event_key(e), get(e, "destination.bytes")) for e in events) == \
        Counter((*_truth_key(x), x.received) for x in pipelined)


def test_byte_counts_are_the_message_sizes_on_the_wire(http_recording, http_events):
    """source.bytes / destination.bytes are the raw request / response sizes, headers and
    body (chunked framing included), as the client wrote and read them."""
    events = of_type(http_events, "http")
    got = Counter((*_event_key(e), get(e, "source.bytes"), get(e, "destination.bytes"),
                   get(e, "network.bytes")) for e in events)
    want = Counter((*_truth_key(x), x.sent, x.received, x.sent + x.received)
                   for x in http_recording.truth.exchanges)
    assert got == want


def test_endpoints_times_and_status(http_recording, http_events):
    truth = http_recording.truth
    span = capture_span(http_recording.pcap)
    events = of_type(http_events, "http")
    assert events
    for e in events:
        where = _event_key(e)
        check_loopback_transaction(e, "http", truth.server_port, span, where)
        assert get(e, "client.port") in truth.client_ports, where
        assert get(e, "network.transport") == "tcp", where
        code = get(e, "http.response.status_code")
        assert get(e, "status") == ("Error" if code >= 400 else "OK"), where
        assert get(e, "method") == get(e, "http.request.method"), where
        assert get(e, "path") == get(e, "url.path"), where


def _final_tcp_flows(events: list[dict]) -> list[dict]:
    return [e for e in of_type(events, "flow")
            if get(e, "flow.final") is True and get(e, "network.transport") == "tcp"]


def test_one_final_flow_per_tcp_connection(http_recording, http_events):
    flows = _final_tcp_flows(http_events)
    conns = conversations(http_recording.pcap, "tcp")
    assert len(conns) == len(http_recording.truth.client_ports)
    assert Counter(frozenset((get(f, "source.port"), get(f, "destination.port")))
                   for f in flows) == Counter(c.ports for c in conns)


def test_flow_packets_and_bytes_match_tshark(http_recording, http_events):
    totals = frame_totals(http_recording.pcap, "tcp")
    flows = _final_tcp_flows(http_events)
    assert flows
    for flow in flows:
        src, dst = get(flow, "source.port"), get(flow, "destination.port")
        sent, back = totals[(src, dst)], totals.get((dst, src), [0, 0])
        assert [get(flow, "source.packets"), get(flow, "source.bytes")] == sent, (src, dst)
        assert [get(flow, "destination.packets", 0), get(flow, "destination.bytes", 0)] \
            == back, (src, dst)
        assert get(flow, "network.packets") == sent[0] + back[0]
        assert get(flow, "network.bytes") == sent[1] + back[1]
