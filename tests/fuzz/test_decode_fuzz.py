"""Hostile bytes never raise out of the capture readers or the decoder.

Seeds are every frame of Packetbeat's captures (when ../shared/pcaps is there) plus synthetic
frames that reach the paths those captures lack (QinQ, IPv6 extension headers, fragments,
tunnels). Each example flips bits in and cuts a seed; the decoder must return a Packet or None
and its `decode_internal_error` safety net must never fire, since that would mean a bug was
only caught, not absent.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardbeat.capture.pcapfile import CaptureFileError, open_capture
from shardbeat.decode.config import IpFragConfig
from shardbeat.decode.l2l4 import Decoder
from shardbeat.metrics.counters import Counters
from tests.unit.packets import (
    AH, DEST_OPTS, HOP_BY_HOP, ROUTING, Pcapng, eth, fragments4, fragments6, icmp, icmp6, ipv4,
    ipv6, null, pcap_bytes, sll, sll2, tcp, udp,
)

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"
SMALL = IpFragConfig(max_datagrams=3, max_fragments=4, max_datagram_size=400)
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]
FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@lru_cache(maxsize=1)
def fragment_frames() -> list[tuple[int, bytes]]:
    big = udp(b"z" * 300, dport=53)
    return ([(1, eth(f)) for f in fragments4(big, (96, 96, 116), ident=9)]
            + [(1, eth(f)) for f in fragments6(big, (96, 96, 116), exts=[HOP_BY_HOP])])


def synthetic_frames() -> list[tuple[int, bytes]]:
    frames = [
        eth(ipv4(tcp(b"GET / HTTP/1.1\r\n\r\n", options=b"\x02\x04\x05\xb4"))),
        eth(ipv6(tcp(b"x", dport=443), exts=[HOP_BY_HOP, ROUTING, DEST_OPTS, AH]),
            vlans=[(0x88A8, 5), 6]),
        eth(ipv4(icmp(8), options=b"\x01\x01\x01\x01"), vlans=[7]),
        eth(ipv6(icmp6(128))),
        eth(ipv4(ipv6(udp(b"6in4")), proto=41)),
    ]
    seeds = [(1, f) for f in frames] + fragment_frames()
    seeds += [(113, sll(ipv4(udp(b"q")))), (276, sll2(ipv6(tcp()))), (0, null(ipv6(udp()))),
              (108, null(ipv4(tcp()), byteorder="big")), (101, ipv4(udp()))]
    return seeds


@lru_cache(maxsize=1)
def seeds() -> list[tuple[int, bytes]]:
    found = synthetic_frames()
    for path in sorted(PCAPS.rglob("*.pcap")) if PCAPS.is_dir() else []:
        with open_capture(str(path)) as reader:
            found.extend((linktype, data) for _, linktype, data, _ in reader)
    return found


def mutate(data: st.DataObject, frame: bytes) -> bytes:
    buf = bytearray(frame)
    for bit in data.draw(st.lists(st.integers(0, max(len(buf) * 8 - 1, 0)), max_size=6)):
        if buf:
            buf[bit // 8] ^= 1 << (bit % 8)
    cut = data.draw(st.integers(0, len(buf)))
    return bytes(buf[:cut] if data.draw(st.booleans()) else buf)


def decode_all(frames: list[tuple[int, bytes]], config: IpFragConfig | None = None,
               ) -> Decoder:
    counters = Counters()
    decoder = Decoder(counters, config)
    for i, (linktype, frame) in enumerate(frames):
        pkt = decoder.decode(i * 1_000_000, linktype, frame)
        if pkt is not None:
            assert pkt.src_port >= 0 and isinstance(bytes(pkt.payload), bytes)
    assert counters.get("decode_internal_error") == 0, counters.snapshot()
    return decoder


@FUZZ
@given(linktype=st.sampled_from(LINKTYPES), data=st.binary(max_size=120))
def test_random_bytes_never_raise(linktype, data):
    decode_all([(linktype, data)])


@FUZZ
@given(data=st.data())
def test_bit_flipped_and_cut_frames_never_raise(data):
    linktype, frame = data.draw(st.sampled_from(seeds()))
    other = data.draw(st.sampled_from(LINKTYPES)) if data.draw(st.booleans()) else linktype
    decode_all([(other, mutate(data, frame))])


@settings(FUZZ, max_examples=100)  # each example is a whole stream of fragments
@given(data=st.data())
def test_mangled_fragment_streams_stay_bounded(data):
    pool = fragment_frames()
    frames = [(lt, mutate(data, f)) for lt, f in
              data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=20))]
    decoder = decode_all(frames, SMALL)
    assert decoder.pending_fragments <= 3


# -- capture files --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def capture_files() -> list[bytes]:
    frames = [f for _, f in synthetic_frames()[:5]]
    ng = Pcapng().idb(1, tsresol=9).idb(113)
    for i, f in enumerate(frames):
        ng.epb(i % 2, i * 1000, f if i % 2 == 0 else sll(ipv4(udp())))
    ng.spb(frames[0]).pb(0, 5, frames[1]).block(0xBAD, b"skip me")
    files = [pcap_bytes(frames), pcap_bytes(frames, nanosecond=True, big_endian=True),
             ng.data(), Pcapng(big_endian=True).idb(1).epb(0, 1, frames[2]).data()]
    for name in ("http_over_vlan.pcap", "icmp/icmp6_ping.pcap", "dns_ns.pcap"):
        if (PCAPS / name).exists():
            files.append((PCAPS / name).read_bytes())
    return files


def read_and_decode(path: Path) -> None:
    try:
        reader = open_capture(str(path))
    except CaptureFileError as exc:
        assert str(path) in str(exc)
        return
    with reader:
        frames = [(linktype, data) for _, linktype, data, _ in reader]
    assert reader.problem is None or reader.problem.endswith("packets read")
    decode_all(frames)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "capture"


@FUZZ
@given(data=st.data())
def test_mangled_capture_files_never_raise(scratch, data):
    content = data.draw(st.sampled_from(capture_files()))
    scratch.write_bytes(mutate(data, content))
    read_and_decode(scratch)


@FUZZ
@given(head=st.sampled_from([b"", b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1",
                             b"\x0a\x0d\x0d\x0a", b"\x1f\x8b"]),
       tail=st.binary(max_size=300))
def test_random_files_raise_capture_file_error_or_read(scratch, head, tail):
    scratch.write_bytes(head + tail)
    read_and_decode(scratch)
