"""DNS over UDP: pairing, the event Packetbeat 8.x publishes, and every unhappy path."""

from __future__ import annotations

import pytest

from shardbeat.protocols.base import Direction
from shardbeat.protocols.dns.transactions import DUPLICATE_QUERY, NO_RESPONSE, \
    ORPHANED_RESPONSE
from tests.protocols.dns_messages import AA, AAAA, AD, CD, NS_, QR, RA, RD, SOA, T0, TC, \
    Harness, a_answer, message, name, opt, option, pointer, query, response, rr

TO_SERVER, TO_CLIENT = Direction.TO_SERVER, Direction.TO_CLIENT
MS = 1_000_000


def exchange(q: bytes, r: bytes, **config) -> tuple[dict, Harness]:
    h = Harness(**config)
    h.datagram(q, TO_SERVER, T0)
    h.datagram(r, TO_CLIENT, T0 + 20 * MS)
    assert len(h.events) == 1
    return h.events[0], h


def test_a_paired_query_publishes_one_complete_event():
    q = query("www.example.com", AAAA, msg_id=42715)
    r = response("www.example.com", AAAA, msg_id=42715,
                 answers=[rr(pointer(12), AAAA, bytes.fromhex("26062800022000010248189325c81946"),
                             ttl=21353)])
    event, h = exchange(q, r)
    assert (event["type"], event["status"], event["method"]) == ("dns", "OK", "QUERY")
    assert event["query"] == "class IN, type AAAA, www.example.com"
    assert event["resource"] == "www.example.com"
    assert event["source"] == {"ip": "10.0.0.1", "port": 40000, "bytes": len(q)}
    assert event["destination"] == {"ip": "10.0.0.53", "port": 53, "bytes": len(r)}
    assert event["network"]["bytes"] == len(q) + len(r)
    assert event["network"]["transport"] == "udp" and event["network"]["protocol"] == "dns"
    assert event["event"]["duration"] == 20 * MS
    assert event["related"]["ip"] == ["10.0.0.1", "10.0.0.53",
                                      "2606:2800:220:1:248:1893:25c8:1946"]
    assert "error" not in event
    assert event["dns"] == {
        "type": "answer", "id": 42715, "op_code": "QUERY",
        "flags": {"authoritative": False, "truncated_response": False,
                  "recursion_desired": True, "recursion_available": True,
                  "authentic_data": False, "checking_disabled": False},
        "response_code": "NOERROR", "header_flags": ["RD", "RA"],
        "question": {"name": "www.example.com", "type": "AAAA", "class": "IN",
                     "etld_plus_one": "example.com", "registered_domain": "example.com",
                     "top_level_domain": "com", "subdomain": "www"},
        "answers_count": 1,
        "answers": [{"name": "www.example.com", "type": "AAAA", "class": "IN",
                     "ttl": "21353", "data": "2606:2800:220:1:248:1893:25c8:1946"}],
        "resolved_ip": ["2606:2800:220:1:248:1893:25c8:1946"],
        "authorities_count": 0, "additionals_count": 0,
    }


def test_every_header_flag_is_reported():
    flags = QR | AA | TC | RD | RA | AD | CD
    event, _ = exchange(query(), response(flags=flags))
    assert all(event["dns"]["flags"].values())
    assert event["dns"]["header_flags"] == ["AA", "TC", "RD", "RA", "AD", "CD"]


@pytest.mark.parametrize("rcode, text", [(1, "FORMERR"), (2, "SERVFAIL"), (3, "NXDOMAIN"),
                                         (4, "NOTIMP"), (5, "REFUSED"), (9, "NOTAUTH"),
                                         (15, "Unknown 15")])
def test_a_response_code_other_than_noerror_is_an_error(rcode, text):
    event, _ = exchange(query(), response(rcode=rcode))
    assert event["status"] == "Error" and event["dns"]["response_code"] == text
    assert "error" not in event


