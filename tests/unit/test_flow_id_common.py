"""The flow id of the common shape (Ethernet, no VLAN, IPv4, TCP or UDP), built with its
layout fixed, is the general `flow_id`'s for every order of MACs, addresses and ports."""

from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.flows.events import common_flow_id, flow_id

# Few distinct values, so equal MACs, equal addresses and equal ports (which move the
# decision to the next pair) come up often; ports whose little-endian bytes order
# differently from their values (255 vs 256) too.
macs = st.sampled_from([b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02", b"\x01" * 6])
ips = st.sampled_from([bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes([9, 255, 0, 3])])
ports = st.sampled_from([0, 1, 53, 80, 255, 256, 443, 65535])


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([6, 17]), macs, macs, ips, ips, ports, ports)
def test_common_flow_id_is_the_general_one(proto, src_mac, dst_mac, src_ip, dst_ip,
                                           src_port, dst_port):
    src, dst = (src_mac, src_ip, src_port), (dst_mac, dst_ip, dst_port)
    assert common_flow_id(proto, *src, *dst) == flow_id(proto, (), src, dst).encode()
