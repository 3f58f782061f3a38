"""DNS events from Packetbeat's own captures, through the whole pipeline.

Expected values are Packetbeat's (packetbeat/tests/system/test_0032_dns.py asserts one
event per capture and the values marked "Packetbeat") and tshark's: what `tshark -V` /
`tshark -T fields` decodes from the same captures (marked "tshark"). A last test re-runs
tshark, where it is installed, and compares every answer of every DNS capture.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from shardbeat.worker import replay_events
from tests.conformance.pcaps import pcap

pytestmark = pytest.mark.conformance

GOOGLE_IPS = ["62.214.62.249", "62.214.62.216", "62.214.62.223", "62.214.62.227",
              "62.214.62.219", "62.214.62.208", "62.214.62.234", "62.214.62.240",
              "62.214.62.245", "62.214.62.241", "62.214.62.251", "62.214.62.212",
              "62.214.62.229", "62.214.62.238", "62.214.62.230", "62.214.62.218"]  # tshark


def dns_event(capture: str, *overrides: str) -> dict:
    events = [e for e in replay_events(str(pcap(capture)), list(overrides))
              if e.get("type") == "dns"]
    assert len(events) == 1  # Packetbeat: one transaction per capture
    return events[0]


def test_a_query_to_google_com():
    o = dns_event("dns_google_com.pcap")
    # Packetbeat
    assert o["network"]["type"] == "ipv4" and o["network"]["protocol"] == "dns"
    assert o["network"]["transport"] == "udp" and o["network"]["bytes"] == 312
    assert o["network"]["community_id"].startswith("1:")
    assert o["event"]["start"] == "2015-08-27T08:00:55.638957Z"
    assert o["event"]["end"] == "2015-08-27T08:00:55.700739Z"
    assert o["event"]["duration"] == 61782000
    assert o["client"]["ip"] == o["source"]["ip"] == "192.168.238.68"
    assert o["client"]["port"] == o["source"]["port"] == 60893
    assert o["source"]["bytes"] == 28 and o["destination"]["bytes"] == 284
    assert o["server"]["ip"] == o["destination"]["ip"] == "192.168.238.1"
    assert o["server"]["port"] == o["destination"]["port"] == 53
    assert o["method"] == "QUERY" and o["query"] == "class IN, type A, google.com"
    assert o["dns"]["question"]["type"] == "A" and o["status"] == "OK"
    assert len(o["dns"]["answers"]) == 16
    assert all(x["type"] == "A" for x in o["dns"]["answers"])
    # tshark: id 0x4807, recursion desired and available, 16 A records with TTL 126
    assert o["dns"]["id"] == 0x4807 and o["dns"]["header_flags"] == ["RD", "RA"]
    assert [x["data"] for x in o["dns"]["answers"]] == GOOGLE_IPS
    assert {(x["name"], x["ttl"]) for x in o["dns"]["answers"]} == {("google.com", "126")}
    assert o["dns"]["resolved_ip"] == GOOGLE_IPS
    assert o["related"]["ip"] == ["192.168.238.68", "192.168.238.1", *GOOGLE_IPS]
    assert o["dns"]["question"]["registered_domain"] == "google.com"
    assert o["dns"]["question"]["top_level_domain"] == "com"
    assert "error" not in o and o["@timestamp"] == "2015-08-27T08:00:55.638Z"


def test_a_name_that_does_not_exist():
    o = dns_event("dns_not_found.pcap")
    # Packetbeat
    assert o["network"]["transport"] == "udp" and o["method"] == "QUERY"
    assert o["query"] == "class IN, type A, nothing.elastic.co"
    assert o["dns"]["question"]["type"] == "A" and o["status"] == "Error"
    assert o["dns"]["response_code"] == "NXDOMAIN"
    assert o["dns"]["answers_count"] == 0 and o["dns"]["authorities_count"] == 1
    assert "authorities" not in o["dns"]
    # tshark: UDP payloads of 44 - 8 and 129 - 8 bytes
    assert (o["source"]["bytes"], o["destination"]["bytes"]) == (36, 121)
    assert o["dns"]["question"]["subdomain"] == "nothing"


def test_include_authorities():
    o = dns_event("dns_not_found.pcap", "shardbeat.protocols.dns.include_authorities=true")
    assert o["dns"]["authorities_count"] == 1  # Packetbeat
    (soa,) = o["dns"]["authorities"]
    # tshark: elastic.co SOA, TTL 838, mname ns-1183.awsdns-19.org, rname
    # awsdns-hostmaster.amazon.com
    assert (soa["name"], soa["type"], soa["class"], soa["ttl"]) == ("elastic.co", "SOA", "IN",
                                                                    "838")
    assert soa["data"] == "ns-1183.awsdns-19.org"
    assert soa["rname"] == "awsdns-hostmaster.amazon.com"


def test_mx():
    o = dns_event("dns_mx.pcap")
    assert o["query"] == "class IN, type MX, elastic.co"  # Packetbeat
    assert o["dns"]["question"]["type"] == "MX" and o["status"] == "OK"
    # tshark: five MX answers in this order, four NS authorities
    assert [(x["preference"], x["data"]) for x in o["dns"]["answers"]] == [
        (1, "aspmx.l.google.com"), (10, "alt3.aspmx.l.google.com"),
        (10, "alt4.aspmx.l.google.com"), (5, "alt1.aspmx.l.google.com"),
        (5, "alt2.aspmx.l.google.com")]
    assert o["dns"]["authorities_count"] == 4 and "resolved_ip" not in o["dns"]


def test_ns():
    o = dns_event("dns_ns.pcap")
    assert o["query"] == "class IN, type NS, elastic.co"  # Packetbeat
    assert o["dns"]["question"]["type"] == "NS" and o["status"] == "OK"
    # tshark
    assert [x["data"] for x in o["dns"]["answers"]] == [
        "ns-1183.awsdns-19.org", "ns-2007.awsdns-58.co.uk", "ns-66.awsdns-08.com",
        "ns-835.awsdns-40.net"]
    assert {x["ttl"] for x in o["dns"]["answers"]} == {"21599"}


def test_txt():
    o = dns_event("dns_txt.pcap")
    # Packetbeat
    assert o["destination"]["ip"] == o["server"]["ip"] == "8.8.8.8"
    assert o["query"] == "class IN, type TXT, elastic.co" and o["status"] == "OK"
    assert len(o["dns"]["answers"]) == 2
    assert all(x["type"] == "TXT" for x in o["dns"]["answers"])
    assert "request" not in o and "response" not in o
    # tshark
    assert [x["data"] for x in o["dns"]["answers"]] == [
        "globalsign-domain-verification=l2wl8KOddZFyKJFy_NG1ZUFdWDEIR3dT3Gk2O0_9wS",
        "v=spf1 include:_spf.google.com include:support.zendesk.com include:mail.zendesk.com"
        " include:mktomail.com include:servers.mcsv.net ?all"]


def test_send_request_and_response():
    o = dns_event("dns_txt.pcap", "shardbeat.protocols.dns.send_request=true",
                  "shardbeat.protocols.dns.send_response=true")
    # Packetbeat
    assert "elastic.co" in o["request"]
    assert "include:_spf.google.com" in o["response"]
    assert o["request"].startswith("ID 6075; QR query; OPCODE QUERY; FLAGS rd; RCODE NOERROR")


def test_include_additionals():
    o = dns_event("dns_additional.pcap", "shardbeat.protocols.dns.include_additionals=true")
    assert o["dns"]["additionals_count"] == 1 and len(o["dns"]["additionals"]) == 1
    (extra,) = o["dns"]["additionals"]
    # tshark: ns.heise.de A 193.99.145.37, TTL 1298; the only answer is 193.99.144.80
    assert (extra["name"], extra["type"], extra["ttl"], extra["data"]) == \
        ("ns.heise.de", "A", "1298", "193.99.145.37")
    assert o["dns"]["resolved_ip"] == ["193.99.144.80"]
    assert o["dns"]["authorities_count"] == 5


def test_a_zone_transfer_over_tcp():
    o = dns_event("dns_tcp_axfr.pcap", "shardbeat.protocols.dns.send_request=true",
                  "shardbeat.protocols.dns.send_response=true")
    # Packetbeat
    assert o["network"]["transport"] == "tcp" and o["method"] == "QUERY"
    assert o["query"] == "class IN, type AXFR, etas.com"
    assert o["dns"]["question"]["type"] == "AXFR" and o["status"] == "OK"
    assert len(o["dns"]["answers"]) == 4
    assert all("etas.com" in x["name"] for x in o["dns"]["answers"])
    # tshark: SOA, NS, A 1.1.1.1, SOA; TCP payloads of 30 and 197 bytes (prefix included,
    # as Packetbeat counts it)
    assert [(x["name"], x["type"]) for x in o["dns"]["answers"]] == [
        ("etas.com", "SOA"), ("etas.com", "NS"), ("welcome.etas.com", "A"),
        ("etas.com", "SOA")]
    assert o["dns"]["answers"][0]["rname"] == "hostmaster"
    assert (o["source"]["bytes"], o["destination"]["bytes"]) == (30, 197)
    assert (o["source"]["ip"], o["source"]["port"]) == ("1.1.1.2", 1042)


def test_edns_with_dnssec_records():
    o = dns_event("dns_udp_edns_ds.pcap")
    # Packetbeat
    assert o["query"] == "class IN, type DS, ietf.org" and o["status"] == "OK"
    assert o["dns"]["question"]["type"] == "DS"
    assert o["dns"]["opt"]["do"] is True and o["dns"]["opt"]["version"] == "0"
    assert o["dns"]["opt"]["udp_size"] == 4000 and o["dns"]["opt"]["ext_rcode"] == "NOERROR"
    assert len(o["dns"]["answers"]) == 3
    assert all("ietf.org" in x["name"] for x in o["dns"]["answers"])
    # tshark: two DS with key id 0xb212 and the digests below, then an RRSIG; one OPT in
    # each message, so no other additionals
    ds1, ds2, sig = o["dns"]["answers"]
    assert (ds1["key_tag"], ds1["digest_type"]) == ("45586", "SHA256")
    assert ds1["data"] == "67FCD7E0B9E0366309F3B6F7476DFF931D5226EDC5348CD80FD82A081DFCF6EE"
    assert ds2["data"] == "D0FDF996D1AF2CCDBDC942B02CB02D379629E20B"
    assert sig["type"] == "RRSIG" and sig["type_covered"] == "DS"
    assert o["dns"]["additionals_count"] == 0 and "DO" in o["dns"]["header_flags"]
    assert (o["source"]["bytes"], o["destination"]["bytes"]) == (37, 284)


DNS_CAPTURES = ["dns_additional.pcap", "dns_google_com.pcap", "dns_mx.pcap",
                "dns_not_found.pcap", "dns_ns.pcap", "dns_tcp_axfr.pcap", "dns_txt.pcap",
                "dns_udp_edns_ds.pcap"]
TSHARK_TYPES = {"1": "A", "2": "NS", "6": "SOA", "15": "MX", "16": "TXT", "43": "DS",
                "46": "RRSIG", "41": "OPT"}


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("capture", DNS_CAPTURES)
def test_every_record_matches_tshark(capture):
    path = pcap(capture)
    fields = ["dns.id", "dns.resp.name", "dns.resp.type", "dns.resp.ttl"]
    out = subprocess.run(
        ["tshark", "-r", str(path), "-Y", "dns.flags.response == 1", "-T", "fields",
         "-E", "separator=|", *[arg for f in fields for arg in ("-e", f)]],
        capture_output=True, text=True, check=True, timeout=60).stdout
    (line,) = out.splitlines()
    msg_id, names, types, ttls = line.split("|")
    # tshark gives the OPT pseudo-record no TTL; Packetbeat lists no OPT record.
    records = [(n, TSHARK_TYPES[t]) for n, t in zip(names.split(","), types.split(","))
               if t != "41"]
    ttls = ttls.split(",")
    assert len(ttls) == len(records)
    expected = [(n, t, ttl) for (n, t), ttl in zip(records, ttls)]
    o = dns_event(capture, "shardbeat.protocols.dns.include_authorities=true",
                  "shardbeat.protocols.dns.include_additionals=true")
    published = [(r["name"], r["type"], r["ttl"]) for key in ("answers", "authorities",
                                                                "additionals")
                 for r in o["dns"].get(key, [])]
    assert published == expected and o["dns"]["id"] == int(msg_id, 16)


# Packetbeat's golden event for this capture (packetbeat/tests/system/golden/
# http_basic_auth-expected.json), flattened as that file is; @metadata left out.
GOLDEN_BASIC_AUTH_DNS = {
    "client.bytes": 33, "client.ip": "172.31.98.49", "client.port": 51958,
    "destination.bytes": 61, "destination.ip": "8.8.8.8", "destination.port": 53,
    "dns.additionals_count": 0,
    "dns.answers": [{"class": "IN", "data": "2606:2800:220:1:248:1893:25c8:1946",
                     "name": "www.example.com", "ttl": "21353", "type": "AAAA"}],
    "dns.answers_count": 1, "dns.authorities_count": 0,
    "dns.flags.authentic_data": False, "dns.flags.authoritative": False,
    "dns.flags.checking_disabled": False, "dns.flags.recursion_available": True,
    "dns.flags.recursion_desired": True, "dns.flags.truncated_response": False,
    "dns.header_flags": ["RD", "RA"], "dns.id": 42715, "dns.op_code": "QUERY",
    "dns.question.class": "IN", "dns.question.etld_plus_one": "example.com",
    "dns.question.name": "www.example.com", "dns.question.registered_domain": "example.com",
    "dns.question.subdomain": "www", "dns.question.top_level_domain": "com",
    "dns.question.type": "AAAA", "dns.resolved_ip": ["2606:2800:220:1:248:1893:25c8:1946"],
    "dns.response_code": "NOERROR", "dns.type": "answer",
    "event.category": ["network"], "event.dataset": "dns", "event.duration": 20690000,
    "event.kind": "event", "event.type": ["connection", "protocol"], "method": "QUERY",
    "network.bytes": 94, "network.community_id": "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y=",
    "network.protocol": "dns", "network.transport": "udp", "network.type": "ipv4",
    "query": "class IN, type AAAA, www.example.com",
    "related.ip": ["172.31.98.49", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946"],
    "resource": "www.example.com", "server.bytes": 61, "server.ip": "8.8.8.8",
    "server.port": 53, "source.bytes": 33, "source.ip": "172.31.98.49", "source.port": 51958,
    "status": "OK", "type": "dns",
}


def flatten(obj: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_the_dns_event_of_packetbeats_golden_file():
    flat = flatten(dns_event("http_basicauth.pcap"))
    assert {k: flat.get(k) for k in GOLDEN_BASIC_AUTH_DNS} == GOLDEN_BASIC_AUTH_DNS
    assert {k for k in flat if k.startswith("dns.")} == \
        {k for k in GOLDEN_BASIC_AUTH_DNS if k.startswith("dns.")}
