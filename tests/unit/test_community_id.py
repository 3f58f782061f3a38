"""Community ID v1 against the spec's published vectors, Packetbeat's goldens and tshark."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.flows.community_id import community_id_v1, icmp_ports, ported_community_id

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"


def ip(text: str) -> bytes:
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    return socket.inet_pton(family, text)


# community-id-spec baseline/README.md, "Default settings" and "A custom seed=1 value":
# (proto, src, dst, sport-or-type, dport-or-code, seed 0 id, seed 1 id).
_V6A = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D"
_V6B = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D"
SPEC_TABLE = [
    (6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
     "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
     "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
    (17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
     "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
     "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
    (132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=",
     "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
    (1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
     "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
     "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
    (1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=",
     "1:1DD7cWGC/Yg91YGsQeni8du3pIA="),
    (58, _V6A, _V6B, 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
     "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, _V6B, _V6A, 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
     "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
    (58, _V6A, _V6B, 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=",
     "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
    (46, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=",
     "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
    (46, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=",
     "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
    (46, _V6A, _V6B, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=",
     "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
]


@pytest.mark.parametrize("proto,src,dst,sport,dport,seed0,seed1", SPEC_TABLE)
def test_spec_baseline_table(proto, src, dst, sport, dport, seed0, seed1):
    assert community_id_v1(proto, ip(src), ip(dst), sport, dport) == seed0
    assert community_id_v1(proto, ip(src), ip(dst), sport, dport, seed=1) == seed1


# community-id-spec baseline/baseline_deflt.json (from pcaps/combined.pcap); the ICMP rows
# give type and its port equivalent, which map to themselves again.
SPEC_JSON = [
    (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136,
     "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136,
     "1:zavyT/cezQr1fmImYCwYnMXbgck="),
    (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0,
     "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
    (58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4,
     "1:hLZd0XGWojozrvxqE0dWB1iM6R0="),
    (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128,
     "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
    (58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="),
    (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="),
    (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
    (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
    (46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),
]


@pytest.mark.parametrize("proto,src,dst,sport,dport,expected", SPEC_JSON)
def test_spec_baseline_json(proto, src, dst, sport, dport, expected):
    assert community_id_v1(proto, ip(src), ip(dst), sport, dport) == expected


def test_packetbeat_golden_dns_flow():
    # packetbeat/tests/system/golden/http_basic_auth-expected.json, the DNS lookup.
    assert community_id_v1(17, ip("172.31.98.49"), ip("8.8.8.8"), 51958, 53) == \
        "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y="


def test_packetbeat_golden_icmp6_neighbour_discovery():
    # libbeat/common/flowhash/testdata/golden/icmp6.pcap.log: a solicitation and its
    # advertisement hash alike; a one-way error keeps its direction.
    a, b = ip("3ffe:507::1:260:97ff:fe07:69ea"), ip("3ffe:507::1:200:86ff:fe05:80da")
    assert community_id_v1(58, a, b, 135, 0) == "1:BtEUCMYecYjJ7spEkVZDiCFaMTY="
    assert community_id_v1(58, b, a, 136, 0) == "1:BtEUCMYecYjJ7spEkVZDiCFaMTY="
    assert community_id_v1(58, a, b, 3, 0) == "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w="


@pytest.mark.parametrize("version,type_,code,expected", [
    (4, 8, 0, (8, 0, False)), (4, 0, 0, (0, 8, False)), (4, 13, 0, (13, 14, False)),
    (4, 16, 0, (16, 15, False)), (4, 9, 0, (9, 10, False)), (4, 3, 1, (3, 1, True)),
    (4, 11, 0, (11, 0, True)), (6, 128, 0, (128, 129, False)), (6, 131, 0, (131, 130, False)),
    (6, 145, 0, (145, 144, False)), (6, 1, 4, (1, 4, True)), (6, 146, 3, (146, 3, True)),
])
def test_icmp_port_equivalents(version, type_, code, expected):
    assert icmp_ports(version, type_, code) == expected


_addr4 = st.binary(min_size=4, max_size=4)
_port = st.integers(0, 65535)


@settings(max_examples=200, deadline=None)
@given(proto=st.sampled_from([6, 17, 132]), a=_addr4, b=_addr4, pa=_port, pb=_port)
def test_both_directions_hash_alike(proto, a, b, pa, pb):
    assert community_id_v1(proto, a, b, pa, pb) == community_id_v1(proto, b, a, pb, pa)


@settings(max_examples=100, deadline=None)
@given(a=_addr4, b=_addr4, type_=st.sampled_from([8, 13, 15, 17, 10]),
       code=st.integers(0, 255))
def test_icmp_request_and_reply_hash_alike(a, b, type_, code):
    reply = icmp_ports(4, type_, code)[1]
    assert community_id_v1(1, a, b, type_, code) == community_id_v1(1, b, a, reply, 0)


def _tshark_ids(path: Path) -> list[str]:
    out = subprocess.run(
        ["tshark", "--enable-protocol", "communityid", "-r", str(path), "-T", "fields",
         "-e", "communityid"], capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.split()


def _our_ids(path: Path) -> list[str]:
    ids = []
    with path.open("rb") as fh:
        for _, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            net = eth.data
            l4 = net.data
            if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                ports = (l4.sport, l4.dport)
            elif isinstance(l4, (dpkt.icmp.ICMP, dpkt.icmp6.ICMP6)):
                ports = (l4.type, l4.code)
            else:
                ports = (0, 0)
            proto = net.p if isinstance(net, dpkt.ip.IP) else net.nxt
            ids.append(community_id_v1(proto, net.src, net.dst, *ports))
    return ids


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("name", ["dns_google_com.pcap", "icmp/icmp4_ping_over_vlan.pcap",
                                  "icmp/icmp6_ping.pcap", "http_post.pcap"])
def test_matches_tshark(name):
    path = PCAPS / name
    if not path.exists():
        pytest.skip(f"{path} is absent (Packetbeat's captures live beside the repo)")
    expected = _tshark_ids(path)
    assert expected, "tshark computed no Community ID"
    assert _our_ids(path) == expected


@settings(max_examples=200, deadline=None)
@given(proto=st.sampled_from([6, 17]), a=_addr4, b=_addr4, pa=_port, pb=_port)
def test_the_flow_templates_bytes_id_is_the_general_one(proto, a, b, pa, pb):
    assert ported_community_id(proto, a, b, pa, pb) == community_id_v1(proto, a, b, pa,
                                                                       pb).encode()
