"""Flow reports encoded straight from a flow's pre-encoded parts, and the finished lines
rendered from a flow's template, are byte for byte what serialising `flow_event`'s dict
gives, on every capture, with and without delta reports."""

import random

import orjson
import pytest

from shardbeat.capture.batch import open_batches
from shardbeat.config.load import load_config
from shardbeat.flows import events
from shardbeat.flows.config import FlowsConfig
from shardbeat.flows.render import ReportLines
from shardbeat.flows.table import FlowTable
from shardbeat.metrics.counters import Counters
from shardbeat.worker import Worker
from tests.conformance.pcaps import PCAPS, all_pcaps, pcap
from tests.unit.test_flows import T0
from tests.unit.test_flows_packets import S, packet, reverse


def reports(path, overrides, monkeypatch, tail=b"}"):
    seen = []
    lines = ReportLines(tail)

    def all_routes(flow, report_ns, final):
        event = events.flow_event(flow, report_ns, final)
        expected = orjson.dumps(event)
        seen.append((expected, events.encoded_flow_report(flow, report_ns, final) + b"}"))
        seen.append((expected[:-1] + tail, lines.lines([flow], report_ns, final)[0]))
        return event

    monkeypatch.setattr("shardbeat.flows.table.flow_event", all_routes)
    worker = Worker(load_config(None, overrides + ["processors=[{add_tags: {tags: [x]}}]"]),
                    lambda _: None)
    reader, batches = open_batches(str(path))
    with reader:
        for batch in batches:
            worker.run_batch(batch)
    worker.finish()
    return seen


@pytest.mark.parametrize("path", all_pcaps(), ids=lambda p: str(p.relative_to(PCAPS)))
@pytest.mark.parametrize("delta", [False, True])
def test_encoded_reports_equal_the_dict_route(path, delta, monkeypatch):
    pairs = reports(path, [f"shardbeat.flows.enable_delta_flow_reports={delta}"],
                    monkeypatch)
    assert pairs
    assert all(a == b for a, b in pairs)


def test_a_tail_with_percent_signs_is_kept_literally(monkeypatch):
    path = pcap("http_minitwit.pcap")
    tail = b',"tags":["100%d %s %%"]}'
    pairs = reports(path, [], monkeypatch, tail)
    assert pairs and all(a == b for a, b in pairs)


@pytest.mark.parametrize("delta", [False, True])
def test_bodies_kept_between_reports_equal_the_dict_route(delta):
    """A flow's rendered body is reused while its packet count stands (idle flows are most
    reports), and made anew when it moves, also when a delta report's count repeats with
    other bytes."""
    rng = random.Random(5)
    packets = []
    for start in range(0, 90, 3):
        sport = 1000 + start
        for k in range(rng.randrange(1, 4)):
            ts = T0 + start * S + k * 7 * S
            packets.append(packet(ts, "10.0.0.1", "10.0.0.2", sport, 53,
                                  frame_len=rng.randrange(60, 400), proto=17))
            packets.append(reverse(packets[-1], ts + 1000, frame_len=rng.randrange(60, 900)))
    for second, size in ((1, 100), (11, 200), (21, 300)):  # one packet in each period
        packets.append(packet(T0 + second * S, "10.0.0.3", "10.0.0.4", 7, 8, frame_len=size))
        packets.append(reverse(packets[-1], T0 + second * S + 5, frame_len=size))
    packets.sort(key=lambda p: p.ts)
    options = FlowsConfig(period="10s", timeout="30s", enable_delta_flow_reports=delta)
    dicts, lines = [], []
    by_dict = FlowTable(options, dicts.append, Counters())
    by_line = FlowTable(options, None, Counters(), sink=lines.append)
    for table in (by_dict, by_line):
        for p in packets:
            table.update(p)
        table.flush(packets[-1].ts + 100 * S)
    unchanged = [a for a, b in zip(dicts, dicts[1:])
                 if a["flow"]["id"] == b["flow"]["id"] and a["network"] == b["network"]]
    assert unchanged, "no flow was reported twice without change"
    assert lines == [orjson.dumps(e) for e in dicts]