@pytest.mark.parametrize("opcode, text", [(4, "NOTIFY"), (5, "UPDATE"), (3, "3")])
def test_op_codes(opcode, text):
    event, _ = exchange(query(flags=opcode << 11), response(flags=QR | opcode << 11))
    assert event["method"] == text and event["dns"]["op_code"] == text


def nxdomain() -> bytes:
    soa = name("ns1.example.com") + name("hostmaster.example.com") + bytes(20)
    return response("nothing.example.com", rcode=3,
                    authorities=[rr(b"\x07example\x03com\x00", SOA, soa)],
                    additionals=[opt(512)])


def test_authorities_are_counted_and_listed_only_when_asked():
    event, _ = exchange(query("nothing.example.com", additionals=[opt()]), nxdomain())
    assert event["dns"]["authorities_count"] == 1 and "authorities" not in event["dns"]
    event, _ = exchange(query("nothing.example.com", additionals=[opt()]), nxdomain(),
                        include_authorities=True)
    (auth,) = event["dns"]["authorities"]
    assert (auth["name"], auth["type"], auth["data"]) == ("example.com", "SOA",
                                                          "ns1.example.com")


def test_additionals_leave_out_the_opt_record_in_count_and_list():
    extra = rr("ns1.example.com", 1, bytes([192, 0, 2, 53]))
    r = response(answers=[rr(pointer(12), NS_, name("ns1.example.com"))],
                 additionals=[extra, opt()])
    event, _ = exchange(query(additionals=[opt()]), r)
    assert event["dns"]["additionals_count"] == 1 and "additionals" not in event["dns"]
    event, _ = exchange(query(additionals=[opt()]), r, include_additionals=True)
    assert [a["data"] for a in event["dns"]["additionals"]] == ["192.0.2.53"]
    assert "resolved_ip" not in event["dns"]  # only answers resolve


def test_edns_fields_and_options():
    options = option(3, b"ns-1") + option(8, bytes([0, 1, 24, 0, 192, 0, 2])) + \
        option(10, bytes(range(8))) + option(65001, b"\x01")
    r = response(additionals=[opt(4000, do=True, options=options)])
    event, _ = exchange(query(additionals=[opt(do=True)]), r)
    assert event["dns"]["opt"] == {"version": "0", "do": True, "ext_rcode": "NOERROR",
                                   "udp_size": 4000, "nsid": b"ns-1".hex(),
                                   "subnet": "192.0.2.0/24/0",
                                   "cookie": "0001020304050607", "local": "65001:0x01"}
    assert event["dns"]["header_flags"][-1] == "DO"


def test_an_extended_rcode_is_named():
    r = response(additionals=[opt(ext_rcode=1, version=1)])
    event, _ = exchange(query(additionals=[opt()]), r)
    assert event["dns"]["opt"]["ext_rcode"] == "BADSIG" and event["dns"]["opt"]["version"] == "1"


def test_edns_mismatches_are_noted():
    event, _ = exchange(query(additionals=[opt()]), response())
    assert event["error"]["message"] == "Responder does not support EDNS"
    event, _ = exchange(query(), response(additionals=[opt()]))
    assert event["error"]["message"] == "Unexpected EDNS answer"


def test_a_large_response_without_edns_is_noted():
    answers = [a_answer(f"192.0.2.{i}") for i in range(40)]
    event, _ = exchange(query(), response(answers=answers))
    assert event["error"]["message"] == "Response: Non-EDNS packet has size greater than 512"
    assert event["status"] == "OK"


def test_an_unanswered_query_is_published_after_the_timeout():
    h = Harness(transaction_timeout="5s")
    q = query("slow.example.com")
    h.datagram(q, TO_SERVER, T0)
    h.parser.expire(h.state, T0 + 4 * 10**9)
    assert h.events == []
    h.parser.expire(h.state, T0 + 5 * 10**9)
    (event,) = h.events
    assert event["status"] == "Error" and event["error"]["message"] == NO_RESPONSE
    assert event["dns"]["type"] == "query" and event["dns"]["answers_count"] == 0
    assert event["source"]["bytes"] == len(q) and "bytes" not in event["destination"]
    assert "end" not in event["event"] and event["query"] == "class IN, type A, slow.example.com"
    assert h.counters.get("dns_unmatched_requests") == 1
    h.datagram(response("slow.example.com"), TO_CLIENT, T0 + 6 * 10**9)
    assert h.events[1]["error"]["message"] == ORPHANED_RESPONSE


