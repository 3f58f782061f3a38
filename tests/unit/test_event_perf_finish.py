"""The finisher's pre-encoded suffix gives exactly the bytes of the dict route (add agent,
ecs, tags and fields to the dict, then encode), key order included, for every mix of
global and section tags and fields, and for events whose keys collide with them."""

import copy

import orjson
import pytest

from shardbeat.processors.finish import EventFinisher, SectionExtras

EVENTS = [
    {"@timestamp": "2024-01-01T00:00:00.000Z", "type": "http", "status": "OK",
     "source": {"ip": "10.0.0.1", "port": 1234}, "http": {"request": {"method": "GET"}}},
    {"@timestamp": "2024-01-01T00:00:00.000Z", "type": "flow", "flow": {"id": "x"}},
    {"type": "dns", "tags": ["from-protocol"], "fields": {"team": "dns"}},
    {"type": "http", "service": {"type": "web"}, "agent": {"id": "a"}},
    {"type": "mysql"},
    {"no": "type"},
    {},
]

CONFIGS = [
    (SectionExtras(), {}),
    (SectionExtras(("edge", "prod")), {"http": SectionExtras(("http", "edge"))}),
    (SectionExtras(fields={"team": "web", "env": "prod"}),
     {"http": SectionExtras(fields={"env": "staging"}), "flow": SectionExtras(("f",))}),
    (SectionExtras(fields={"service": {"name": "s"}}, fields_under_root=True),
     {"http": SectionExtras(fields={"service": {"id": 1}}, fields_under_root=True),
      "dns": SectionExtras(fields={"fields": {"x": 1}}, fields_under_root=True)}),
    (SectionExtras(("t",), fields={"type": "overridden", "agent": {"id": "g"}},
                   fields_under_root=True), {}),
]


@pytest.mark.parametrize("top,sections", CONFIGS)
def test_suffix_bytes_equal_the_dict_route(top, sections):
    finisher = EventFinisher(top, sections, "host")
    reference = EventFinisher(top, sections, "host")
    for event in EVENTS:
        for _ in range(2):  # the second time uses the cached suffix
            expected = orjson.dumps(reference.finished(copy.deepcopy(event)))
            assert finisher.finish(copy.deepcopy(event)) == expected


def test_finished_events_do_not_share_what_they_were_given():
    finisher = EventFinisher(SectionExtras(("t",), fields={"a": {"b": 1}}), {}, "host")
    first = finisher.finished({"type": "x"})
    first["fields"]["a"]["b"] = 2
    first["tags"].append("u")
    first["agent"]["name"] = "changed"
    second = finisher.finished({"type": "x"})
    assert second["fields"] == {"a": {"b": 1}} and second["tags"] == ["t"]
    assert second["agent"]["name"] == "host"


@pytest.mark.parametrize("top,sections", CONFIGS)
def test_the_appended_suffix_and_the_fragments_give_the_same_bytes(top, sections):
    finisher = EventFinisher(top, sections, "host")
    for event in EVENTS:
        if not event:
            continue
        append = finisher.appender(event.get("type", ""), frozenset(event))
        if append is not None:
            body = orjson.dumps(event)[:-1]
            assert finisher.finish(copy.deepcopy(event)) == append(body)


def test_the_dict_route_leaves_objects_shared_with_other_events_alone():
    shared = {"question": {"name": "example.com"}, "flags": {"rd": True}}
    source = {"ip": "10.0.0.1", "port": 1234}
    event = {"type": "dns", "source": source, "client": source, "dns": shared}
    finisher = EventFinisher(SectionExtras(), {"dns": SectionExtras(
        fields={"dns": {"question": {"tag": "x"}}, "source": {"zone": "a"}},
        fields_under_root=True)}, "host")
    out = orjson.loads(finisher.finish(event))
    assert out["dns"]["question"] == {"name": "example.com", "tag": "x"}
    assert out["source"] == {"ip": "10.0.0.1", "port": 1234, "zone": "a"}
    assert out["client"] == {"ip": "10.0.0.1", "port": 1234}
    assert shared == {"question": {"name": "example.com"}, "flags": {"rd": True}}
    assert source == {"ip": "10.0.0.1", "port": 1234} and event["source"] is source
