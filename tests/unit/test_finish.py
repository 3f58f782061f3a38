"""What every event gets on its way out: agent, ecs, tags and fields, global and per
section (Packetbeat's semantics: the section's tags after the global ones, its fields over
the global ones, `fields_under_root` puts them at the root)."""

from pathlib import Path

from shardbeat.worker import replay_events

SAMPLE = str(Path(__file__).resolve().parents[1] / "data" / "sample.pcap")


def by_type(events, kind):
    return [e for e in events if e["type"] == kind]


def test_every_event_names_its_agent_and_ecs_version():
    events = replay_events(SAMPLE)
    assert events and all(e["agent"]["type"] == "shardbeat" and e["ecs"]["version"]
                          for e in events)


def test_global_and_protocol_tags_and_fields():
    events = replay_events(SAMPLE, ["tags=[edge, prod]", "fields={team: web, env: prod}",
                                    "shardbeat.protocols.http.tags=[http-tag, edge]",
                                    "shardbeat.protocols.http.fields={env: staging}"])
    http, dns = by_type(events, "http"), by_type(events, "dns")
    assert http and dns
    assert all(e["tags"] == ["edge", "prod", "http-tag"] for e in http)
    assert all(e["fields"] == {"team": "web", "env": "staging"} for e in http)
    assert all(e["tags"] == ["edge", "prod"] for e in dns)
    assert all(e["fields"] == {"team": "web", "env": "prod"} for e in dns)


def test_fields_under_root_and_flow_section():
    events = replay_events(SAMPLE, ["fields={service: {name: sample}}",
                                    "fields_under_root=true",
                                    "shardbeat.flows.tags=[flows]"])
    flows = by_type(events, "flow")
    assert flows and all(e["tags"] == ["flows"] for e in flows)
    assert all(e["service"] == {"name": "sample"} and "fields" not in e for e in events)
