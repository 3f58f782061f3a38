"""Every rejected config names the dotted key, the bad value and what is accepted, with a
did-you-mean for near misses; one load reports every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardbeat.config.errors import ConfigError, format_problems
from shardbeat.config.load import load_config


def problems(*overrides: str, path: str | None = None, env=None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides, env=env if env is not None else {})
    return {p.key: p.message for p in info.value.problems}


def test_misspelled_section_suggests_the_right_one():
    found = problems("shardbeat.protocol.http.ports=[80]")
    assert found == {"shardbeat.protocol":
                     "unknown key 'protocol'; did you mean 'protocols'?"}


def test_misspelled_option_suggests_the_right_one():
    assert problems("shardbeat.flows.timout=10s") == {
        "shardbeat.flows.timout": "unknown key 'timout'; did you mean 'timeout'?"}
    key = "shardbeat.protocols.http.send_all_header"
    assert "did you mean 'send_all_headers'" in problems(f"{key}=true")[key]
    assert "did you mean 'shardbeat'" in problems("shardbet.flows.enabled=false")["shardbet"]


def test_unknown_key_with_nothing_close_lists_what_is_accepted():
    message = problems("shardbeat.flows.zzzz=1")["shardbeat.flows.zzzz"]
    assert message.startswith("unknown key 'zzzz'; accepted: ")
    assert "period" in message and "timeout" in message


def test_wrong_type_names_key_value_and_what_is_accepted():
    found = problems("shardbeat.flows.timeout=abc", "shardbeat.protocols.http.ports=[abc]",
                     "shardbeat.flows.enabled=maybe", "shardbeat.interfaces.type=pcapng")
    assert found["shardbeat.flows.timeout"] == (
        "'abc' is not accepted: expected a duration such as 10s, 500ms, 1m or 2h")
    assert found["shardbeat.protocols.http.ports[0]"] == (
        "'abc' is not accepted; expected a whole number")
    assert found["shardbeat.flows.enabled"] == "'maybe' is not accepted; expected true or false"
    assert found["shardbeat.interfaces.type"] == (
        "'pcapng' is not accepted; expected one of 'af_packet', 'pcap'")


def test_out_of_range_values_are_rejected_with_the_range():
    found = problems("shardbeat.protocols.dns.ports=[53,70000]", "shardbeat.flows.period=0.5s",
                     "shardbeat.workers=0", "shardbeat.protocols.mysql.max_rows=-1")
    assert found["shardbeat.protocols.dns.ports[1]"] == (
        "70000 is not accepted; expected a value from 1 to 65535")
    assert "period must be -1 (final reports only) or at least 1s" in found[
        "shardbeat.flows.period"]
    assert "workers must be 1 or more" in found["shardbeat.workers"]
    assert found["shardbeat.protocols.mysql.max_rows"] == (
        "-1 is not accepted; expected a value of at least 0")


def test_a_union_reports_every_accepted_form_once():
    assert problems("shardbeat.workers=many") == {
        "shardbeat.workers": "'many' is not accepted; expected a whole number or one of 'auto'"}


def test_two_enabled_outputs_are_an_error():
    found = problems("output.console.enabled=true", "output.file.path=/tmp/events")
    assert "only one output may be enabled, found console and file" in found["output"]


def test_all_outputs_disabled_is_an_error():
    assert "every configured output is disabled" in problems("output.console.enabled=false")[
        "output"]


def test_protocol_specific_checks():
    found = problems("shardbeat.protocols.tls.fingerprints=[sha512]",
                     "shardbeat.protocols.cassandra.compressor=lz4",
                     "shardbeat.protocols.cassandra.ignored_ops=[QUERRY]",
                     "shardbeat.protocols.icmp.ports=[1]")
    assert "unknown fingerprint algorithm 'sha512'" in found[
        "shardbeat.protocols.tls.fingerprints"]
    assert "expected one of '', 'snappy'" in found["shardbeat.protocols.cassandra.compressor"]
    assert "unknown CQL opcode 'QUERRY'" in found["shardbeat.protocols.cassandra.ignored_ops"]
    assert "ICMP has no ports" in found["shardbeat.protocols.icmp.ports"]


def test_list_form_protocol_problems(tmp_path: Path):
    path = tmp_path / "p.yml"
    path.write_text("packetbeat.protocols:\n- type: htp\n- ports: [80]\n- type: dns\n"
                    "- type: dns\n- type: redis\n  ports: [6379, abc]\n")
    found = problems(path=str(path))
    # Keys use the root the file was written with.
    assert found["packetbeat.protocols[0].type"] == "unknown protocol 'htp'; did you mean 'http'?"
    assert found["packetbeat.protocols[1].type"].startswith("required: the protocol")
    assert "configured twice" in found["packetbeat.protocols[3].type"]
    # The entries that are well-formed are still checked, in the same report.
    assert found["packetbeat.protocols.redis.ports[1]"] == (
        "'abc' is not accepted; expected a whole number")
    assert len(found) == 4


def test_list_form_entry_errors_are_reported_under_the_protocol(tmp_path: Path):
    path = tmp_path / "p.yml"
    path.write_text("packetbeat.protocols:\n- type: redis\n  ports: [6379, abc]\n"
                    "  queue_max_byte: 1mb\n")
    found = problems(path=str(path))
    assert found == {
        "packetbeat.protocols.redis.ports[1]": "'abc' is not accepted; expected a whole number",
        "packetbeat.protocols.redis.queue_max_byte":
            "unknown key 'queue_max_byte'; did you mean 'queue_max_bytes'?"}


def test_processors_are_checked_against_beats_names():
    found = problems("processors=[{add_feilds: {fields: {a: 1}}}, {drop_event: {when: "
                     "{equal: {status: OK}}}}]")
    assert found["processors[0].add_feilds"] == (
        "unknown processor 'add_feilds'; did you mean 'add_fields'?")
    assert found["processors[1].drop_event.when.equal"] == (
        "unknown condition 'equal'; did you mean 'equals'?")


def test_flow_and_protocol_processors_are_checked_too():
    found = problems("shardbeat.flows.processors=[{drop_feilds: {fields: [a]}}]",
                     "shardbeat.protocols.http.processors=[{add_tags: {tags: [x]}, "
                     "drop_event: {}}]")
    assert "did you mean 'drop_fields'" in found["shardbeat.flows.processors[0].drop_feilds"]
    assert "one processor per list item" in found["shardbeat.protocols.http.processors[0]"]


def test_unset_variable_names_the_key_and_the_variable():
    found = problems("output.file.path=${SPOOL_DIR}/events", "output.console.enabled=false")
    assert found == {"output.file.path": "${SPOOL_DIR} is not set: no environment variable "
                                         "SPOOL_DIR and no default (write ${SPOOL_DIR:default}"
                                         " to give one)"}
    # Reported once, not again as the empty value the model would then reject.
    found = problems("shardbeat.protocols.http.ports=${HTTP_PORTS}")
    assert list(found) == ["shardbeat.protocols.http.ports"]
    assert found["shardbeat.protocols.http.ports"].startswith("${HTTP_PORTS} is not set")


def test_bad_override_syntax():
    assert problems("shardbeat.flows.enabled") == {
        "-E shardbeat.flows.enabled": "expected KEY=VALUE with a dotted key, "
                                      "e.g. -E shardbeat.flows.enabled=false"}


def test_several_interfaces_are_refused_with_the_reason(tmp_path: Path):
    path = tmp_path / "i.yml"
    path.write_text("shardbeat.interfaces:\n- device: eth0\n- device: eth1\n")
    assert "use `device: any`" in problems(path=str(path))["shardbeat.interfaces"]


def test_format_problems_lists_every_problem_under_a_heading(tmp_path: Path):
    path = tmp_path / "bad.yml"
    path.write_text("shardbeat.flows.timout: 10s\nshardbeat.protocols.http.ports: [0]\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    text = format_problems(info.value)
    lines = text.splitlines()
    assert lines[0] == f"Config errors in {path} (2):"
    assert sorted(lines[1:]) == sorted([
        "  shardbeat.flows.timout: unknown key 'timout'; did you mean 'timeout'?",
        "  shardbeat.protocols.http.ports[0]: 0 is not accepted; expected a value from 1 to "
        "65535"])
