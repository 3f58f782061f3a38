"""Capture files: pcap and pcapng in every byte order and resolution, damage, and the
shared captures against Wireshark's own reader (capinfos/tshark) as the oracle."""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from shardbeat.capture.pcapfile import CaptureFileError, open_capture
from shardbeat.metrics.counters import Counters
from tests.unit.packets import (
    BASE_TS_NS, Pcapng, eth, ipv4, ipv6, null, pcap_bytes, sll, sll2, tcp, udp, write_pcap,
)

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"
FRAMES = [eth(ipv4(tcp(b"x" * i, sport=1000 + i))) for i in range(5)]


def read_all(path: Path) -> tuple[list[tuple[int, int, bytes, int]], object]:
    with open_capture(str(path)) as reader:
        frames = [(ts, lt, bytes(data), wire) for ts, lt, data, wire in reader]
    return frames, reader


# -- classic pcap ---------------------------------------------------------------------------
@pytest.mark.parametrize("nanosecond", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_round_trip_in_every_byte_order_and_resolution(tmp_path, nanosecond, big_endian):
    ts = BASE_TS_NS + 123_456_789
    records = [(ts + i * 1000, f, len(f) + 10) for i, f in enumerate(FRAMES)]
    path = tmp_path / "t.pcap"
    path.write_bytes(pcap_bytes(records, nanosecond=nanosecond, big_endian=big_endian))
    frames, reader = read_all(path)
    # Microsecond files cannot hold the nanoseconds: they are truncated to the microsecond.
    want_ts = [r[0] if nanosecond else r[0] // 1000 * 1000 for r in records]
    assert [f[0] for f in frames] == want_ts
    assert [f[2] for f in frames] == FRAMES
    assert [f[3] for f in frames] == [len(f) + 10 for f in FRAMES]
    assert {f[1] for f in frames} == {1}
    assert reader.problem is None and reader.packets == 5 and reader.format == "pcap"


@pytest.mark.parametrize("linktype,frame", [
    (0, null(ipv4(udp()))), (108, null(ipv4(udp()), byteorder="big")),
    (113, sll(ipv4(udp()))), (276, sll2(ipv6(udp()))), (101, ipv4(udp())), (12, ipv6(udp())),
])
def test_decodable_link_types_pass_through(tmp_path, linktype, frame):
    frames, reader = read_all(write_pcap(tmp_path / "l.pcap", [frame], linktype=linktype))
    assert [(f[1], f[2]) for f in frames] == [(linktype, frame)]
    assert reader.skipped == {}


def test_unsupported_link_type_is_counted_and_skipped(tmp_path):
    counters = Counters()
    path = write_pcap(tmp_path / "radiotap.pcap", [b"\0" * 30] * 3, linktype=127)
    with open_capture(str(path), counters) as reader:
        assert list(reader) == []
    assert reader.skipped == {127: 3}
    assert counters.get("capture_unsupported_linktype") == 3
    assert reader.problem is None


@pytest.mark.parametrize("cut", [1, 17, 58, 59, 70, 73])  # into the data, into the header
def test_truncated_last_record_yields_the_rest_and_sets_problem(tmp_path, cut):
    data = pcap_bytes(FRAMES)
    path = tmp_path / "cut.pcap"
    assert len(FRAMES[-1]) + 16 == 74
    path.write_bytes(data[:-cut])
    frames, reader = read_all(path)
    assert [f[2] for f in frames] == FRAMES[:4]
    assert reader.problem is not None
    assert "truncated" in reader.problem and "4 packets read" in reader.problem
    assert f"byte {len(data) - len(FRAMES[-1]) - 16}" in reader.problem


def test_implausible_record_length_stops_as_corrupt(tmp_path):
    data = bytearray(pcap_bytes(FRAMES))
    second = 24 + 16 + len(FRAMES[0])
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    frames, reader = read_all(path)
    assert [f[2] for f in frames] == FRAMES[:1]
    assert reader.problem.startswith(f"capture corrupt at byte {second}")


def test_gzip_compressed_capture_reads_like_the_plain_one(tmp_path):
    path = tmp_path / "t.pcap.gz"
    path.write_bytes(gzip.compress(pcap_bytes(FRAMES)))
    frames, reader = read_all(path)
    assert [f[2] for f in frames] == FRAMES and reader.problem is None


def test_batches_split_the_stream(tmp_path):
    path = write_pcap(tmp_path / "b.pcap", FRAMES)
    with open_capture(str(path)) as reader:
        sizes = [len(b) for b in reader.batches(2)]
    assert sizes == [2, 2, 1]


# -- files that are not captures ------------------------------------------------------------
@pytest.mark.parametrize("content,why", [
    (None, "cannot open"), (b"", "empty"), (b"GET / HTTP/1.1\r\n\r\n" * 3, "not a pcap"),
    (pcap_bytes([])[:20], "header cut short"),
    (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00NOTMAGIC" + b"\0" * 16, "section header"),
])
def test_not_a_capture_raises_one_line_naming_the_file(tmp_path, content, why):
    path = tmp_path / "bad.pcap"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CaptureFileError) as info:
        open_capture(str(path))
    message = str(info.value)
    assert str(path) in message and why in message and "\n" not in message


def test_a_directory_is_not_a_capture(tmp_path):
    with pytest.raises(CaptureFileError, match="cannot"):
        open_capture(str(tmp_path))


# -- pcapng ---------------------------------------------------------------------------------
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcapng_interfaces_resolutions_and_block_kinds(tmp_path, big_endian):
    ng = Pcapng(big_endian)
    ng.idb(1)                          # default resolution: microseconds
    ng.idb(113, tsresol=9)             # nanoseconds
    ng.idb(101, tsresol=0x80 | 20)     # 2^-20 s
    ng.idb(0, tsresol=3, tsoffset=10)  # milliseconds, clock 10 s behind
    ng.epb(0, 1_700_000_000_123_456, FRAMES[0], wire=1500)
    ng.block(0x0BAD, b"unknown block kinds are skipped")
    ng.epb(1, 1_700_000_000_123_456_789, sll(ipv4(udp())))
    ng.epb(2, 3 << 20, ipv4(udp()))
    ng.epb(3, 1_700_000_000_123, null(ipv4(udp())))
    ng.spb(FRAMES[1])                  # no timestamp: keeps the previous one
    ng.pb(0, 1_700_000_001_000_000, FRAMES[2])
    path = tmp_path / "t.pcapng"
    path.write_bytes(ng.data())
    frames, reader = read_all(path)
    assert [(ts, lt, wire) for ts, lt, _, wire in frames] == [
        (1_700_000_000_123_456_000, 1, 1500),
        (1_700_000_000_123_456_789, 113, len(sll(ipv4(udp())))),
        (3_000_000_000, 101, len(ipv4(udp()))),
        (1_700_000_010_123_000_000, 0, len(null(ipv4(udp())))),
        (1_700_000_010_123_000_000, 1, len(FRAMES[1])),  # SPB: interface 0
        (1_700_000_001_000_000_000, 1, len(FRAMES[2])),
    ]
    assert frames[4][2] == FRAMES[1] and frames[5][2] == FRAMES[2]
    assert reader.problem is None and reader.format == "pcapng"
    assert reader.counters.get("capture_blocks_skipped") == 1


def test_pcapng_new_section_starts_new_interfaces(tmp_path):
    first = Pcapng().idb(1).epb(0, 5, FRAMES[0])
    second = Pcapng(big_endian=True).idb(113).epb(0, 6, sll(ipv4(udp())))
    path = tmp_path / "two.pcapng"
    path.write_bytes(first.data() + second.data())
    frames, reader = read_all(path)
    assert [(f[0], f[1]) for f in frames] == [(5000, 1), (6000, 113)]
    assert reader.problem is None


def test_pcapng_unknown_interface_and_link_type_are_counted(tmp_path):
    ng = Pcapng().idb(1).idb(147).epb(0, 1, FRAMES[0]).epb(1, 2, b"user dlt").epb(7, 3, b"?")
    path = tmp_path / "odd.pcapng"
    path.write_bytes(ng.data())
    frames, reader = read_all(path)
    assert [f[2] for f in frames] == [FRAMES[0]]
    assert reader.skipped == {147: 1}
    assert reader.counters.get("capture_bad_interface") == 1


@pytest.mark.parametrize("cut", [4, 20, 40])
def test_pcapng_truncated_last_block(tmp_path, cut):
    ng = Pcapng().idb(1)
    for i, f in enumerate(FRAMES):
        ng.epb(0, i, f)
    data = ng.data()
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[:-cut])
    frames, reader = read_all(path)
    assert [f[2] for f in frames] == FRAMES[:4]
    assert "truncated" in reader.problem and "4 packets read" in reader.problem


def test_pcapng_block_with_mismatched_trailer_is_corrupt(tmp_path):
    ng = Pcapng().idb(1).epb(0, 1, FRAMES[0]).epb(0, 2, FRAMES[1]).epb(0, 3, FRAMES[2])
    data = bytearray(ng.data())
    last = len(data) - len(ng.blocks[-1])
    struct.pack_into("<I", data, len(data) - 4, 9999)
    path = tmp_path / "corrupt.pcapng"
    path.write_bytes(bytes(data))
    frames, reader = read_all(path)
    assert len(frames) == 2
    assert reader.problem.startswith(f"capture corrupt at byte {last}")


# -- Packetbeat's captures, Wireshark as the oracle ----------------------------------------
def shared_pcaps() -> list[Path]:
    if not PCAPS.is_dir():
        pytest.skip(f"{PCAPS} is absent: Packetbeat's captures live in ../shared/pcaps")
    return sorted(PCAPS.rglob("*.pcap"))


def wireshark_counts(paths: list[Path]) -> dict[str, int]:
    if shutil.which("capinfos") is None:
        pytest.skip("capinfos (Wireshark) is not installed")
    out = subprocess.run(["capinfos", "-T", "-r", "-M", "-c", *map(str, paths)],
                         capture_output=True, text=True, check=True).stdout
    return {name: int(count) for name, count in (line.rsplit("\t", 1)
                                                 for line in out.splitlines())}


def test_every_shared_capture_reads_whole_with_wiresharks_packet_count():
    paths = shared_pcaps()
    expected = wireshark_counts(paths)
    assert len(expected) == len(paths) >= 90
    for path in paths:
        frames, reader = read_all(path)
        assert reader.problem is None, path
        assert len(frames) == expected[str(path)], path


def test_shared_captures_as_pcapng_and_nanosecond_pcap_match_tshark_timestamps(tmp_path):
    paths = shared_pcaps()
    if shutil.which("editcap") is None or shutil.which("tshark") is None:
        pytest.skip("editcap/tshark (Wireshark) are not installed")
    merged = tmp_path / "all.pcapng"
    subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", str(merged), *map(str, paths)],
                   check=True)
    nsec = tmp_path / "one.ns.pcap"
    subprocess.run(["editcap", "-F", "nsecpcap", str(paths[0]), str(nsec)], check=True)
    for path in (merged, nsec):
        out = subprocess.run(
            ["tshark", "-r", str(path), "-T", "fields", "-e", "frame.time_epoch",
             "-e", "frame.len", "-e", "frame.cap_len"],
            capture_output=True, text=True, check=True).stdout.splitlines()
        frames, reader = read_all(path)
        assert reader.problem is None and len(frames) == len(out)
        for line, (ts, _, data, wire) in zip(out, frames):
            epoch, length, caplen = line.split("\t")
            sec, frac = epoch.split(".")
            assert ts == int(sec) * 10**9 + int(frac.ljust(9, "0")[:9])
            assert (wire, len(data)) == (int(length), int(caplen))
