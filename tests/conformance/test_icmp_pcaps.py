"""ICMP events from Packetbeat's ICMP captures: Packetbeat's system-test expectations
(packetbeat/tests/system/test_0050_icmp.py) and, per message, what tshark decodes."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from shardbeat.worker import replay_events
from tests.conformance.pcaps import pcap

# test_0050_icmp.py: capture → [(@timestamp, event.duration)], version, client, server.
PACKETBEAT = {
    "icmp/icmp_2_pings.pcap": ([("2015-10-19T21:47:49.900Z", 12152000),
                                ("2015-10-19T21:47:49.924Z", 11935000)], 4,
                               "10.0.0.1", "10.0.0.2"),
    "icmp/icmp4_ping.pcap": ([("2015-10-19T20:49:23.817Z", 20130000)], 4,
                             "10.0.0.1", "10.0.0.2"),
    "icmp/icmp4_ping_over_vlan.pcap": ([("2015-10-19T20:49:23.849Z", 12192000)], 4,
                                       "10.0.0.1", "10.0.0.2"),
    "icmp/icmp6_ping.pcap": ([("2015-10-19T20:49:23.872Z", 16439000)], 6, "::1", "::2"),
    "icmp/icmp6_ping_over_vlan.pcap": ([("2015-10-19T20:49:23.901Z", 12333000)], 6,
                                       "::1", "::2"),
}


def icmp_events(name: str) -> list[dict]:
    return [e for e in replay_events(str(pcap(name))) if e["type"] == "icmp"]


@pytest.mark.parametrize("name", sorted(PACKETBEAT))
def test_packetbeat_system_test_expectations(name):
    expected, version, client, server = PACKETBEAT[name]
    events = icmp_events(name)
    assert [(e["@timestamp"], e["event"]["duration"]) for e in events] == expected
    request_type, reply_type = (8, 0) if version == 4 else (128, 129)
    for ev in events:
        assert ev["icmp"]["version"] == version
        assert ev["event"]["dataset"] == "icmp" and ev["status"] == "OK"
        assert ev["source"]["bytes"] == 4 and ev["destination"]["bytes"] == 4
        assert ev["client"]["ip"] == client and ev["server"]["ip"] == server
        assert ev["path"] == server
        assert "port" not in ev["server"] and "transport" not in ev
        assert ev["network"]["transport"] == ("icmp" if version == 4 else "ipv6-icmp")
        assert ev["icmp"]["request"]["type"] == request_type
        assert ev["icmp"]["response"]["type"] == reply_type
        assert ev["icmp"]["request"]["code"] == ev["icmp"]["response"]["code"] == 0
        # gopacket's TypeCode.String(), which Packetbeat 8 calls, names a code-less type
        # without "(0)" (test_0050 still expects the pre-2016 "EchoRequest(0)").
        assert ev["icmp"]["request"]["message"] == "EchoRequest"
        assert ev["icmp"]["response"]["message"] == "EchoReply"


def _tshark(name: str, *fields: str) -> list[list[str]]:
    out = subprocess.run(
        ["tshark", "--enable-protocol", "communityid", "-r", str(pcap(name)), "-T",
         "fields", "-E", "occurrence=f", *[a for f in fields for a in ("-e", f)]],
        capture_output=True, text=True, timeout=60, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
@pytest.mark.parametrize("name", sorted(PACKETBEAT))
def test_matches_tshark(name):
    rows = _tshark(name, "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
                   "icmp.type", "icmpv6.type", "icmp.seq", "icmpv6.echo.sequence_number",
                   "data.len", "communityid")
    requests = [r for r in rows if r[5] == "8" or r[6] == "128"]
    replies = {r[7] or r[8]: r for r in rows if r[5] == "0" or r[6] == "129"}
    events = icmp_events(name)
    assert len(events) == len(requests)
    for ev, req in zip(events, requests):
        rep = replies[req[7] or req[8]]
        start = round(float(req[0]) * 1e9)
        end = round(float(rep[0]) * 1e9)
        assert abs(ev["event"]["duration"] - (end - start)) < 1000  # tshark prints µs
        assert ev["source"]["ip"] == (req[1] or req[2])
        assert ev["destination"]["ip"] == (req[3] or req[4])
        assert ev["source"]["bytes"] == int(req[9])
        assert ev["destination"]["bytes"] == int(rep[9])
        assert ev["network"]["community_id"] == req[10] == rep[10]
