"""The fields every transaction carries, computed as Packetbeat's publisher computes them."""

from shardbeat.protocols.base import Conn
from shardbeat.transactions.event import Transaction, timestamp_ms, timestamp_ns, to_event

CONN = Conn("udp", 4, (bytes([172, 31, 98, 49]), 51958), (bytes([8, 8, 8, 8]), 53))
T0 = 1_424_218_386_000_000_000


def test_client_and_server_mirror_source_and_destination_with_byte_counts():
    ev = to_event(Transaction("dns", CONN, T0, T0 + 20_690_000, request_bytes=33,
                              response_bytes=61))
    assert ev["source"] == {"ip": "172.31.98.49", "port": 51958, "bytes": 33}
    assert ev["destination"] == {"ip": "8.8.8.8", "port": 53, "bytes": 61}
    assert ev["client"] == ev["source"] and ev["server"] == ev["destination"]
    assert ev["network"]["bytes"] == 94
    assert ev["event"]["duration"] == 20_690_000
    # Packetbeat's golden value for this 5-tuple (http_basic_auth-expected.json).
    assert ev["network"]["community_id"] == "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y="
    assert ev["event"]["dataset"] == "dns" and ev["network"]["protocol"] == "dns"


def test_zero_and_empty_values_are_omitted():
    ev = to_event(Transaction("dns", CONN, T0))
    assert "bytes" not in ev["source"] and "bytes" not in ev["network"]
    assert "end" not in ev["event"] and "duration" not in ev["event"]
    assert not {"method", "query", "resource", "path", "error"} & ev.keys()


def test_one_note_is_a_string_and_several_a_list():
    assert to_event(Transaction("dns", CONN, T0, notes=["a"]))["error"] == {"message": "a"}
    assert to_event(Transaction("dns", CONN, T0, notes=["a", "b"]))["error"] == {
        "message": ["a", "b"]}


def test_related_ip_lists_each_address_once_in_order():
    ev = to_event(Transaction("dns", CONN, T0, related_ips=["8.8.8.8", "1.2.3.4"]))
    assert ev["related"]["ip"] == ["172.31.98.49", "8.8.8.8", "1.2.3.4"]


def test_protocol_fields_merge_into_common_groups():
    ev = to_event(Transaction("http", CONN, T0, fields={"related": {"hosts": ["a"]},
                                                         "http": {"version": "1.1"}}))
    assert ev["related"] == {"ip": ["172.31.98.49", "8.8.8.8"], "hosts": ["a"]}
    assert ev["http"] == {"version": "1.1"}


def test_timestamps_are_utc_iso8601():
    assert timestamp_ms(T0 + 638_900_000) == "2015-02-18T00:13:06.638Z"
    assert timestamp_ns(T0 + 638_900_000) == "2015-02-18T00:13:06.6389Z"
    assert ev_start(T0) == "2015-02-18T00:13:06Z"


def ev_start(ts):
    return to_event(Transaction("dns", CONN, ts))["event"]["start"]
