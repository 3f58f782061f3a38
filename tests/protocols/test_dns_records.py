"""Each record type's `data` and extra keys, as Packetbeat 8.x publishes them."""

from __future__ import annotations

import base64
import calendar
import importlib.util
import struct

import pytest

from shardbeat.protocols.base import Direction
from shardbeat.protocols.dns.domain import question_domain
from tests.protocols.dns_messages import AAAA, CNAME, MX, NS_, PTR, SOA, SRV, TXT, Harness, \
    name, pointer, query, response, rr

DS, RRSIG, NSEC, DNSKEY, NSEC3, NSEC3PARAM, CAA, HINFO, DNAME = 43, 46, 47, 48, 50, 51, 257, \
    13, 39


def answer(rtype: int, rdata: bytes, qname: str = "example.com", **config) -> dict:
    h = Harness(**config)
    h.datagram(query(qname, rtype), Direction.TO_SERVER)
    h.datagram(response(qname, rtype, answers=[rr(pointer(12), rtype, rdata, ttl=3600)]),
               Direction.TO_CLIENT)
    (event,) = h.events
    (ans,) = event["dns"]["answers"]
    assert ans["name"] == qname and ans["class"] == "IN" and ans["ttl"] == "3600"
    return ans


def test_a_and_aaaa_addresses():
    assert answer(1, bytes([192, 0, 2, 7]))["data"] == "192.0.2.7"
    v6 = bytes.fromhex("20010db8000000000000000000000001")
    assert answer(AAAA, v6) == {"name": "example.com", "type": "AAAA", "class": "IN",
                                "ttl": "3600", "data": "2001:db8::1"}


def test_an_ipv4_mapped_aaaa_prints_as_go_prints_it():
    mapped = bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1])
    assert answer(AAAA, mapped)["data"] == "192.0.2.1"


@pytest.mark.parametrize("rtype", [CNAME, NS_, PTR])
def test_single_name_types_lose_the_trailing_dot(rtype):
    assert answer(rtype, name("target.example.net"))["data"] == "target.example.net"


def test_a_compressed_name_in_rdata_is_expanded():
    # "mail" + pointer to the question's "example.com".
    assert answer(CNAME, b"\x04mail" + pointer(12))["data"] == "mail.example.com"


def test_mx_has_preference_and_exchange():
    ans = answer(MX, struct.pack("!H", 10) + name("mx1.example.com"))
    assert ans["data"] == "mx1.example.com" and ans["preference"] == 10


def test_soa_fields():
    rdata = name("ns1.example.com") + name("hostmaster.example.com") + \
        struct.pack("!5I", 2024010101, 7200, 900, 1209600, 300)
    ans = answer(SOA, rdata)
    assert ans["data"] == "ns1.example.com" and ans["rname"] == "hostmaster.example.com"
    assert (ans["serial"], ans["refresh"], ans["retry"], ans["expire"], ans["minimum"]) == \
        (2024010101, 7200, 900, 1209600, 300)


def test_srv_fields():
    ans = answer(SRV, struct.pack("!HHH", 10, 60, 5060) + name("sip.example.com"),
                 qname="_sip._udp.example.com")
    assert (ans["data"], ans["priority"], ans["weight"], ans["port"]) == \
        ("sip.example.com", 10, 60, 5060)


def test_txt_strings_are_joined_with_spaces_and_escaped():
    rdata = b"\x07v=spf1 " + b'\x08say "hi"' + b"\x03a\\\x01"
    assert answer(TXT, rdata)["data"] == 'v=spf1  say \\"hi\\" a\\\\\\001'


def test_ds_digest_is_upper_hex_with_names_for_codes():
    ans = answer(DS, struct.pack("!HBB", 45586, 5, 2) + bytes.fromhex("67fcd7e0"))
    assert ans["data"] == "67FCD7E0" and ans["key_tag"] == "45586"
    assert ans["algorithm"] == "RSASHA1" and ans["digest_type"] == "SHA256"


def test_dnskey_key_is_base64():
    key = bytes(range(20))
    ans = answer(DNSKEY, struct.pack("!HBB", 257, 3, 8) + key)
    assert ans["data"] == base64.b64encode(key).decode()
    assert (ans["flags"], ans["protocol"], ans["algorithm"]) == ("257", "3", "RSASHA256")


def test_rrsig_fields():
    expiration = calendar.timegm((2013, 2, 7, 15, 49, 24))
    inception = calendar.timegm((2013, 1, 17, 14, 49, 24))
    sig = b"\x01\x02\x03"
    rdata = struct.pack("!HBBIIIH", 43, 7, 2, 86400, expiration, inception, 41790) + \
        name("org") + sig
    ans = answer(RRSIG, rdata)
    assert ans["data"] == base64.b64encode(sig).decode()
    assert (ans["type_covered"], ans["algorithm"], ans["labels"], ans["original_ttl"]) == \
        ("DS", "RSASHA1-NSEC3-SHA1", "2", "86400")
    assert (ans["expiration"], ans["inception"]) == ("20130207154924", "20130117144924")
    assert (ans["key_tag"], ans["signer_name"]) == ("41790", "org")