def test_close_publishes_what_is_pending():
    h = Harness()
    h.datagram(query(msg_id=1), TO_SERVER)
    h.datagram(query(msg_id=2), TO_SERVER)
    h.close()
    assert [e["dns"]["id"] for e in h.events] == [1, 2]
    assert all(e["error"]["message"] == NO_RESPONSE for e in h.events)
    h.close()
    assert len(h.events) == 2


def test_a_response_without_a_query_is_published_alone():
    h = Harness()
    r = response("example.com", msg_id=9, answers=[a_answer("192.0.2.1")])
    h.datagram(r, TO_CLIENT, T0)
    (event,) = h.events
    assert event["status"] == "Error" and event["error"]["message"] == ORPHANED_RESPONSE
    assert event["dns"]["type"] == "answer" and event["dns"]["resolved_ip"] == ["192.0.2.1"]
    assert event["source"] == {"ip": "10.0.0.1", "port": 40000}
    assert event["destination"]["bytes"] == len(r)
    assert h.counters.get("dns_unmatched_responses") == 1


def test_a_second_query_with_the_same_id_closes_the_first():
    h = Harness()
    h.datagram(query("first.example.com"), TO_SERVER, T0)
    h.datagram(query("second.example.com"), TO_SERVER, T0 + MS)
    (first,) = h.events
    assert first["resource"] == "first.example.com"
    assert first["error"]["message"] == DUPLICATE_QUERY and first["status"] == "Error"
    h.datagram(response("second.example.com"), TO_CLIENT, T0 + 2 * MS)
    assert h.events[1]["resource"] == "second.example.com" and h.events[1]["status"] == "OK"
    assert h.events[1]["event"]["duration"] == MS


def test_queries_pair_by_id_whatever_the_order():
    h = Harness()
    for i in (1, 2, 3):
        h.datagram(query(f"h{i}.example.com", msg_id=i), TO_SERVER)
    for i in (3, 1, 2):
        h.datagram(response(f"h{i}.example.com", msg_id=i), TO_CLIENT)
    assert [(e["dns"]["id"], e["resource"], e["status"]) for e in h.events] == \
        [(3, "h3.example.com", "OK"), (1, "h1.example.com", "OK"), (2, "h2.example.com", "OK")]


def test_a_query_sent_by_the_server_side_has_it_as_source():
    h = Harness()
    h.datagram(query("peer.example.com", msg_id=5), TO_CLIENT, T0)
    h.datagram(response("peer.example.com", msg_id=5), TO_SERVER, T0 + MS)
    (event,) = h.events
    assert event["status"] == "OK"
    assert event["source"]["ip"] == "10.0.0.53" and event["destination"]["ip"] == "10.0.0.1"


def test_a_response_that_cannot_be_decoded_closes_its_query_with_a_note():
    h = Harness()
    h.datagram(query(msg_id=77), TO_SERVER)
    bad = message(77, QR, questions=[b"\xc0\x0c\x00\x01\x00\x01"])  # name points at itself
    h.datagram(bad, TO_CLIENT)
    (event,) = h.events
    assert event["error"]["message"] == \
        "Response: Message's data could not be decoded as DNS"
    assert h.counters.get("dns_parse_errors") == 1 and h.state.pending == {}


def test_garbage_and_bare_headers_are_counted_and_dropped():
    h = Harness()
    for junk in (b"", b"\x01", b"GET / HTTP/1.1\r\n\r\n", message(1, 0, counts=(0, 0, 0, 0))):
        h.datagram(junk, TO_SERVER)
    assert h.events == [] and h.counters.get("dns_parse_errors") == 4


