"""The batch path (vectorised decode, per-flow accounting, per-packet only for parsers)
publishes exactly what the plain frame-by-frame path publishes: same events, same counters.

The frame-by-frame loop here is the specification: scalar decode, flows and streams per
packet, timers whenever a frame's time passes the next tick."""

from __future__ import annotations

import orjson
import pytest

from shardbeat.capture.pcapfile import open_capture
from shardbeat.config.load import load_config
from shardbeat.worker import TICK_NS, Worker
from tests.conformance.pcaps import PCAPS, all_pcaps
from tests.unit.packets import eth, ipv4, ipv6, tcp, udp

SETTINGS = load_config(None, ["shardbeat.protocols.http.ports=[80,8080,8000,5000,8002,8888]"])


def frame_by_frame(frames):
    out = []
    worker = Worker(SETTINGS, out.append)
    pipeline, decoder = worker.pipeline, worker._decoder
    for ts, linktype, data, wire_len in frames:
        if ts >= worker._next_tick:
            worker._tick(ts)
        pkt = decoder.decode(ts, linktype, data, wire_len)
        if pkt is not None:
            pipeline.dispatch(pkt)
    worker._now = max([worker._now] + [f[0] for f in frames])
    worker.finish()
    return sorted(out), worker.counters.snapshot()


def batched(frames):
    out = []
    worker = Worker(SETTINGS, out.append)
    worker.run(frames)
    worker.finish()
    return sorted(out), worker.counters.snapshot()


def frames_of(path):
    with open_capture(str(path)) as reader:
        return [(ts, lt, bytes(d), wl) for ts, lt, d, wl in reader]


@pytest.mark.parametrize("path", all_pcaps(), ids=lambda p: str(p.relative_to(PCAPS)))
def test_every_capture_gives_the_same_events_and_counters(path):
    frames = frames_of(path)
    assert batched(frames) == frame_by_frame(frames)


def test_mixed_shapes_in_one_batch_stay_in_order_across_ticks():
    """VLAN-tagged, IPv6, UDP and TCP frames interleaved over several seconds, with time
    going backwards once, in batches that straddle ticks and flow report instants."""
    frames = []
    t = 1_700_000_000 * TICK_NS
    for i in range(3000):
        ts = t + i * 7_000_000 - (50_000_000 if i == 1500 else 0)
        sport = 40000 + i % 37
        if i % 3 == 0:
            pkt = ipv4(tcp(b"GET / HTTP/1.1\r\n\r\n" if i % 2 else b"", sport=sport, dport=80,
                           seq=i), src="10.0.0.1", dst="10.0.0.2")
        elif i % 3 == 1:
            pkt = ipv6(udp(b"x" * (i % 50), sport=sport, dport=5353), src="2001:db8::1",
                       dst="2001:db8::2")
        else:
            pkt = ipv4(udp(b"y", sport=53, dport=sport), src="10.0.0.2", dst="10.0.0.1")
        frame = eth(pkt, vlans=[7]) if i % 5 == 0 else eth(pkt)
        frames.append((ts, 1, frame, len(frame)))
    assert batched(frames) == frame_by_frame(frames)


def test_bare_acks_keep_a_quiet_connection_alive_in_the_batch_path_too():
    """Only bare ACKs for longer than the TCP idle timeout, then the response: the ACKs
    keep the connection open in both paths, so the request and response still pair."""
    settings = load_config(None, ["shardbeat.tcp.idle_timeout=5s",
                                  "shardbeat.protocols.http.transaction_timeout=60s"])
    c, s = dict(src="10.0.0.1", dst="10.0.0.2"), dict(src="10.0.0.2", dst="10.0.0.1")
    request = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    t0 = 1_700_000_000 * TICK_NS
    steps = [(0, ipv4(tcp(sport=40000, dport=80, seq=100, flags="S"), **c)),
             (1, ipv4(tcp(sport=80, dport=40000, seq=500, ack=101, flags="SA"), **s)),
             (2, ipv4(tcp(request, sport=40000, dport=80, seq=101, ack=501), **c))]
    steps += [(1000 * i, ipv4(tcp(sport=80, dport=40000, seq=501, ack=101 + len(request),
                                  flags="A"), **s)) for i in range(1, 9)]
    steps.append((9000, ipv4(tcp(response, sport=80, dport=40000, seq=501,
                                 ack=101 + len(request)), **s)))
    frames = [(t0 + ms * 1_000_000, 1, eth(p), len(eth(p))) for ms, p in steps]

    def http_events(run_frames):
        out = []
        worker = Worker(settings, out.append)
        run_frames(worker, frames)
        worker.finish()
        return [e for e in map(orjson.loads, out) if e["type"] == "http"]

    def by_frame(worker, frames):
        for ts, linktype, data, wire_len in frames:
            if ts >= worker._next_tick:
                worker._tick(ts)
            pkt = worker._decoder.decode(ts, linktype, data, wire_len)
            worker.pipeline.dispatch(pkt)
        worker._now = frames[-1][0]

    batched_events = http_events(lambda w, f: w.run(f))
    assert batched_events == http_events(by_frame)
    [event] = batched_events
    assert event["status"] == "OK" and event["http"]["response"]["status_code"] == 200
