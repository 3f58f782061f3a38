"""The fast pcap batch reader gives the general reader's frames, timestamps and problems,
however small its read window: records straddling windows, records longer than a
window, records inside a window's last PAD bytes, truncated and corrupt tails; with the
record walk in C and in Python."""

from __future__ import annotations

import struct

import pytest

from shardbeat.capture import batch as batch_module
from shardbeat.capture.batch import PAD, open_batches
from shardbeat.capture.pcapfile import open_capture
from tests.unit.packets import eth, ipv4, pcap_bytes, tcp

WALKS = {"compiled": batch_module.locate_records, "python": batch_module.locate_records_py}


@pytest.fixture(params=sorted(WALKS))
def walk(request, monkeypatch):
    """Each test once with each record walk (the compiled one where it was built)."""
    if request.param == "compiled" and not batch_module.COMPILED_WALK:
        pytest.skip("the C record walk was not built (no C compiler at install)")
    monkeypatch.setattr(batch_module, "locate_records", WALKS[request.param])


FRAMES = [eth(ipv4(tcp(b"x" * (i * 37 % 700), sport=1000 + i))) for i in range(40)]


def general(path):
    with open_capture(str(path)) as reader:
        frames = [(ts, bytes(data), wire) for ts, _, data, wire in reader]
    return frames, reader.problem


def fast(path):
    reader, batches = open_batches(str(path))
    frames = []
    with reader:
        for b in batches:
            # Every frame taken has PAD bytes after it for the vectorised decoder.
            assert len(b.data) >= int(b.offsets[-1]) + int(b.caplen[-1]) + PAD
            frames += [(int(b.ts[i]), b.frame(i), int(b.wirelen[i])) for i in range(len(b))]
    return frames, reader.problem


@pytest.mark.parametrize("window", [64, 300, 1000, 4096, 1 << 22])
@pytest.mark.parametrize("cut", [0, 1, 17, 40])
def test_fast_reader_matches_the_general_one(tmp_path, monkeypatch, walk, window, cut):
    monkeypatch.setattr(batch_module, "_READ", window)
    data = pcap_bytes(FRAMES)
    path = tmp_path / "x.pcap"
    path.write_bytes(data[:len(data) - cut])
    expected, problem = general(path)
    assert fast(path) == (expected, problem)
    assert (problem is None) == (cut == 0)


@pytest.mark.parametrize("window", [64, 1000, 1 << 22])
def test_corrupt_record_length_stops_where_the_general_reader_stops(tmp_path, monkeypatch,
                                                                  walk, window):
    monkeypatch.setattr(batch_module, "_READ", window)
    data = bytearray(pcap_bytes(FRAMES))
    tenth = 24 + sum(16 + len(f) for f in FRAMES[:10])
    struct.pack_into("<I", data, tenth + 8, 0x7FFFFFFF)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    expected, problem = general(path)
    assert len(expected) == 10 and problem.startswith(f"capture corrupt at byte {tenth}")
    assert fast(path) == (expected, problem)
