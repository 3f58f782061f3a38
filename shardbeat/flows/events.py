"""A flow record → one Packetbeat 8.x flow event (`packetbeat/flows/worker.go` createEvent).

Shape, as Packetbeat publishes it:

    @timestamp  when the report was made (packet time here: the report instant)
    type        "flow"
    event       kind, category [network], action network_flow, dataset flow,
                type [connection] (+ "end" when final), start, end, duration (ns)
    flow        id, final, vlan (a number, or [outer, inner] for Q-in-Q)
    source      mac, ip, port, bytes, packets        (the first packet's sender)
    destination mac, ip, port, bytes, packets        (bytes/packets once it has sent)
    network     type, transport, community_id, bytes, packets

Two Packetbeat behaviours are kept on purpose so that events compare equal: an ICMP flow
gets `network.transport` and a Community ID only when the last message its source sent has
a non-zero type/code (an echo reply, 0/0, leaves both out), and protocols other than TCP,
UDP and ICMP get neither.
"""

from __future__ import annotations

import base64
from typing import Any

from shardbeat.flows.community_id import community_id_v1
from shardbeat.transactions.event import ip_text, timestamp_ms, timestamp_ns

_TCP, _UDP, _ICMP, _ICMPV6 = 6, 17, 1, 58
_TRANSPORT = {_TCP: "tcp", _UDP: "udp", _ICMP: "icmp", _ICMPV6: "ipv6-icmp"}

# Packetbeat's FlowID layout (flows/flowid.go): one flag bit and one offset byte per layer.
_F_ETH, _F_OUTER_VLAN, _F_VLAN = 1 << 0, 1 << 1, 1 << 2
_F_OUTER_IP4, _F_IP4, _F_OUTER_IP6, _F_IP6 = 1 << 3, 1 << 4, 1 << 5, 1 << 6
_F_UDP, _F_TCP, _F_CONN = 1 << 9, 1 << 10, 1 << 11
_UNSET = 0xFF
# Offset slots in serialisation order.
_ETH, _OUTER_VLAN, _VLAN, _OUTER_IP4, _IP4, _OUTER_IP6, _IP6, _ICMP4_SLOT, _ICMP6_SLOT, \
    _UDP_SLOT, _TCP_SLOT, _CONN_SLOT = range(12)


def flow_id(proto: int, vlans: tuple[int, ...], src: tuple[bytes, bytes, int],
            dst: tuple[bytes, bytes, int]) -> str:
    """Packetbeat's `flow.id`: base64 (no padding) of its FlowID meta bytes and key bytes.

    `src`/`dst` are (mac, ip, port) of the first packet. Address pairs are written in
    the order the first distinguishing pair sorts, so both directions give one id. As in
    Packetbeat 8, ICMP contributes no bytes (its id is added after the flow is looked up);
    protocols other than TCP/UDP/ICMP, which Packetbeat lumps into one flow per address
    pair, carry their protocol number in the connection-id slot so their ids stay distinct.
    """
    buf = bytearray()
    offs = [_UNSET] * 12
    state = {"flags": 0, "dir": 0}  # dir: 0 unset, 1 as sent, -1 swapped

    def pair(a: bytes, b: bytes) -> tuple[bytes, bytes]:
        if state["dir"] == 0 and a != b:
            state["dir"] = 1 if a < b else -1
        return (b, a) if state["dir"] == -1 else (a, b)

    if src[0] and dst[0]:
        a, b = pair(src[0], dst[0])
        offs[_ETH] = len(buf)
        buf += a + b
        state["flags"] |= _F_ETH
    for vlan in vlans:
        _add_layer(buf, offs, state, (_VLAN, _OUTER_VLAN, _F_VLAN, _F_OUTER_VLAN),
                   vlan.to_bytes(2, "little"))
    slots = (_IP4, _OUTER_IP4, _F_IP4, _F_OUTER_IP4) if len(src[1]) == 4 else \
        (_IP6, _OUTER_IP6, _F_IP6, _F_OUTER_IP6)
    a, b = pair(src[1], dst[1])
    _add_layer(buf, offs, state, slots, a + b)
    if proto in (_TCP, _UDP):
        slot, flag = (_TCP_SLOT, _F_TCP) if proto == _TCP else (_UDP_SLOT, _F_UDP)
        a, b = pair(src[2].to_bytes(2, "little"), dst[2].to_bytes(2, "little"))
        offs[slot] = len(buf)
        buf += a + b
        state["flags"] |= flag
    elif proto not in (_ICMP, _ICMPV6):
        offs[_CONN_SLOT] = len(buf)
        buf += proto.to_bytes(8, "little")
        state["flags"] |= _F_CONN
    flags = state["flags"]
    meta = bytes([flags & 0xFF, flags >> 8, *offs,
                  1 if flags & _F_ETH else 0, min(len(vlans), 255), 1])
    return base64.b64encode(meta + bytes(buf)).decode("ascii").rstrip("=")


