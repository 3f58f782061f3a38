"""Packets built from batch columns read as the scalar decoder's: `stream_packets` in every
field the stream layer reads, `packets_from_columns` in every field."""

from __future__ import annotations

import numpy as np
import pytest

from shardbeat.capture.batch import open_batches
from shardbeat.decode.batch import decode_columns
from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters
from shardbeat.worker_packets import STREAM_FIELDS, packets_from_columns, stream_packets
from tests.conformance.pcaps import PCAPS, all_pcaps
from tests.unit.packets import eth, ipv4, ipv6, tcp, udp, write_pcap


def _fields(pkt: Packet, names) -> dict:
    return {name: bytes(getattr(pkt, name)) if name == "payload" else getattr(pkt, name)
            for name in names}


def _check(path) -> int:
    reader, batches = open_batches(str(path))
    checked = 0
    with reader:
        for batch in batches:
            cols, _ = decode_columns(batch)
            rows = np.flatnonzero(np.isin(cols.proto, (6, 17)))
            decoder = Decoder(Counters())
            scalar = [decoder.decode(int(batch.ts[i]), int(batch.linktype[i]),
                                     batch.frame(i), int(batch.wirelen[i]))
                      for i in cols.idx[rows].tolist()]
            lean = stream_packets(batch, cols, rows)
            whole = packets_from_columns(batch, cols, rows.tolist())
            for want, got, full in zip(scalar, lean, whole):
                assert _fields(got, STREAM_FIELDS) == _fields(want, STREAM_FIELDS)
                assert _fields(full, Packet.__slots__) == _fields(want, Packet.__slots__)
            checked += len(rows)
    return checked


def test_synthetic_shapes_read_alike(tmp_path):
    frames = []
    for i in range(40):
        payload = bytes([i]) * (i * 37 % 300)
        l4 = tcp(payload, sport=40000 + i, dport=80, seq=i * 1000, ack=i, flags="PA") \
            if i % 2 else udp(payload, sport=53, dport=30000 + i)
        l3 = ipv4(l4) if i % 3 else ipv6(l4)
        frames.append(eth(l3, vlans=[i + 1]) if i % 4 == 0 else eth(l3))
    path = tmp_path / "shapes.pcap"
    write_pcap(path, frames)
    assert _check(path) == 40


@pytest.mark.skipif(not PCAPS.is_dir(), reason="Packetbeat's captures are absent")
def test_packetbeat_captures_read_alike():
    assert sum(_check(path) for path in all_pcaps()) > 1000
