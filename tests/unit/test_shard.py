"""The shard hash: symmetric, the same in every process, spread evenly, fast enough."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.packet import Packet
from shardbeat.decode.shard import shard_of
from shardbeat.metrics.counters import Counters
from tests.unit.packets import eth, icmp, ipv4, ipv6, tcp, udp


_DECODER = Decoder(Counters())


def packet(frame: bytes) -> Packet:
    pkt = _DECODER.decode(1, 1, frame)
    assert pkt is not None
    return pkt


def random_flows(n: int, seed: int = 7) -> list[tuple[Packet, Packet]]:
    """(forward, reverse) packet pairs of random TCP/UDP connections, v4 and v6."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        sport, dport = rng.randrange(1, 65536), rng.randrange(1, 65536)
        make = tcp if i % 2 else udp
        if i % 3:
            a, b = (f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
                    for _ in range(2))
            wrap = ipv4
        else:
            a, b = (f"2001:db8::{rng.randrange(65536):x}:{rng.randrange(65536):x}"
                    for _ in range(2))
            wrap = ipv6
        forward = eth(wrap(make(b"x", sport=sport, dport=dport), src=a, dst=b))
        reverse = eth(wrap(make(b"y", sport=dport, dport=sport), src=b, dst=a))
        pairs.append((packet(forward), packet(reverse)))
    return pairs


def test_both_directions_of_a_connection_share_a_shard():
    for fwd, rev in random_flows(300):
        for n in (2, 3, 4, 7, 16):
            assert shard_of(fwd, n) == shard_of(rev, n)
            assert 0 <= shard_of(fwd, n) < n


def test_same_host_both_sides_uses_ports_to_order():
    fwd = packet(eth(ipv4(tcp(sport=1, dport=2), src="127.0.0.1", dst="127.0.0.1")))
    rev = packet(eth(ipv4(tcp(sport=2, dport=1), src="127.0.0.1", dst="127.0.0.1")))
    assert all(shard_of(fwd, n) == shard_of(rev, n) for n in range(2, 20))


def test_icmp_request_and_reply_share_a_shard():
    req = packet(eth(ipv4(icmp(8), src="10.0.0.1", dst="10.0.0.2")))
    rep = packet(eth(ipv4(icmp(0), src="10.0.0.2", dst="10.0.0.1")))
    assert all(shard_of(req, n) == shard_of(rep, n) for n in range(2, 20))


def test_vlan_tags_do_not_move_a_connection():
    plain = packet(eth(ipv4(tcp())))
    tagged = packet(eth(ipv4(tcp()), vlans=[(0x88A8, 7), 9]))
    assert all(shard_of(plain, n) == shard_of(tagged, n) for n in range(2, 20))


def test_one_shard_is_always_zero():
    fwd, _ = random_flows(1)[0]
    assert shard_of(fwd, 1) == 0 and shard_of(fwd, 0) == 0


def test_connections_spread_evenly():
    counts = [0] * 4
    for fwd, _ in random_flows(2000):
        counts[shard_of(fwd, 4)] += 1
    assert min(counts) > 2000 / 4 * 0.8, counts


def test_same_value_in_another_process_with_another_hash_seed():
    flows = random_flows(50, seed=3)
    here = [shard_of(fwd, 7) for fwd, _ in flows]
    script = (
        "from tests.unit.test_shard import random_flows;"
        "from shardbeat.decode.shard import shard_of;"
        "print([shard_of(f, 7) for f, _ in random_flows(50, seed=3)])"
    )
    for seed in ("1", "12345"):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, env={"PYTHONHASHSEED": seed, "PATH": ""},
                             cwd=str(Path(__file__).resolve().parents[2]))
        assert out.stdout.strip() == str(here)


def test_the_batch_hash_agrees_with_the_scalar_one_bit_for_bit():
    import numpy as np

    from shardbeat.decode.shard import shard_of_columns

    pkts = [p for pair in random_flows(400, seed=11) for p in pair]

    def halves(ip):
        v = int.from_bytes(ip, "big")
        return v >> 64, v & ((1 << 64) - 1)

    src = [halves(p.src_ip) for p in pkts]
    dst = [halves(p.dst_ip) for p in pkts]
    col = lambda rows, i: np.array([r[i] for r in rows], dtype=np.uint64)  # noqa: E731
    for n in (2, 3, 5, 16):
        got = shard_of_columns((col(src, 0), col(src, 1)), (col(dst, 0), col(dst, 1)),
                               (np.array([p.src_port for p in pkts]),
                                np.array([p.dst_port for p in pkts])),
                               np.array([p.proto for p in pkts]), n)
        assert got.tolist() == [shard_of(p, n) for p in pkts]
