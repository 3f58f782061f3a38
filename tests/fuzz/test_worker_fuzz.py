"""Hostile bytes through the whole worker: every Packetbeat capture with bytes flipped,
frames cut short and payloads shuffled must not raise, and must not crash a parser (a
crash is caught and counted, which would hide a bug: so the counters must stay at zero)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardbeat.capture.pcapfile import open_capture
from shardbeat.config.load import load_config
from shardbeat.worker import Worker
from tests.conformance.pcaps import PCAPS, all_pcaps

CAPTURES = all_pcaps()
SETTINGS = load_config(None, [])


def frames_of(path):
    with open_capture(str(path)) as reader:
        return [(ts, lt, bytes(data), wl) for ts, lt, data, wl in reader]


def mutate(frames, rng):
    out = []
    for ts, lt, data, wl in frames:
        data = bytearray(data)
        roll = rng.random()
        if roll < 0.4 and data:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif roll < 0.55 and data:
            del data[rng.randrange(len(data)):]
        elif roll < 0.65 and len(data) > 60:
            tail = data[54:]
            rng.shuffle(tail)
            data[54:] = tail
        out.append((ts, lt, bytes(data), wl))
    if rng.random() < 0.3:
        rng.shuffle(out)
    return out


def run_worker(frames):
    events = []
    worker = Worker(SETTINGS, events.append)
    worker.run(frames)
    worker.finish()
    return worker.counters.snapshot(), events


def assert_no_crash(counters):
    crashed = {k: v for k, v in counters.items()
               if k == "worker_packet_errors" or k.endswith("_parser_crashes")}
    assert not crashed, crashed


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(PCAPS)))
def test_flipped_bytes_never_raise_or_crash_a_parser(path):
    frames = frames_of(path)
    for seed in range(3):
        counters, _ = run_worker(mutate(frames, random.Random(f"{path.name}-{seed}")))
        assert_no_crash(counters)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(min_size=0, max_size=200), max_size=20),
       st.sampled_from([0, 1, 101, 108, 113, 276]))
def test_random_frames_of_any_link_type_never_raise(blobs, linktype):
    frames = [(1_000_000_000 * i, linktype, blob, len(blob)) for i, blob in enumerate(blobs)]
    counters, _ = run_worker(frames)
    assert_no_crash(counters)
