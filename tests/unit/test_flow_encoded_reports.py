"""Flow reports encoded straight from a flow's pre-encoded parts, and the finished lines
rendered from a flow's template, are byte for byte what serialising `flow_event`'s dict
gives, on every capture, with and without delta reports."""

import orjson
import pytest

from shardbeat.capture.batch import open_batches
from shardbeat.config.load import load_config
from shardbeat.flows import events
from shardbeat.flows.render import ReportLines
from shardbeat.worker import Worker
from tests.conformance.pcaps import PCAPS, all_pcaps


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
    path = next(p for p in all_pcaps() if p.name == "http_minitwit.pcap")
    tail = b',"tags":["100%d %s %%"]}'
    pairs = reports(path, [], monkeypatch, tail)
    assert pairs and all(a == b for a, b in pairs)
