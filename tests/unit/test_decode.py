"""L2–L4 decoding: every link type, VLAN stacks, IPv6 extension headers, tunnels, every
malformation with its counter, and Packetbeat's captures field by field against tshark."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from shardbeat.capture.pcapfile import open_capture
from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters
from tests.unit.packets import (
    AH, DEST_OPTS, HOP_BY_HOP, MAC_A, MAC_B, ROUTING, eth, icmp, icmp6, ip, ipv4, ipv6, loop,
    null, sll, sll2, tcp, udp,
)

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"


def decode(frame: bytes, linktype: int = 1, wire_len: int = 0) -> tuple[Packet | None, dict]:
    counters = Counters()
    pkt = Decoder(counters).decode(1_000, linktype, frame, wire_len)
    if pkt is not None:
        for name in Packet.__slots__:  # every slot is set on every path
            getattr(pkt, name)
    return pkt, counters.snapshot()


# -- the common path ------------------------------------------------------------------------
def test_ethernet_ipv4_tcp_fields():
    frame = eth(ipv4(tcp(b"hello", sport=40001, dport=80, seq=7, ack=9, flags="PA"),
                     src="192.0.2.1", dst="198.51.100.2"))
    pkt, counts = decode(frame, wire_len=1234)
    assert counts == {}
    assert (pkt.src_mac, pkt.dst_mac, pkt.vlans) == (MAC_A, MAC_B, ())
    assert (pkt.ip_version, pkt.src_ip, pkt.dst_ip, pkt.proto) == (
        4, ip("192.0.2.1"), ip("198.51.100.2"), 6)
    assert (pkt.src_port, pkt.dst_port, pkt.seq, pkt.ack, pkt.tcp_flags) == (
        40001, 80, 7, 9, 0x18)
    assert bytes(pkt.payload) == b"hello"
    assert (pkt.ts, pkt.frame_len) == (1_000, 1234)


def test_tcp_options_are_skipped():
    pkt, _ = decode(eth(ipv4(tcp(b"data", flags="S", options=b"\x02\x04\x05\xb4\x01\x01"))))
    assert bytes(pkt.payload) == b"data" and pkt.tcp_flags == 0x02


def test_ethernet_padding_is_trimmed_by_the_ip_total_length():
    frame = eth(ipv4(tcp(b"", flags="A"))) + b"\0" * 6  # padded to Ethernet's 60 bytes
    pkt, _ = decode(frame)
    assert bytes(pkt.payload) == b"" and pkt.frame_len == len(frame) == 60
    pkt, _ = decode(eth(ipv4(udp(b"q"))) + b"\xff" * 17)
    assert bytes(pkt.payload) == b"q"


def test_ipv4_options_are_skipped():
    pkt, _ = decode(eth(ipv4(udp(b"dns", sport=1, dport=53), options=b"\x94\x04\x00\x00")))
    assert (pkt.src_port, pkt.dst_port, bytes(pkt.payload)) == (1, 53, b"dns")


def test_udp_length_shorter_than_ip_payload_bounds_the_payload():
    pkt, _ = decode(eth(ipv4(udp(b"abcdef", length=11))))
    assert bytes(pkt.payload) == b"abc"


def test_icmp_payload_is_the_whole_message():
    message = icmp(8, 0, ident=3, seq=4, payload=b"abc")
    pkt, _ = decode(eth(ipv4(message)))
    assert (pkt.proto, pkt.icmp_type, pkt.icmp_code, pkt.src_port) == (1, 8, 0, 0)
    assert bytes(pkt.payload) == bytes(message)
    message = icmp6(129, 0, payload=b"pong")
    pkt, _ = decode(eth(ipv6(message)))
    assert (pkt.ip_version, pkt.proto, pkt.icmp_type) == (6, 58, 129)
    assert bytes(pkt.payload) == bytes(message)


def test_memoryview_input_is_accepted():
    frame = eth(ipv4(tcp(b"x")))
    pkt = Decoder(Counters()).decode(1, 1, memoryview(bytearray(frame)))
    assert bytes(pkt.payload) == b"x" and pkt.frame_len == len(frame)


# -- VLANs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tags,want", [
    ([100], (100,)),
    ([(0x88A8, 10), 20], (10, 20)),
    ([(0x9100, 4095), (0x8100, 1)], (4095, 1)),
    ([(0x88A8, 1), (0x8100, 2), (0x8100, 3)], (1, 2, 3)),
])
def test_vlan_stacks_outer_first(tags, want):
    pkt, _ = decode(eth(ipv6(tcp(b"v", dport=8080)), vlans=tags))
    assert pkt.vlans == want and pkt.dst_port == 8080 and bytes(pkt.payload) == b"v"


# -- other link types -----------------------------------------------------------------------
@pytest.mark.parametrize("linktype,wrap", [
    (113, sll), (276, sll2), (101, lambda p: p), (12, lambda p: p), (14, lambda p: p),
    (0, null), (0, lambda p: null(p, byteorder="big")), (108, loop),
    (0, lambda p: null(p, family=24 if p[0] >> 4 == 6 else 2)),
    (0, lambda p: null(p, family=28 if p[0] >> 4 == 6 else 2)),
])
@pytest.mark.parametrize("version", [4, 6])
def test_link_types(linktype, wrap, version):
    inner = ipv4(udp(b"u")) if version == 4 else ipv6(udp(b"u"))
    pkt, counts = decode(wrap(inner), linktype)
    assert counts == {}
    assert (pkt.ip_version, pkt.proto, bytes(pkt.payload)) == (version, 17, b"u")
    assert (pkt.src_mac, pkt.dst_mac, pkt.vlans) == (b"", b"", ())


def test_sll_with_a_vlan_tag_left_in():
    inner = eth(ipv4(udp()), vlans=[42])[12:]  # tag + ethertype + IP, as SLL carries it
    pkt, _ = decode(sll(inner[2:], protocol=0x8100), 113)
    assert pkt.vlans == (42,) and pkt.proto == 17


# -- IPv6 extension headers and tunnels -----------------------------------------------------
@pytest.mark.parametrize("exts", [[HOP_BY_HOP], [ROUTING], [DEST_OPTS], [AH],
                                  [HOP_BY_HOP, DEST_OPTS, ROUTING, AH, DEST_OPTS]])
def test_ipv6_extension_headers_are_walked_to_the_transport(exts):
    pkt, _ = decode(eth(ipv6(tcp(b"after", dport=443), exts=exts)))
    assert (pkt.proto, pkt.dst_port, bytes(pkt.payload)) == (6, 443, b"after")


@pytest.mark.parametrize("nh", [50, 59])
def test_ipv6_esp_and_no_next_header_are_ip_only_packets(nh):
    pkt, _ = decode(eth(ipv6(b"\x00\x00\x01\x00opaque", next_header=nh, exts=[HOP_BY_HOP])))
    assert (pkt.proto, pkt.src_port, pkt.dst_port) == (nh, 0, 0)
    assert bytes(pkt.payload) == b"\x00\x00\x01\x00opaque"


def test_ipv6_atomic_fragment_is_decoded_at_once():
    pkt, counts = decode(eth(ipv6(udp(b"a", dport=53), fragment=(0, False, 9))))
    assert (pkt.proto, pkt.dst_port, bytes(pkt.payload)) == (17, 53, b"a")
    assert counts == {}


def test_other_ip_protocols_become_ip_only_packets_for_flows():
    pkt, _ = decode(eth(ipv4(b"\x00" * 12, proto=47)))  # GRE
    assert (pkt.proto, pkt.src_port, pkt.dst_port, len(pkt.payload)) == (47, 0, 0, 12)


def test_ip_in_ip_decodes_the_inner_packet_one_level_deep():
    inner = ipv4(tcp(b"in", dport=22), src="10.9.9.1", dst="10.9.9.2")
    pkt, _ = decode(eth(ipv4(inner, proto=4, src="192.0.2.1", dst="192.0.2.2")))
    assert (pkt.src_ip, pkt.dst_port, bytes(pkt.payload)) == (ip("10.9.9.1"), 22, b"in")
    pkt, _ = decode(eth(ipv4(ipv6(udp(b"6", dport=53)), proto=41)))
    assert (pkt.ip_version, pkt.dst_port) == (6, 53)
    nested = ipv4(ipv4(inner, proto=4), proto=4)
    pkt, _ = decode(eth(nested))
    assert (pkt.proto, pkt.src_port) == (4, 0)  # the second level stays opaque


# -- not IP, and malformed ------------------------------------------------------------------
@pytest.mark.parametrize("frame,linktype,counter", [
    (eth(b"\x00\x01" * 14, ethertype=0x0806), 1, "decode_non_ip"),        # ARP
    (eth(b"\xaa\xaa\x03" + b"\0" * 40, ethertype=46), 1, "decode_non_ip"),  # 802.3 + LLC
    (sll(b"\0" * 28, protocol=0x0806), 113, "decode_non_ip"),
    (null(ipv4(udp()), family=7), 0, "decode_non_ip"),
    (ipv4(udp()), 147, "decode_unsupported_linktype"),
    (eth(ipv4(udp()))[:13], 1, "decode_truncated"),
    (eth(ipv4(udp()), vlans=[5])[:17], 1, "decode_truncated"),
    (sll(ipv4(udp()))[:15], 113, "decode_truncated"),
    (sll2(ipv4(udp()))[:19], 276, "decode_truncated"),
    (b"\0\0\0", 0, "decode_truncated"),
    (eth(b""), 1, "decode_truncated"),
    (eth(ipv4(udp()))[:30], 1, "decode_truncated"),
    (eth(ipv6(udp()))[:50], 1, "decode_truncated"),
    (eth(b"\x75" + ipv4(udp())[1:]), 1, "decode_bad_ip_header"),            # version 7
    (eth(b"\x44" + ipv4(udp())[1:]), 1, "decode_bad_ip_header"),            # IHL 4
    (eth(ipv4(udp(), total_length=19)), 1, "decode_bad_ip_header"),
    (eth(ipv4(tcp()[:16], proto=6)), 1, "decode_truncated"),               # TCP cut short
    (eth(ipv4(tcp()[:12] + b"\x40" + tcp()[13:], proto=6)), 1, "decode_bad_tcp_header"),
    (eth(ipv4(tcp()[:12] + b"\xf0" + tcp()[13:] + b"x", proto=6)), 1,  # offset past the end
     "decode_bad_tcp_header"),
    (eth(ipv4(udp(b"abc", length=7))), 1, "decode_bad_udp_length"),
    (eth(ipv4(icmp(payload=b"")[:6], proto=1)), 1, "decode_truncated"),
    (eth(ipv6(icmp6()[:3], next_header=58)), 1, "decode_truncated"),
    (eth(ipv6(b"\x06\x05" + b"\0" * 6, next_header=0)), 1, "decode_bad_ipv6_ext"),
])
def test_not_ip_or_malformed_is_none_and_counted(frame, linktype, counter):
    pkt, counts = decode(frame, linktype)
    assert pkt is None
    assert counts == {counter: 1}


def test_frame_shorter_than_ip_length_still_decodes_what_was_captured():
    frame = eth(ipv4(tcp(b"0123456789")))
    pkt, counts = decode(frame[:-4], wire_len=len(frame))  # a snaplen cut
    assert bytes(pkt.payload) == b"012345" and pkt.frame_len == len(frame)
    assert counts == {"decode_ip_short": 1}


def test_zero_ip_length_means_to_the_end_of_the_frame():
    # Captured on a sender with segmentation offload: the header cannot hold the length.
    pkt, counts = decode(eth(ipv4(tcp(b"s" * 3000), total_length=0)))
    assert len(pkt.payload) == 3000 and counts == {}
    pkt, counts = decode(eth(ipv6(tcp(b"s" * 3000), payload_length=0)))
    assert len(pkt.payload) == 3000 and counts == {}


def test_udp_length_beyond_the_datagram_is_counted_and_clipped():
    pkt, counts = decode(eth(ipv4(udp(b"abc", length=100))))
    assert bytes(pkt.payload) == b"abc" and counts == {"decode_udp_short": 1}


# -- Packetbeat's captures, tshark as the oracle --------------------------------------------
TSHARK_FIELDS = ("frame.len ip.src ip.dst ipv6.src ipv6.dst tcp.srcport tcp.dstport "
                 "udp.srcport udp.dstport tcp.seq_raw tcp.ack_raw tcp.flags tcp.len "
                 "udp.length icmp.type icmp.code icmpv6.type icmpv6.code vlan.id").split()


def tshark_view(path: Path) -> list[dict[str, str]]:
    args = ["tshark", "-r", str(path), "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=,", "-o", "tcp.desegment_tcp_streams:FALSE"]
    for name in TSHARK_FIELDS:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [dict(zip(TSHARK_FIELDS, line.split("\t"))) for line in out.splitlines()]


def as_tshark(pkt: Packet) -> dict[str, str]:
    """The packet's fields spelled as tshark prints them."""
    v4 = pkt.ip_version == 4
    addr = [str(ipaddress.ip_address(pkt.src_ip)), str(ipaddress.ip_address(pkt.dst_ip))]
    view = dict.fromkeys(TSHARK_FIELDS, "")
    view["frame.len"] = str(pkt.frame_len)
    view["ip.src" if v4 else "ipv6.src"], view["ip.dst" if v4 else "ipv6.dst"] = addr
    view["vlan.id"] = ",".join(map(str, pkt.vlans))
    if pkt.proto == 6:
        view.update({"tcp.srcport": str(pkt.src_port), "tcp.dstport": str(pkt.dst_port),
                     "tcp.seq_raw": str(pkt.seq), "tcp.ack_raw": str(pkt.ack),
                     "tcp.flags": f"0x{pkt.tcp_flags:04x}", "tcp.len": str(len(pkt.payload))})
    elif pkt.proto == 17:
        view.update({"udp.srcport": str(pkt.src_port), "udp.dstport": str(pkt.dst_port),
                     "udp.length": str(len(pkt.payload) + 8)})
    elif pkt.proto in (1, 58):
        kind = "icmp" if pkt.proto == 1 else "icmpv6"
        view[f"{kind}.type"], view[f"{kind}.code"] = str(pkt.icmp_type), str(pkt.icmp_code)
    return view


def test_shared_captures_decode_as_tshark_dissects_them(tmp_path):
    if not PCAPS.is_dir():
        pytest.skip(f"{PCAPS} is absent: Packetbeat's captures live in ../shared/pcaps")
    if shutil.which("tshark") is None or shutil.which("mergecap") is None:
        pytest.skip("tshark/mergecap (Wireshark) are not installed")
    merged = tmp_path / "all.pcapng"  # one tshark run instead of ninety
    subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", str(merged),
                    *map(str, sorted(PCAPS.rglob("*.pcap")))], check=True)
    expected = tshark_view(merged)
    counters = Counters()
    decoder = Decoder(counters)
    with open_capture(str(merged)) as reader:
        got = [decoder.decode(ts, lt, data, wire) for ts, lt, data, wire in reader]
    assert len(got) == len(expected) > 3000
    assert counters.snapshot() == {}
    for number, (pkt, want) in enumerate(zip(got, expected), 1):
        view = as_tshark(pkt)
        if not want["tcp.ack_raw"]:  # tshark omits the ack number without the ACK flag
            view["tcp.ack_raw"] = ""
        assert view == want, f"frame {number}"
