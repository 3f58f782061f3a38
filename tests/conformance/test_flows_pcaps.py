"""Flow events from Packetbeat's captures: Packetbeat's system-test expectations
(packetbeat/tests/system/test_0060_flows.py) and per-direction totals from tshark."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict

import pytest

from shardbeat.worker import replay_events
from tests.conformance.pcaps import pcap

# test_0060_flows.py, MACs in the ECS notation Packetbeat 8 writes (the test predates it).
PACKETBEAT = {
    "mysql_long.pcap": {
        "source.mac": "0A-00-27-00-00-00", "destination.mac": "08-00-27-76-D7-41",
        "source.ip": "192.168.33.1", "destination.ip": "192.168.33.14",
        "network.transport": "tcp", "source.port": 60137, "destination.port": 3306,
        "source.packets": 22, "source.bytes": 1480,
        "destination.packets": 10, "destination.bytes": 181133,
    },
    "memcache/memcache_bin_udp_counter_ops.pcap": {
        "source.mac": "AC-BC-32-77-41-0B", "destination.mac": "08-00-27-DD-3B-28",
        "source.ip": "192.168.188.37", "destination.ip": "192.168.188.38",
        "network.transport": "udp", "source.port": 63888, "destination.port": 11211,
        "source.packets": 3, "source.bytes": 280,
    },
    "icmp/icmp4_ping_over_vlan.pcap": {
        "source.mac": "00-00-00-00-00-01", "destination.mac": "00-00-00-00-00-02",
        "flow.vlan": 10, "source.ip": "10.0.0.1", "destination.ip": "10.0.0.2",
        "source.bytes": 50, "source.packets": 1,
        "destination.bytes": 50, "destination.packets": 1,
    },
    "icmp/icmp6_ping_over_vlan.pcap": {
        "flow.vlan": 10, "source.mac": "00-00-00-00-00-01", "source.ip": "::1",
        "source.bytes": 70, "source.packets": 1, "destination.mac": "00-00-00-00-00-02",
        "destination.ip": "::2", "destination.bytes": 70, "destination.packets": 1,
        "network.bytes": 140, "network.packets": 2,
    },
}


def dotted(event: dict, key: str):
    value = event
    for part in key.split("."):
        value = value[part]
    return value


def flows(name: str, *overrides: str) -> list[dict]:
    return [e for e in replay_events(str(pcap(name)), list(overrides)) if e["type"] == "flow"]


@pytest.mark.parametrize("name", sorted(PACKETBEAT))
def test_packetbeat_system_test_expectations(name):
    events = flows(name)
    assert len(events) == 1
    ev = events[0]
    assert ev["flow"]["final"] is True
    assert ev["event"]["action"] == "network_flow"
    for key, value in PACKETBEAT[name].items():
        assert dotted(ev, key) == value, key
    assert ev["event"]["end"] >= ev["event"]["start"]


def _tshark_directions(name: str) -> dict[tuple, list[int]]:
    """(src ip, src port, dst ip, dst port, transport) → [packets, wire bytes]."""
    out = subprocess.run(
        ["tshark", "-r", str(pcap(name)), "-Y", "tcp or udp", "-T", "fields",
         "-E", "occurrence=f", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst",
         "-e", "ipv6.dst", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport",
         "-e", "udp.dstport", "-e", "frame.len"],
        capture_output=True, text=True, timeout=60, check=True)
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for line in out.stdout.splitlines():
        f = line.split("\t")
        transport = "tcp" if f[4] else "udp"
        key = (f[0] or f[1], int(f[4] or f[5]), f[2] or f[3], int(f[6] or f[7]), transport)
        totals[key][0] += 1
        totals[key][1] += int(f[8])
    return totals


def _tshark_community_ids(name: str) -> set[str]:
    out = subprocess.run(
        ["tshark", "--enable-protocol", "communityid", "-r", str(pcap(name)), "-Y",
         "tcp or udp", "-T", "fields", "-e", "communityid"],
        capture_output=True, text=True, timeout=60, check=True)
    return set(out.stdout.split())


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("name", ["dns_google_com.pcap", "http_post.pcap",
                                  "http_over_vlan.pcap", "ipv6_thrift.pcap",
                                  "mysql_long.pcap", "redis_session.pcap"])
def test_final_totals_match_tshark(name):
    # One final report per flow: no idle split, no periodic reports.
    events = flows(name, "shardbeat.flows.timeout=24h", "shardbeat.flows.period=-1")
    totals = _tshark_directions(name)
    seen = {}
    for ev in events:
        if "port" not in ev["source"]:
            continue
        assert ev["flow"]["final"] is True
        src, dst = ev["source"], ev["destination"]
        transport = ev["network"]["transport"]
        fwd = (src["ip"], src["port"], dst["ip"], dst["port"], transport)
        rev = (dst["ip"], dst["port"], src["ip"], src["port"], transport)
        seen[fwd] = [src["packets"], src["bytes"]]
        if "packets" in dst:
            seen[rev] = [dst["packets"], dst["bytes"]]
    assert seen == dict(totals)
    assert {e["network"]["community_id"] for e in events if "port" in e["source"]} == \
        _tshark_community_ids(name)


def test_periodic_reports_add_up_in_delta_mode():
    name = "redis_session.pcap"  # 67 s of one connection
    whole = flows(name, "shardbeat.flows.timeout=24h", "shardbeat.flows.period=-1")
    deltas = flows(name, "shardbeat.flows.timeout=24h", "shardbeat.flows.period=10s",
                   "shardbeat.flows.enable_delta_flow_reports=true")
    assert len(whole) == 1 and len(deltas) >= 6
    assert [e["flow"]["final"] for e in deltas] == [False] * (len(deltas) - 1) + [True]
    assert {e["flow"]["id"] for e in deltas} == {whole[0]["flow"]["id"]}
    stamps = [e["@timestamp"] for e in deltas[:-1]]
    assert all(s.endswith("0.000Z") for s in stamps), stamps  # multiples of 10 s
    for side in ("source", "destination"):
        for what in ("packets", "bytes"):
            assert sum(e[side].get(what, 0) for e in deltas) == whole[0][side][what]
