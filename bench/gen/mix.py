"""Plan the traffic mix, then merge every connection's packets into one time-ordered stream.

Planning draws every connection (protocol, start time, endpoints, messages) from one seeded
`random.Random`, so the same seed and packet count give the same bytes. Each protocol gets a
packet budget (its share of the total); connections are added until the budget is met.
Bytes are produced lazily during the merge: a connection's generator holds only its plan.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Iterator

from . import dns, http, mysql, pgsql, redis, tcp
from .corpus import Corpus
from .wire import Side, ip_bytes

SHARES = {"http": 0.59, "dns": 0.15, "redis": 0.10, "mysql": 0.09, "pgsql": 0.07}
SERVERS = {  # protocol: (address prefix, count, ports)
    "http": ("172.16.1.", 24, (80, 80, 80, 80, 8080)),
    "dns": ("172.16.0.", 2, (53,)),
    "redis": ("172.16.3.", 4, (6379,)),
    "mysql": ("172.16.4.", 3, (3306,)),
    "pgsql": ("172.16.5.", 3, (5432,)),
}
RTT_MEDIAN_NS = {"http": 12e6, "redis": 300e3, "mysql": 400e3, "pgsql": 400e3}
EPHEMERAL = (32768, 61000)
EPOCH_NS = 1_709_294_400 * 10**9          # 2024-03-01 12:00:00 UTC


@dataclass
class Totals:
    packets: dict = field(default_factory=dict)
    flows: dict = field(default_factory=dict)
    details: dict = field(default_factory=lambda: {
        "http": http.HttpStats(), "dns": dns.DnsStats(), "redis": redis.RedisStats(),
        "mysql": mysql.MysqlStats(), "pgsql": pgsql.PgsqlStats()})

    def as_dict(self) -> dict:
        return {p: {"packets": self.packets.get(p, 0), "flows": self.flows.get(p, 0),
                    **asdict(self.details[p])} for p in SHARES}


class Addresses:
    """Client addresses and ports, each (address, port) used by one flow only."""

    def __init__(self, rng: random.Random, n_clients: int) -> None:
        self.rng = rng
        self.clients = [bytes((10, i >> 16 & 0xFF, i >> 8 & 0xFF, i & 0xFF))
                        for i in rng.sample(range(1 << 16, 1 << 24), n_clients)]
        self.used: set[tuple[bytes, int]] = set()
        self.servers = {p: ([ip_bytes(f"{pre}{10 + i}") for i in range(n)], ports)
                        for p, (pre, n, ports) in SERVERS.items()}

    def pair(self, proto: str) -> tcp.Endpoints:
        rng = self.rng
        while True:
            client = (rng.choice(self.clients), rng.randrange(*EPHEMERAL))
            if client not in self.used:
                self.used.add(client)
                break
        ips, ports = self.servers[proto]
        return tcp.Endpoints(client, (rng.choice(ips), rng.choice(ports)))


class Mix:
    def __init__(self, seed: int, packets: int, duration_s: float) -> None:
        self.rng = random.Random(seed)
        self.corpus = Corpus(self.rng)
        self.addrs = Addresses(self.rng, max(1000, packets // 60))
        self.duration_ns = int(duration_s * 1e9)
        self.target = packets
        self.totals = Totals()
        self.tcp_plans: list[tuple] = []
        self.dns_frames: list[tuple[int, bytes]] = []
        self.spans: list[tuple[int, int]] = []      # (first, last packet) of every flow

    def plan(self) -> None:
        for proto, share in SHARES.items():
            budget = round(self.target * share)
            while self.totals.packets.get(proto, 0) < budget:
                n = self._plan_dns() if proto == "dns" else self._plan_tcp(proto)
                self.totals.packets[proto] = self.totals.packets.get(proto, 0) + n
                self.totals.flows[proto] = self.totals.flows.get(proto, 0) + 1
        self.dns_frames.sort()

    def _start(self) -> int:
        return EPOCH_NS + self.rng.randrange(self.duration_ns)

    def _plan_tcp(self, proto: str) -> int:
        rng, start = self.rng, self._start()
        stats = self.totals.details[proto]
        if proto == "http":
            host = rng.choice(self.corpus.domains)
            msgs = http.plan(rng, self.corpus, host, (start - EPOCH_NS) // 10**9, stats)
        else:
            msgs = {"redis": redis.plan, "mysql": mysql.plan, "pgsql": pgsql.plan}[proto](
                rng, self.corpus, stats)
        rtt = int(rng.lognormvariate(math.log(RTT_MEDIAN_NS[proto]), 0.6))
        seeds = (rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(16))
        self.tcp_plans.append((self.addrs.pair(proto), start, rtt, msgs, seeds))
        return tcp.count_packets(msgs)

    def _plan_dns(self) -> int:
        rng, start = self.rng, self._start()
        query, response = dns.plan(rng, self.corpus, self.totals.details["dns"])
        ends = self.addrs.pair("dns")
        ip_id = rng.getrandbits(16)
        latency = int(rng.uniform(200e3, 900e3) if rng.random() < 0.7 else rng.uniform(8e6, 80e6))
        self.dns_frames.append((start, Side(ends.client, ends.server, 17, 64, ip_id).udp(query)))
        self.dns_frames.append((start + latency,
                                Side(ends.server, ends.client, 17, 63, ip_id).udp(response)))
        self.spans.append((start, start + latency))
        return 2

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """Every frame of the capture in time order (ties broken deterministically)."""
        streams = [self._spanned(tcp.packets(*p)) for p in self.tcp_plans]
        streams.append(iter(self.dns_frames))
        return heapq.merge(*streams)

    def _spanned(self, stream: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        first = last = None
        for item in stream:
            last = item[0]
            first = last if first is None else first
            yield item
        self.spans.append((first, last))

    def peak_open_flows(self, idle_timeout_s: float) -> int:
        """Most flows a flow table holds at once if each stays until idle for the timeout
        (call after frames() is exhausted): what the per-worker memory goal is stated against."""
        idle = int(idle_timeout_s * 1e9)
        edges = sorted([(a, 1) for a, _ in self.spans] + [(b + idle, -1) for _, b in self.spans])
        peak = cur = 0
        for _, step in edges:
            cur += step
            peak = max(peak, cur)
        return peak
