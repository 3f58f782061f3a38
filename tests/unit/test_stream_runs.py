"""Runs of body segments taken by length in one step (`StreamRows.packets` offering
`TcpTracker.skip_run`) end exactly as the frame-by-frame path: several keep-alive
connections interleaved in one batch (IPv4 and IPv6, VLAN-tagged or not, sharing
addresses or ports), their segments retransmitted, overlapping, swapped, lost, fragmented
(scalar frames between rows), ended by FIN or RST mid-body, with a connection table so
small that opening a connection evicts one whose run is under way."""

from __future__ import annotations

import random

import pytest

from shardbeat.config.load import load_config
from shardbeat.worker import Worker
from tests.protocols.test_http_driver import chunked, request, response
from tests.unit import test_batch_equivalence as equivalence
from tests.unit.packets import eth, fragments4, ipv4, ipv6, tcp

_BASE = 1_700_000_000 * 10**9


def _messages(rng: random.Random) -> tuple[bytes, bytes]:
    requests, responses = b"", b""
    for _ in range(rng.randrange(1, 4)):
        body = bytes([rng.randrange(65, 91)]) * rng.randrange(0, 12000)
        kind = rng.randrange(4)
        if kind == 0:
            requests += request()
            responses += response(body=body)
        elif kind == 1:
            requests += request()
            responses += response(headers={"Transfer-Encoding": "chunked"},
                                  body=chunked(*[p for p in (body[:3000], body[3000:]) if p]))
        elif kind == 2:
            requests += request(method="POST", body=body + b"x")
            responses += response("201 Created")
        else:
            requests += request(method="HEAD")
            responses += response(headers={"Content-Length": "9000"})
    return requests, responses


def _segments(rng: random.Random, sport: int, dport: int, isn: int, data: bytes) -> list:
    segs, pos = [], 0
    while pos < len(data):
        size = rng.choice((536, 1460, 1460, 1460, 2920, 7))
        segs.append((sport, dport, (isn + pos) & 0xFFFFFFFF, data[pos:pos + size], "PA"))
        pos += size
    out = []
    for s in segs:
        roll = rng.random()
        if roll < 0.02:
            continue  # lost
        out.append(s)
        if roll < 0.04:
            out.append(s)  # retransmitted
        elif roll < 0.06 and len(s[3]) > 2:
            out.append((s[0], s[1], (s[2] + 1) & 0xFFFFFFFF, s[3][1:], "PA"))  # overlap
        elif roll < 0.08 and len(out) > 1:
            out[-1], out[-2] = out[-2], out[-1]  # out of order
    return out


def _connection(rng: random.Random, n: int) -> list:
    """One connection's segments in order, as (sport, dport, seq, data, flags)."""
    client = 40000 + rng.randrange(3)  # some connections share both ports
    cisn, sisn = rng.randrange(1 << 32), rng.randrange(1 << 32)
    out = [(client, 80, cisn, b"", "S"), (80, client, sisn, b"", "SA")]
    cseq, sseq = cisn + 1, sisn + 1
    for _ in range(rng.randrange(1, 3)):
        requ, resp = _messages(rng)
        out += _segments(rng, client, 80, cseq, requ)
        out += _segments(rng, 80, client, sseq, resp)
        cseq, sseq = cseq + len(requ), sseq + len(resp)
    ending = rng.randrange(4)
    if ending == 1:  # FIN at some point, maybe mid-body
        out.insert(rng.randrange(2, len(out) + 1),
                   (80, client, sseq & 0xFFFFFFFF, b"", "FA"))
    elif ending == 2:
        out.insert(rng.randrange(2, len(out) + 1), (client, 80, cseq & 0xFFFFFFFF, b"", "R"))
    return out


def _frames(seed: int) -> list:
    rng = random.Random(seed)
    conns = [_connection(rng, n) for n in range(rng.randrange(2, 6))]
    shapes = [(rng.random() < 0.3, rng.choice([(), (7,)]), rng.randrange(2))
              for _ in conns]
    frames, ts = [], _BASE
    cursors = [0] * len(conns)
    while any(c < len(segs) for c, segs in zip(cursors, conns)):
        n = rng.choice([i for i, segs in enumerate(conns) if cursors[i] < len(segs)])
        # Several of a connection's segments in a row, as a busy sender sends them.
        for _ in range(rng.choice((1, 1, 3, 8))):
            if cursors[n] >= len(conns[n]):
                break
            sport, dport, seq, data, flags = conns[n][cursors[n]]
            cursors[n] += 1
            v6, vlans, host = shapes[n]
            segment = tcp(data, sport=sport, dport=dport, seq=seq, flags=flags)
            a, b = ("2001:db8::1", f"2001:db8::{2 + host}") if v6 else \
                ("10.0.0.1", f"10.0.0.{2 + host}")
            src, dst = (a, b) if dport == 80 else (b, a)
            if not v6 and data and rng.random() < 0.05:
                pieces = fragments4(segment, [24, len(segment) - 24], src=src, dst=dst,
                                    ident=len(frames))
            else:
                pieces = [(ipv6 if v6 else ipv4)(segment, src=src, dst=dst)]
            for piece in pieces:
                ts += rng.choice((1000, 1000, 2_000_000))
                frame = eth(piece, vlans=vlans)
                frames.append((ts, 1, frame, len(frame)))
    return frames


@pytest.mark.parametrize("max_connections", [262144, 2])
def test_runs_taken_by_length_publish_what_packets_do(monkeypatch, max_connections):
    settings = load_config(None, [
        "shardbeat.protocols.http.ports=[80]",
        f"shardbeat.tcp.max_connections={max_connections}"])
    monkeypatch.setattr(equivalence, "SETTINGS", settings)
    published = 0
    for seed in range(60):
        frames = _frames(seed)
        batched = equivalence.batched(frames)
        assert batched == equivalence.frame_by_frame(frames), seed
        published += len(batched[0])
    assert published > 200


def test_runs_are_taken_in_one_step():
    """A long body in one batch: its segments are taken in a call or two, not one each."""
    events: list = []
    worker = Worker(load_config(None, ["shardbeat.protocols.http.ports=[80]"]),
                    events.append)
    tracker = worker.pipeline.tcp
    calls: list[str] = []
    for name in ("skip_segment", "skip_run"):
        method = getattr(tracker, name)
        setattr(tracker, name, lambda *a, _m=method, _n=name: calls.append(_n) or _m(*a))
    resp = response(body=b"b" * 40000)
    segs = [(40000, 80, 1, request())]
    segs += [(80, 40000, 1 + pos, resp[pos:pos + 1460]) for pos in range(0, len(resp), 1460)]
    frames = []
    for n, (sport, dport, seq, data) in enumerate(segs):
        src, dst = ("10.0.0.1", "10.0.0.2") if dport == 80 else ("10.0.0.2", "10.0.0.1")
        frame = eth(ipv4(tcp(data, sport=sport, dport=dport, seq=seq), src=src, dst=dst))
        frames.append((_BASE + n * 1000, 1, frame, len(frame)))
    worker.run(frames)
    worker.finish()
    assert sum(b'"type":"http"' in e for e in events) == 1
    assert len(segs) > 25 and calls.count("skip_run") <= 3 and len(calls) <= 8