def _add_layer(buf: bytearray, offs: list[int], state: dict, slots: tuple[int, ...],
               data: bytes) -> None:
    """Packetbeat's addMultLayerID: a second instance of a layer pushes the first one to
    the "outer" slot; a third overwrites the outer one's bytes and swaps the two again."""
    inner, outer, flag, outer_flag = slots
    present = state["flags"] & (flag | outer_flag)
    if present == flag | outer_flag:
        offs[outer], offs[inner] = offs[inner], offs[outer]
        buf[offs[inner]:offs[inner] + len(data)] = data
        return
    if present == flag:
        offs[outer] = offs[inner]
        state["flags"] |= outer_flag
    else:
        state["flags"] |= flag
    offs[inner] = len(buf)
    buf += data


def mac_text(mac: bytes) -> str:
    """ECS MAC notation, as Packetbeat 8 formats it: upper case, dash separated."""
    return mac.hex("-").upper()


def _endpoint(mac: bytes, other_mac: bytes, ip: bytes, port: int | None) -> dict[str, Any]:
    ep: dict[str, Any] = {}
    if mac and other_mac:
        ep["mac"] = mac_text(mac)
    ep["ip"] = ip_text(ip)
    if port is not None:
        ep["port"] = port
    return ep


def _static_parts(flow: Any) -> tuple[dict, dict, dict, dict]:
    """What does not change between reports of a flow: endpoints, network, flow object.
    Computed once per flow (address text, MAC text, Community ID and flow id are the
    costly parts of a report); an ICMP flow's Community ID follows its last message, so
    ICMP flows are not cached."""
    proto = flow.proto
    ported = proto == _TCP or proto == _UDP
    source = _endpoint(flow.src_mac, flow.dst_mac, flow.src_ip,
                       flow.src_port if ported else None)
    destination = _endpoint(flow.dst_mac, flow.src_mac, flow.dst_ip,
                            flow.dst_port if ported else None)
    network: dict[str, Any] = {"type": "ipv4" if len(flow.src_ip) == 4 else "ipv6"}
    community = _community_id(flow)
    if community is not None:
        network["transport"] = _TRANSPORT[proto]
        network["community_id"] = community
    flow_obj: dict[str, Any] = {"id": flow.flow_id()}
    if flow.vlans:
        flow_obj["vlan"] = flow.vlans[0] if len(flow.vlans) == 1 else list(flow.vlans)
    return source, destination, network, flow_obj


def flow_event(flow: Any, report_ns: int, final: bool) -> dict[str, Any]:
    """The event for one report of `flow` (a `shardbeat.flows.table.Flow`)."""
    parts = flow.static
    if parts is None:
        parts = _static_parts(flow)
        if not flow.icmp:
            flow.static = parts
    source_base, destination_base, network_base, flow_base = parts
    source = dict(source_base, bytes=flow.src_bytes, packets=flow.src_packets)
    destination = dict(destination_base)
    if flow.dst_seen:
        destination["bytes"] = flow.dst_bytes
        destination["packets"] = flow.dst_packets
    network = dict(network_base, bytes=flow.src_bytes + flow.dst_bytes,
                   packets=flow.src_packets + flow.dst_packets)
    flow_obj = dict(flow_base, final=final)
    if "vlan" in flow_obj:  # keep Packetbeat's key order: id, final, vlan
        flow_obj["vlan"] = flow_obj.pop("vlan")
    event = {
        "kind": "event",
        "category": ["network"],
        "action": "network_flow",
        "type": ["connection", "end"] if final else ["connection"],
        "dataset": "flow",
        "start": timestamp_ns(flow.first_ns),
        "end": timestamp_ns(flow.last_ns),
        "duration": flow.last_ns - flow.first_ns,
    }
    return {
        "@timestamp": timestamp_ms(report_ns),
        "type": "flow",
        "event": event,
        "flow": flow_obj,
        "source": source,
        "destination": destination,
        "network": network,
    }


def _community_id(flow: Any) -> str | None:
    proto = flow.proto
    if proto == _TCP or proto == _UDP:
        return community_id_v1(proto, flow.src_ip, flow.dst_ip, flow.src_port,
                               flow.dst_port)
    if (proto == _ICMP or proto == _ICMPV6) and flow.icmp_tc:
        return community_id_v1(proto, flow.src_ip, flow.dst_ip, flow.icmp_tc >> 8,
                               flow.icmp_tc & 0xFF)
    return None
