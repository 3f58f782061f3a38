"""The BPF expression the live capture will attach, as Packetbeat builds it."""

from shardbeat.capture.bpf import build_bpf

PORTS = {"tcp": [8080, 80], "udp": [53]}


def test_flows_on_means_every_packet_so_no_filter():
    assert build_bpf("", True, False, PORTS, True) == ""


def test_parsed_ports_and_icmp_when_flows_are_off():
    assert build_bpf("", False, False, PORTS, True) == (
        "tcp port 80 or tcp port 8080 or udp port 53 or icmp or icmp6")


def test_with_vlans_repeats_the_expression_behind_vlan():
    expr = "tcp port 80 or tcp port 8080 or udp port 53"
    assert build_bpf("", False, True, PORTS, False) == f"({expr}) or (vlan and ({expr}))"


def test_a_user_filter_wins():
    assert build_bpf("host 10.0.0.1", True, True, PORTS, True) == "host 10.0.0.1"


def test_nothing_enabled_gives_no_filter():
    assert build_bpf("", False, False, {}, False) == ""
