"""The flow table: what is reported when, on packet time."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.flows.config import FlowsConfig
from shardbeat.flows.table import FlowTable
from shardbeat.metrics.counters import Counters
from shardbeat.transactions.event import timestamp_ms, timestamp_ns
from tests.unit.test_flows_packets import S, packet, reverse

T0 = 1_599_999_960 * S  # a multiple of every period and timeout used here (120 s)


def table(**options) -> tuple[FlowTable, list[dict], Counters]:
    events: list[dict] = []
    counters = Counters()
    return FlowTable(FlowsConfig(**options), events.append, counters), events, counters


def test_a_conversation_is_one_flow_whose_source_sent_first():
    flows, events, counters = table()
    syn = packet(T0 + 1 * S, "10.0.0.1", "10.0.0.2", 40000, 80, frame_len=74)
    flows.update(syn)
    flows.update(reverse(syn, T0 + 1 * S + 500, frame_len=66))
    flows.update(packet(T0 + 2 * S, "10.0.0.1", "10.0.0.2", 40000, 80, frame_len=100))
    flows.flush(T0 + 3 * S)
    assert len(events) == 1
    ev = events[0]
    assert ev["type"] == "flow"
    assert ev["flow"]["final"] is True
    assert ev["source"] == {"mac": "00-00-00-00-00-01", "ip": "10.0.0.1", "port": 40000,
                            "bytes": 174, "packets": 2}
    assert ev["destination"] == {"mac": "00-00-00-00-00-02", "ip": "10.0.0.2", "port": 80,
                                 "bytes": 66, "packets": 1}
    assert ev["network"]["bytes"] == 240 and ev["network"]["packets"] == 3
    assert ev["network"]["transport"] == "tcp" and ev["network"]["type"] == "ipv4"
    assert ev["event"]["start"] == timestamp_ns(T0 + 1 * S)
    assert ev["event"]["end"] == timestamp_ns(T0 + 2 * S)
    assert ev["event"]["duration"] == 1 * S
    assert ev["event"]["type"] == ["connection", "end"]
    assert ev["event"]["action"] == "network_flow" and ev["event"]["dataset"] == "flow"
    assert ev["@timestamp"] == timestamp_ms(T0 + 3 * S)
    assert counters.get("flows_opened") == 1 and counters.get("flows_reported") == 1


def test_reverse_first_packet_makes_the_responder_the_source():
    flows, events, _ = table()
    reply = packet(T0, "10.0.0.2", "10.0.0.1", 80, 40000)
    flows.update(reply)
    flows.update(reverse(reply, T0 + 1))
    flows.flush(T0 + S)
    assert events[0]["source"]["port"] == 80 and events[0]["destination"]["port"] == 40000


def test_destination_counts_appear_only_once_it_sent():
    flows, events, _ = table()
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 5000, 53, proto=17))
    flows.flush(T0 + S)
    dest = events[0]["destination"]
    assert "bytes" not in dest and "packets" not in dest
    assert events[0]["network"]["transport"] == "udp"


def test_periodic_reports_fall_on_multiples_of_the_period():
    flows, events, _ = table(period="10s", timeout="30s")
    first = packet(T0 + 3 * S, "10.0.0.1", "10.0.0.2", 1, 2)
    flows.update(first)
    flows.update(packet(T0 + 12 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.tick(T0 + 25 * S)
    assert [e["@timestamp"] for e in events] == [timestamp_ms(T0 + 10 * S),
                                                  timestamp_ms(T0 + 20 * S)]
    assert [e["flow"]["final"] for e in events] == [False, False]
    assert [e["source"]["packets"] for e in events] == [1, 2]  # totals, not deltas
    assert events[0]["event"]["type"] == ["connection"]
    assert events[0]["flow"]["id"] == events[1]["flow"]["id"]


def test_reports_are_due_before_a_later_packet_counts_even_without_tick():
    flows, events, _ = table(period="10s")
    flows.update(packet(T0 + 9 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.update(packet(T0 + 11 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    assert len(events) == 1 and events[0]["source"]["packets"] == 1


def test_idle_flow_ends_with_one_final_report():
    flows, events, counters = table(period="10s", timeout="30s")
    flows.update(packet(T0 + 1 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.tick(T0 + 100 * S)
    finals = [e for e in events if e["flow"]["final"]]
    assert len(finals) == 1
    # idle for more than 30 s first at the pass at +40 s; reports at +10, +20, +30 before it
    assert finals[0]["@timestamp"] == timestamp_ms(T0 + 40 * S)
    assert len(events) == 4
    assert counters.get("flows_idle_timeout") == 1 and len(flows) == 0
    flows.flush(T0 + 200 * S)
    assert len(events) == 4


def test_period_minus_one_reports_only_when_a_flow_ends():
    flows, events, _ = table(period=-1, timeout="30s")
    flows.update(packet(T0 + 1 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.update(packet(T0 + 29 * S, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.tick(T0 + 59 * S)
    assert events == []
    flows.tick(T0 + 60 * S)  # passes every 30 s: at +60 idle 31 s
    assert len(events) == 1 and events[0]["flow"]["final"] is True
    assert events[0]["source"]["packets"] == 2


def test_delta_reports_count_since_the_previous_report():
    flows, events, _ = table(period="10s", enable_delta_flow_reports=True)
    p = packet(T0 + 1 * S, "10.0.0.1", "10.0.0.2", 1, 2, frame_len=100)
    flows.update(p)
    flows.update(reverse(p, T0 + 2 * S, frame_len=50))
    flows.update(packet(T0 + 11 * S, "10.0.0.1", "10.0.0.2", 1, 2, frame_len=100))
    flows.update(packet(T0 + 12 * S, "10.0.0.1", "10.0.0.2", 1, 2, frame_len=100))
    flows.tick(T0 + 25 * S)
    flows.flush(T0 + 26 * S)
    counts = [(e["source"]["bytes"], e["destination"]["bytes"], e["network"]["packets"])
              for e in events]
    assert counts == [(100, 50, 2), (200, 0, 2), (0, 0, 0)]
    assert [e["flow"]["final"] for e in events] == [False, False, True]


def test_active_timeout_ends_a_busy_flow_and_the_next_packet_starts_another():
    flows, events, counters = table(period=-1, timeout="30s", active_timeout="60s")
    for second in range(0, 100, 5):
        flows.update(packet(T0 + second * S + 1, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.flush(T0 + 100 * S)
    assert [e["flow"]["final"] for e in events] == [True, True]
    # passes every 30 s; at +90 the flow born at +0 is 90 s old (first pass >= 60 s old)
    assert events[0]["@timestamp"] == timestamp_ms(T0 + 90 * S)
    assert events[0]["source"]["packets"] == 18
    assert events[1]["event"]["start"] == timestamp_ns(T0 + 90 * S + 1)
    assert events[1]["source"]["packets"] == 2
    assert events[0]["flow"]["id"] == events[1]["flow"]["id"]
    assert counters.get("flows_active_timeout") == 1


def test_active_timeout_zero_is_off():
    flows, events, _ = table(period=-1, timeout="30s", active_timeout=0)
    for second in range(0, 300, 5):
        flows.update(packet(T0 + second * S, "10.0.0.1", "10.0.0.2", 1, 2))
    assert events == []


def test_full_table_evicts_the_longest_idle_flow_with_a_final_report():
    flows, events, counters = table(max_flows=2)
    flows.update(packet(T0 + 1, "10.0.0.1", "10.0.0.9", 1, 2))
    flows.update(packet(T0 + 2, "10.0.0.2", "10.0.0.9", 1, 2))
    flows.update(packet(T0 + 3, "10.0.0.1", "10.0.0.9", 1, 2))  # the first is busy again
    flows.update(packet(T0 + 4, "10.0.0.3", "10.0.0.9", 1, 2))
    assert len(events) == 1 and events[0]["flow"]["final"] is True
    assert events[0]["source"]["ip"] == "10.0.0.2"
    assert counters.get("flows_evicted") == 1 and len(flows) == 2


def test_vlans_are_part_of_the_flow():
    flows, events, _ = table()
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2, vlans=(10,)))
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2, vlans=(11,)))
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2, vlans=(101, 600)))
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.flush(T0 + S)
    assert [e["flow"].get("vlan") for e in events] == [10, 11, [101, 600], None]
    assert len({e["flow"]["id"] for e in events}) == 4


def test_macs_split_flows_unless_mismatched_eth_is_allowed():
    other = bytes.fromhex("00000000000f")
    for allow, expected in ((False, 2), (True, 1)):
        flows, events, _ = table(allow_mismatched_eth=allow)
        p = packet(T0, "10.0.0.1", "10.0.0.2", 1, 2)
        flows.update(p)
        flows.update(reverse(p, T0 + 1, src_mac=other))  # the reply via another router
        flows.flush(T0 + S)
        assert len(events) == expected
        assert ("mac" in events[0]["source"]) is not allow


def test_no_macs_from_a_cooked_capture():
    flows, events, _ = table()
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2, macs=(b"", b"")))
    flows.flush(T0 + S)
    assert "mac" not in events[0]["source"] and "mac" not in events[0]["destination"]


def test_ipv6_flow():
    flows, events, _ = table()
    flows.update(packet(T0, "::1", "::2", 1, 2, proto=17, frame_len=70))
    flows.flush(T0 + S)
    assert events[0]["network"]["type"] == "ipv6"
    assert events[0]["source"]["ip"] == "::1" and events[0]["destination"]["ip"] == "::2"


def test_icmp_flow_takes_transport_and_community_id_from_the_source_message():
    flows, events, _ = table()
    echo = packet(T0, "10.0.0.1", "10.0.0.2", proto=1, frame_len=50, icmp=(8, 0))
    flows.update(echo)
    flows.update(reverse(echo, T0 + 1, icmp_type=0))
    flows.flush(T0 + S)
    ev = events[0]
    assert "port" not in ev["source"] and "port" not in ev["destination"]
    assert ev["network"]["transport"] == "icmp"
    assert ev["source"]["bytes"] == 50 and ev["destination"]["packets"] == 1
    # an echo request 10.0.0.1 → 10.0.0.2, computed independently by tshark
    assert ev["network"]["community_id"] == "1:YcMyyWJfhc95EW1GfXt6jlZ3DiQ="


def test_icmp_flow_whose_source_only_replied_has_no_transport_as_in_packetbeat():
    flows, events, _ = table()
    flows.update(packet(T0, "10.0.0.2", "10.0.0.1", proto=1, icmp=(0, 0)))
    flows.flush(T0 + S)
    assert "transport" not in events[0]["network"]
    assert "community_id" not in events[0]["network"]


def test_other_ip_protocols_flow_without_ports_or_transport():
    flows, events, _ = table()
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", proto=47))
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", proto=50))
    flows.flush(T0 + S)
    assert len(events) == 2 and events[0]["flow"]["id"] != events[1]["flow"]["id"]
    assert all("transport" not in e["network"] and "port" not in e["source"] for e in events)


def test_same_host_and_port_both_sides_is_still_one_flow():
    flows, events, _ = table()
    p = packet(T0, "127.0.0.1", "127.0.0.1", 7, 7, proto=17)
    flows.update(p)
    flows.update(reverse(p, T0 + 1))
    flows.flush(T0 + S)
    assert len(events) == 1 and events[0]["destination"]["packets"] == 1


def test_an_empty_table_skips_long_gaps_in_packet_time():
    flows, events, _ = table(period="1s", timeout="1s")
    flows.update(packet(T0, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.tick(T0 + 10**6 * S)  # a million passes due: two with the flow, then skipped
    flows.update(packet(T0 + 10**6 * S + 1, "10.0.0.1", "10.0.0.2", 1, 2))
    flows.flush(T0 + 10**6 * S + 2)
    assert len(events) == 3


@pytest.mark.parametrize("delta", [False, True])
def test_two_shards_publish_what_one_table_publishes(delta):
    """Each shard counts its own packets but sees every timestamp (as workers do)."""
    rng = random.Random(7)
    hosts = [f"10.0.0.{i}" for i in range(1, 9)]
    packets, ts = [], T0
    for _ in range(600):
        ts += rng.randrange(1, 3 * S)
        a, b = rng.sample(hosts, 2)
        packets.append(packet(ts, a, b, rng.choice([1, 2]), 80, frame_len=rng.randrange(60, 1500),
                              proto=rng.choice([6, 17])))
    options = dict(period="10s", timeout="30s", active_timeout="120s",
                   enable_delta_flow_reports=delta)
    whole, whole_events, _ = table(**options)
    shards = [table(**options) for _ in range(2)]
    for p in packets:
        whole.update(p)
        mine = hash(frozenset((p.src_ip, p.dst_ip))) % 2
        for i, (shard, _, _) in enumerate(shards):
            shard.update(p) if i == mine else shard.tick(p.ts)
    end = packets[-1].ts
    whole.flush(end)
    for shard, _, _ in shards:
        shard.flush(end)

    def canon(events):
        return sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in events)

    assert len(whole_events) > len(packets) // 10
    assert canon(whole_events) == canon(shards[0][1] + shards[1][1])


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 40 * S), st.integers(0, 3),
                                st.integers(0, 3), st.sampled_from([1, 6, 17, 47, 58])),
                      min_size=1, max_size=60),
       max_flows=st.integers(1, 5), delta=st.booleans())
def test_every_packet_is_counted_exactly_once(steps, max_flows, delta):
    """Whatever ends flows (idle, age, a full table, end of capture), the packets and bytes
    reported add up to what was seen: finals carry totals, delta reports carry parts."""
    flows, events, _ = table(period="10s", timeout="5s", active_timeout="20s",
                             max_flows=max_flows, enable_delta_flow_reports=delta)
    ts, seen = T0, 0
    for gap, a, b, proto in steps:
        ts += gap
        v6 = proto == 58
        host = (lambda n: f"::{n + 1}") if v6 else (lambda n: f"10.0.0.{n + 1}")
        flows.update(packet(ts, host(a), host(b), a, b, proto=proto, frame_len=100))
        seen += 1
    flows.flush(ts)
    counted = events if delta else [e for e in events if e["flow"]["final"]]
    assert sum(e["network"]["packets"] for e in counted) == seen
    assert sum(e["network"]["bytes"] for e in counted) == 100 * seen
    assert len(flows) == 0