def test_a_response_cut_mid_record_keeps_its_answers_and_says_so():
    r = response(answers=[a_answer("192.0.2.1"), a_answer("192.0.2.2")])
    event, h = exchange(query(), r[:-3])
    assert event["dns"]["resolved_ip"] == ["192.0.2.1"]
    assert event["error"]["message"] == "Response: Message's data is incomplete"
    assert h.counters.get("dns_incomplete_messages") == 1


def test_send_request_and_response_render_the_messages():
    r = response("example.com", 15, answers=[rr(pointer(12), 15, b"\x00\x0a" + name("mx.e.com"))],
                 additionals=[opt()])
    event, _ = exchange(query("example.com", 15, additionals=[opt()]), r,
                        send_request=True, send_response=True)
    assert event["request"] == ("ID 4660; QR query; OPCODE QUERY; FLAGS rd; RCODE NOERROR; "
                                "QUESTION class IN, type MX, example.com; ADDITIONAL ")
    assert event["response"] == ("ID 4660; QR response; OPCODE QUERY; FLAGS rd ra; "
                                 "RCODE NOERROR; QUESTION class IN, type MX, example.com; "
                                 "ANSWER mx.e.com; ADDITIONAL ")
    plain, _ = exchange(query(), response())
    assert "request" not in plain and "response" not in plain


def test_pending_queries_per_flow_are_capped():
    h = Harness(max_pending_transactions=2)
    for i in range(3):
        h.datagram(query(msg_id=i), TO_SERVER, T0 + i)
    (evicted,) = h.events
    assert evicted["dns"]["id"] == 0 and evicted["error"]["message"] == NO_RESPONSE
    assert h.counters.get("dns_pending_evicted") == 1 and len(h.state.pending) == 2


def test_a_query_for_the_root_and_a_chaos_class_query():
    event, _ = exchange(query(".", NS_), response(".", NS_))
    assert event["dns"]["question"]["name"] == "." and event["resource"] == "."
    chaos = message(1, RD, questions=[name("version.bind") + b"\x00\x10\x00\x03"])
    reply = message(1, QR, questions=[name("version.bind") + b"\x00\x10\x00\x03"])
    event, _ = exchange(chaos, reply)
    assert event["query"] == "class CH, type TXT, version.bind"



def _udp_packet(src: tuple[bytes, int], dst: tuple[bytes, int], payload: bytes, ts: int):
    from shardbeat.decode.packet import Packet

    pkt = Packet()
    pkt.ts, pkt.proto, pkt.payload = ts, 17, payload
    (pkt.src_ip, pkt.src_port), (pkt.dst_ip, pkt.dst_port) = src, dst
    return pkt


def test_the_dispatcher_hands_datagrams_whole_and_drops_a_flow_once_answered():
    """Through the UDP dispatcher (the parser's `datagram` route): the same event as `feed`
    gives, the answered lookup's flow gone at once, an unanswered one kept to time out."""
    from shardbeat.streams.config import UdpConfig
    from shardbeat.streams.udp import UdpDispatcher
    from tests.protocols.dns_messages import CLIENT, SERVER

    h = Harness()
    udp = UdpDispatcher({53: h.parser}, UdpConfig(), h.counters)
    q = query("www.example.com", AAAA, msg_id=7)
    r = response("www.example.com", AAAA, msg_id=7,
                 answers=[rr(pointer(12), AAAA, bytes(16))])
    udp.on_packet(_udp_packet(CLIENT, SERVER, q, T0))
    assert len(udp) == 1
    udp.on_packet(_udp_packet(SERVER, CLIENT, r, T0 + 20 * MS))
    assert len(udp) == 0
    want, _ = exchange(q, r)
    assert h.events == [want]
    udp.on_packet(_udp_packet(CLIENT, SERVER, query(msg_id=8), T0))
    assert len(udp) == 1
    udp.flush(T0 + 5 * 10**9)
    assert h.events[-1]["error"]["message"] == NO_RESPONSE and len(udp) == 0
