"""IP fragment reassembly through the decoder: order, overlaps, and every bound's counter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shardbeat.decode.config import IpFragConfig
from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters
from tests.unit.packets import (
    DEST_OPTS, HOP_BY_HOP, eth, fragments4, fragments6, icmp, ip, ipv4, ipv6, tcp, udp,
)

SEC = 1_000_000_000
BODY = bytes(range(256)) * 2  # 512 bytes, every offset distinguishable
DATAGRAM = udp(BODY, sport=5000, dport=9999)  # 520 bytes of IP payload


def feed(frames: list[bytes], config: IpFragConfig | None = None, step_ns: int = 1000,
         ) -> tuple[list[Packet], Counters, Decoder]:
    counters = Counters()
    decoder = Decoder(counters, config or IpFragConfig())
    out = []
    for i, frame in enumerate(frames):
        pkt = decoder.decode(SEC + i * step_ns, 1, frame)
        if pkt is not None:
            out.append(pkt)
    return out, counters, decoder


def v4(sizes=(200, 200, 120), ident=1, **kw) -> list[bytes]:
    return [eth(f) for f in fragments4(DATAGRAM, sizes, ident=ident, **kw)]


def test_in_order_fragments_make_one_packet_with_the_first_fragments_ports():
    frames = v4()
    pkts, counters, decoder = feed(frames)
    assert len(pkts) == 1
    pkt = pkts[0]
    assert (pkt.proto, pkt.src_port, pkt.dst_port, bytes(pkt.payload)) == (17, 5000, 9999, BODY)
    assert pkt.ts == SEC + 2000  # the completing fragment's time
    assert pkt.frame_len == sum(map(len, frames))
    assert counters.snapshot() == {"ipfrag_reassembled": 1}
    assert decoder.pending_fragments == 0


@pytest.mark.parametrize("order", [(2, 1, 0), (1, 2, 0), (0, 2, 1), (2, 0, 1)])
def test_out_of_order_fragments(order):
    frames = v4()
    pkts, counters, _ = feed([frames[i] for i in order])
    assert [bytes(p.payload) for p in pkts] == [BODY]
    assert counters.get("ipfrag_overlaps") == 0


def test_interleaved_datagrams_are_kept_apart():
    a, b = v4(ident=1), v4(ident=2, src="10.0.0.9")
    pkts, _, _ = feed([a[0], b[0], b[2], a[2], a[1], b[1]])
    assert [p.src_ip for p in pkts] == [ip("10.0.0.1"), ip("10.0.0.9")]


def test_overlapping_fragments_first_arrival_wins_and_is_counted():
    whole = bytes(DATAGRAM)
    first = eth(ipv4(whole[:208], proto=17, ident=3, more=True))
    rewrite = eth(ipv4(b"X" * 200, proto=17, ident=3, offset=104, more=True))  # overlaps
    last = eth(ipv4(whole[208:], proto=17, ident=3, offset=208))
    pkts, counters, _ = feed([first, rewrite, last])
    assert bytes(pkts[0].payload)[:200] == BODY[:200]  # bytes 8..208 came first
    assert bytes(pkts[0].payload)[200:296] == b"X" * 96   # 208..304 only the rewrite had
    assert counters.get("ipfrag_overlaps") == 2


def test_duplicate_fragment_is_an_overlap_not_a_second_datagram():
    frames = v4()
    pkts, counters, _ = feed([frames[0], frames[1], frames[1], frames[2]])
    assert [bytes(p.payload) for p in pkts] == [BODY]
    assert counters.get("ipfrag_overlaps") == 1


def test_a_fragment_after_completion_waits_alone_until_its_timeout():
    frames = v4()
    pkts, counters, decoder = feed(frames + [frames[1]])
    assert len(pkts) == 1 and decoder.pending_fragments == 1
    assert decoder.expire(SEC + 31 * SEC) == 1
    assert counters.get("ipfrag_timeouts") == 1 and decoder.pending_fragments == 0


def test_timeout_on_packet_time_drops_the_datagram():
    frames = v4()
    config = IpFragConfig(timeout="10s")
    pkts, counters, _ = feed(frames, config, step_ns=6 * SEC)  # last one 12 s after the first
    assert pkts == []
    assert counters.get("ipfrag_timeouts") == 1


def test_too_many_pending_datagrams_evicts_the_oldest():
    config = IpFragConfig(max_datagrams=2)
    firsts = [v4(ident=i)[0] for i in range(3)]
    pkts, counters, decoder = feed(firsts + v4(ident=0)[1:] + v4(ident=2)[1:], config)
    assert counters.get("ipfrag_evictions") >= 1
    assert decoder.pending_fragments <= 2
    # Datagram 0 was evicted by 2: its later fragments cannot complete it.
    assert len(pkts) == 1 and bytes(pkts[0].payload) == BODY


def test_oversize_datagram_is_dropped():
    pkts, counters, _ = feed(v4(), IpFragConfig(max_datagram_size=400))
    assert pkts == [] and counters.get("ipfrag_oversize") == 1


def test_too_many_fragments_drops_the_datagram():
    pkts, counters, _ = feed(v4(sizes=(64,) * 8 + (8,)), IpFragConfig(max_fragments=4))
    assert pkts == [] and counters.get("ipfrag_too_many_fragments") == 1


def test_contradicting_last_fragments_drop_the_datagram():
    frames = v4()
    short_last = eth(ipv4(bytes(DATAGRAM)[400:480], proto=17, ident=1, offset=400))
    pkts, counters, _ = feed([frames[2], short_last, frames[0], frames[1]])
    assert pkts == [] and counters.get("ipfrag_bad") == 1


def test_fragmented_icmp_echo():
    message = icmp(8, 0, payload=b"p" * 3000)
    frames = [eth(f) for f in fragments4(message, (1480, 1480, 48))]
    pkts, _, _ = feed(frames)
    assert pkts[0].proto == 1 and pkts[0].icmp_type == 8
    assert bytes(pkts[0].payload) == bytes(message)


# -- IPv6 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 0, 2)])
def test_ipv6_fragments(order):
    frames = [eth(f) for f in fragments6(DATAGRAM, (200, 200, 120), exts=[HOP_BY_HOP])]
    pkts, counters, _ = feed([frames[i] for i in order])
    assert len(pkts) == 1
    assert (pkts[0].ip_version, pkts[0].dst_port, bytes(pkts[0].payload)) == (6, 9999, BODY)
    assert pkts[0].frame_len == sum(map(len, frames))


def test_ipv6_fragmentable_part_may_start_with_extension_headers():
    # A destination-options header travels inside the fragmented part, before TCP.
    inner = ipv6(tcp(b"t" * 300, dport=443), exts=[DEST_OPTS])[40:]  # drop the fixed header
    sizes = (160, len(inner) - 160)
    frames = [eth(ipv6(inner[:160], next_header=DEST_OPTS, fragment=(0, True, 5))),
              eth(ipv6(inner[160:], next_header=DEST_OPTS, fragment=(160, False, 5)))]
    assert sum(sizes) == len(inner)
    pkts, _, _ = feed(frames)
    assert (pkts[0].proto, pkts[0].dst_port, bytes(pkts[0].payload)) == (6, 443, b"t" * 300)


def test_ipv6_later_fragments_next_header_does_not_split_the_datagram():
    frames = fragments6(DATAGRAM, (200, 320))
    odd = bytearray(frames[1])
    odd[40] = 6  # RFC 8200: only the offset-zero fragment's next header counts
    pkts, _, _ = feed([eth(frames[0]), eth(bytes(odd))])
    assert pkts[0].proto == 17 and bytes(pkts[0].payload) == BODY


# -- settings -------------------------------------------------------------------------------
def test_config_accepts_units_and_rejects_unknown_keys_and_bad_values():
    config = IpFragConfig(timeout="1m", max_datagram_size="64kb")
    assert (config.timeout, config.max_datagram_size) == (60.0, 65536)
    assert IpFragConfig().model_dump() == {
        "max_datagrams": 1024, "max_fragments": 128, "timeout": 30.0,
        "max_datagram_size": 65535}
    with pytest.raises(ValidationError, match="max_datagram"):
        IpFragConfig(max_datagram=5)
    with pytest.raises(ValidationError, match="timeout"):
        IpFragConfig(timeout="soon")
    with pytest.raises(ValidationError, match="max_datagrams"):
        IpFragConfig(max_datagrams=0)
    for name, field in IpFragConfig.model_fields.items():
        assert field.description, name


def test_tcp_ports_come_from_the_first_fragment_even_when_it_arrives_last():
    segment = tcp(b"s" * 100, sport=1111, dport=2222, flags="PA")
    frames = [eth(f) for f in fragments4(segment, (16, 104))]  # TCP header split in two
    pkts, _, _ = feed(frames[::-1])
    assert (pkts[0].src_port, pkts[0].dst_port, bytes(pkts[0].payload)) == (
        1111, 2222, b"s" * 100)
