"""Packets built from batch columns read as the scalar decoder's: `stream_packets` in every
field the stream layer reads, and what flows keep of a first packet in every field."""

from __future__ import annotations

import numpy as np
import pytest

from shardbeat.capture.batch import open_batches
from shardbeat.decode.batch import decode_columns
from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters
from shardbeat.flows.batch import _first_packets
from shardbeat.flows.table import first_packet
from shardbeat.worker_packets import STREAM_FIELDS, stream_packets
from tests.conformance.pcaps import PCAPS, all_pcaps
from tests.unit.packets import MAC_A, MAC_B, eth, fragments4, ipv4, ipv6, tcp, udp, write_pcap


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
            vlan = np.where(cols.has_vlan, cols.vlan + 1, 0)
            firsts = _first_packets(batch, cols, rows, [
                col[rows].tolist() for col in (cols.proto, cols.version, vlan)])
            for want, got, first in zip(scalar, lean, firsts, strict=True):
                assert _fields(got, STREAM_FIELDS) == _fields(want, STREAM_FIELDS)
                assert first == first_packet(want)
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


def test_body_segments_taken_by_length_in_the_batch_path_publish_what_packets_do():
    """Two keep-alive connections interleaved, bodies over many segments, one segment
    retransmitted, one pair swapped, some segments fragmented (the first connection's first
    among them): the batch path (which takes body segments by length before building
    packets) publishes what the frame-by-frame path does, flows included."""
    from tests.protocols.test_http_driver import request, response
    from tests.unit.test_batch_equivalence import batched, frame_by_frame

    conns = []
    for n, sport in enumerate((41000, 41001)):
        resp = b"".join(response(body=bytes([65 + i]) * (3000 + 1000 * i + n))
                        for i in range(4))
        requ = request() * 4
        segs = [(sport, 80, 1 + pos, requ[pos:pos + 1460]) for pos in range(0, len(requ), 1460)]
        segs += [(80, sport, 7 + pos, resp[pos:pos + 1460]) for pos in range(0, len(resp), 1460)]
        conns.append(segs)
    conns[0].insert(5, conns[0][4])  # a retransmission
    conns[1][6], conns[1][7] = conns[1][7], conns[1][6]  # out of order
    frames, ts = [], 1_700_000_000 * 10**9
    for n, (a, b) in enumerate(zip(*conns)):
        for sport, dport, seq, data in (a, b):
            src, dst = ("10.0.0.1", "10.0.0.2") if dport == 80 else ("10.0.0.2", "10.0.0.1")
            segment = tcp(data, sport=sport, dport=dport, seq=seq)
            # Every third segment of the first connection comes as IP fragments: frames
            # the scalar path decodes, between runs of batch-decoded rows.
            pieces = fragments4(segment, [24, len(segment) - 24], src=src, dst=dst,
                                ident=n) if n % 3 == 1 and 41000 in (sport, dport) else \
                [ipv4(segment, src=src, dst=dst)]
            for piece in pieces:
                ts += 1_000_000
                frames.append((ts, 1, eth(piece), len(eth(piece))))
    events, counters = batched(frames)
    assert (events, counters) == frame_by_frame(frames)
    assert sum(b'"type":"flow"' not in e for e in events) >= 6


def test_a_flow_whose_first_packet_is_fragmented_starts_there_in_the_batch_path():
    """The client's first datagram comes in IP fragments (scalar path), the server's reply
    whole (batch path) in the same segment: the flow still starts at the client's packet,
    with the client as its source, as frame by frame."""
    from tests.unit.test_batch_equivalence import batched, frame_by_frame

    ts = 1_700_000_000 * 10**9
    query = udp(b"q" * 600, sport=40000, dport=9999)
    frames = [(ts + i * 1000, 1, eth(piece), len(eth(piece)))
              for i, piece in enumerate(fragments4(query, [304, len(query) - 304]))]
    reply = eth(ipv4(udp(b"r" * 100, sport=9999, dport=40000), src="10.0.0.2",
                     dst="10.0.0.1"), src=MAC_B, dst=MAC_A)
    frames.append((ts + 5000, 1, reply, len(reply)))
    events, counters = batched(frames)
    assert (events, counters) == frame_by_frame(frames)
    flow, = [e for e in events if b'"type":"flow"' in e]
    assert b'"source":{"mac":"' in flow and b'"ip":"10.0.0.1","port":40000' in flow