def test_nsec_keeps_its_next_name_dot_and_lists_the_types():
    # Window 0: A(1) NS(2) SOA(6) MX(15) RRSIG(46) NSEC(47); window 1: CAA(257).
    bits = bytearray(6)
    for t in (1, 2, 6, 15, 46, 47):
        bits[t // 8] |= 0x80 >> (t % 8)
    rdata = name("b.example.com") + bytes([0, 6]) + bits + bytes([1, 1, 0x40])
    ans = answer(NSEC, rdata)
    assert ans["data"] == "b.example.com."
    assert ans["type_bits"] == "A NS SOA MX RRSIG NSEC CAA"


def test_nsec3_and_nsec3param():
    digest = bytes(range(20))
    rdata = struct.pack("!BBHB", 1, 1, 10, 2) + b"\xab\xcd" + bytes([20]) + digest + \
        bytes([0, 1, 0x40])
    ans = answer(NSEC3, rdata)
    assert (ans["hash"], ans["flags"], ans["iterations"], ans["salt"]) == \
        ("SHA1", "1", "10", "ABCD")
    assert ans["data"] == base64.b32hexencode(digest).decode() and ans["type_bits"] == "A"
    param = answer(NSEC3PARAM, struct.pack("!BBHB", 1, 0, 0, 0))
    assert (param["data"], param["hash"], param["flags"], param["iterations"]) == \
        ("-", "SHA1", "0", "0")


def test_types_without_a_formatter_print_their_raw_rdata_escaped():
    caa = b"\x00\x05issue" + b"letsencrypt.org"
    assert answer(CAA, caa)["data"] == "\\000\\005issueletsencrypt.org"
    hinfo = b"\x03CPU\x0aLinux\t\"x\""
    assert answer(HINFO, hinfo)["data"] == '\\003CPU\\nLinux\\t\\"x\\"'
    assert answer(65280, b"\\\x7f")["type"] == "65280"
    assert answer(65280, b"\\\x7f")["data"] == "\\\\\\127"


def test_a_raw_type_with_a_compressed_name_prints_it_uncompressed():
    # DNAME target "x" + pointer to "example.com": miekg re-packs it whole.
    assert answer(DNAME, b"\x01x" + pointer(12))["data"] == \
        "\\001x\\007example\\003com\\000"


def test_rdata_that_does_not_fit_its_type_falls_back_to_raw_and_is_counted():
    h = Harness()
    h.datagram(query("e.com", MX), Direction.TO_SERVER)
    h.datagram(response("e.com", MX, answers=[rr(pointer(12), MX, b"\x00")]),
               Direction.TO_CLIENT)
    assert h.events[0]["dns"]["answers"][0]["data"] == "\\000"
    assert h.counters.get("dns_bad_rdata") == 1


# Multi-label public suffixes need the Public Suffix List (the `publicsuffixlist` package);
# without it only the default rule applies and these cases cannot hold.
needs_psl = pytest.mark.skipif(importlib.util.find_spec("publicsuffixlist") is None,
                               reason="publicsuffixlist is not installed")


@pytest.mark.parametrize("qname, expected", [
    ("www.example.com", {"registered_domain": "example.com", "top_level_domain": "com",
                         "subdomain": "www", "etld_plus_one": "example.com"}),
    pytest.param("a.b.amazon.co.uk", {"registered_domain": "amazon.co.uk",
                                      "top_level_domain": "co.uk", "subdomain": "a.b",
                                      "etld_plus_one": "amazon.co.uk"}, marks=needs_psl),
    ("example.com", {"registered_domain": "example.com", "top_level_domain": "com",
                     "etld_plus_one": "example.com"}),
    pytest.param("co.uk", {"registered_domain": "co.uk", "top_level_domain": "uk"},
                 marks=needs_psl),
    pytest.param("x.blogspot.com", {"registered_domain": "x.blogspot.com",
                                    "top_level_domain": "blogspot.com",
                                    "etld_plus_one": "x.blogspot.com"}, marks=needs_psl),
    ("com", {}),
    ("localhost", {}),
    (".", {"registered_domain": "."}),
    ("host.unknowntld", {"registered_domain": "host.unknowntld", "top_level_domain":
                         "unknowntld", "etld_plus_one": "host.unknowntld"}),
])
def test_question_domain_parts_follow_packetbeat(qname, expected):
    assert question_domain(qname) == expected
