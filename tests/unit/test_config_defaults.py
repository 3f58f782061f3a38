"""The built-in defaults are Packetbeat 8.x's (its config.go files and shipped packetbeat.yml),
every key is documented, and the model cannot be changed after loading."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, ValidationError

from shardbeat.config.load import enabled_protocols, load_config
from shardbeat.config.model import PROTOCOL_NAMES, Settings

# Default ports from Packetbeat 8.x's shipped packetbeat.yml (packetbeat/_meta/config/
# beat.yml.tmpl); ICMP has none, it is matched by IP protocol.
PACKETBEAT_PORTS = {
    "icmp": (), "amqp": (5672,), "cassandra": (9042,), "dhcpv4": (67, 68), "dns": (53,),
    "http": (80, 8080, 8000, 5000, 8002), "memcache": (11211,), "mysql": (3306, 3307),
    "pgsql": (5432,), "redis": (6379,), "thrift": (9090,), "mongodb": (27017,),
    "nfs": (2049,), "tls": (443, 993, 995, 5223, 8443, 8883, 9243), "sip": (5060,),
}


@pytest.fixture(scope="module")
def defaults() -> Settings:
    return load_config()


def test_every_packetbeat_protocol_is_enabled_on_its_shipped_ports(defaults):
    assert set(PROTOCOL_NAMES) == set(PACKETBEAT_PORTS)
    enabled = dict(enabled_protocols(defaults))
    assert list(enabled) == list(PROTOCOL_NAMES)
    for name, ports in PACKETBEAT_PORTS.items():
        assert enabled[name].ports == ports, name


def test_common_protocol_defaults(defaults):
    for name, cfg in enabled_protocols(defaults):
        # protos.DefaultTransactionExpiration is 10s; NFS sets one minute in its config.go.
        assert cfg.transaction_timeout == (60.0 if name == "nfs" else 10.0), name
        # Cassandra is the one protocol that sends request and response by default.
        assert cfg.send_request is cfg.send_response is (name == "cassandra"), name
        assert (cfg.fields, cfg.tags, cfg.processors, cfg.keep_null) == ({}, (), (), False)


def test_protocol_specific_defaults_follow_each_config_go(defaults):
    p = defaults.shardbeat.protocols
    assert (p.tls.send_certificates, p.tls.include_raw_certificates,
            p.tls.include_detailed_fields, p.tls.fingerprints) == (True, False, True, ("sha1",))
    assert (p.mysql.max_rows, p.mysql.max_row_length, p.mysql.statement_timeout) == (
        10, 1024, 3600.0)
    assert (p.pgsql.max_rows, p.pgsql.max_row_length) == (10, 1024)
    assert (p.redis.queue_max_bytes, p.redis.queue_max_messages) == (1048576, 20000)
    assert (p.mongodb.max_docs, p.mongodb.max_doc_length) == (10, 5000)
    assert (p.cassandra.send_request_header, p.cassandra.send_response_header,
            p.cassandra.compressor, p.cassandra.ignored_ops) == (True, True, "", ())
    assert (p.memcache.parseunknown, p.memcache.maxvalues, p.memcache.maxbytespervalue,
            p.memcache.udptransactiontimeout) == (False, 0, 0, 10.0)
    assert (p.amqp.max_body_length, p.amqp.parse_headers, p.amqp.parse_arguments,
            p.amqp.hide_connection_information) == (1000, True, True, True)
    assert (p.thrift.transport_type, p.thrift.protocol_type, p.thrift.idl_files,
            p.thrift.string_max_size, p.thrift.collection_max_size, p.thrift.capture_reply,
            p.thrift.obfuscate_strings, p.thrift.drop_after_n_struct_fields) == (
        "socket", "binary", (), 200, 15, True, False, 500)
    assert (p.sip.parse_authorization, p.sip.parse_body, p.sip.keep_original) == (
        True, True, True)
    assert (p.dns.include_authorities, p.dns.include_additionals) == (False, False)


def test_capture_flow_and_output_defaults(defaults):
    sb = defaults.shardbeat
    assert (sb.interfaces.device, sb.interfaces.snaplen, sb.interfaces.buffer_size_mb,
            sb.interfaces.metrics_interval, sb.interfaces.with_vlans) == (
        "any", 65535, 30, 5.0, False)
    assert (sb.flows.enabled, sb.flows.timeout, sb.flows.period) == (True, 30.0, 10.0)
    assert (sb.ignore_outgoing, sb.procs.enabled, sb.workers) == (False, False, "auto")
    assert sb.worker_count() >= 1
    assert defaults.output.active()[0] == "console"
    assert (defaults.queue.mem.events, defaults.queue.mem.flush.min_events,
            defaults.queue.mem.flush.timeout, defaults.queue.disk) == (3200, 1600, 10.0, None)
    assert (defaults.http.enabled, defaults.http.host, defaults.http.port) == (
        False, "localhost", 5066)
    assert (defaults.tags, defaults.fields, defaults.fields_under_root) == ((), {}, False)


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                _models(tp, seen)
            stack.extend(typing.get_args(tp))


def test_every_key_of_every_section_has_a_description():
    seen: set[type[BaseModel]] = set()
    _models(Settings, seen)
    assert len(seen) > 40
    undocumented = [f"{m.__name__}.{name}" for m in seen
                    for name, info in m.model_fields.items() if not info.description]
    assert undocumented == []


def test_loaded_settings_are_frozen(defaults):
    with pytest.raises(ValidationError, match="frozen"):
        defaults.shardbeat.flows.timeout = 5.0
    with pytest.raises(ValidationError, match="frozen"):
        defaults.shardbeat.protocols.http.ports = (81,)
    with pytest.raises(ValidationError, match="frozen"):
        defaults.name = "other"
