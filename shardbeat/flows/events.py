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
from binascii import b2a_base64
from functools import lru_cache
from typing import Any

import orjson

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
    eth = bool(src[0] and dst[0])
    ported = proto == _TCP or proto == _UDP
    if ported:
        ports = (src[2].to_bytes(2, "little"), dst[2].to_bytes(2, "little"))
    swap = _swapped(((src[0], dst[0]) if eth else (b"", b""), (src[1], dst[1]),
                     ports if ported else (b"", b"")))
    buf = bytearray()
    offs = [_UNSET] * 12
    flags = 0
    if eth:
        offs[_ETH] = 0
        buf += _ordered(src[0], dst[0], swap)
        flags = _F_ETH
    for vlan in vlans:
        flags = _add_layer(buf, offs, flags, _VLAN_SLOTS, vlan.to_bytes(2, "little"))
    slots = _IP4_SLOTS if len(src[1]) == 4 else _IP6_SLOTS
    flags = _add_layer(buf, offs, flags, slots, _ordered(src[1], dst[1], swap))
    if ported:
        slot, flag = (_TCP_SLOT, _F_TCP) if proto == _TCP else (_UDP_SLOT, _F_UDP)
        offs[slot] = len(buf)
        buf += _ordered(ports[0], ports[1], swap)
        flags |= flag
    elif proto != _ICMP and proto != _ICMPV6:
        offs[_CONN_SLOT] = len(buf)
        buf += proto.to_bytes(8, "little")
        flags |= _F_CONN
    meta = bytes((flags & 0xFF, flags >> 8, *offs, 1 if eth else 0, min(len(vlans), 255), 1))
    return base64.b64encode(meta + buf).decode("ascii").rstrip("=")


def _common_meta(transport_slot: int, transport_flag: int) -> bytes:
    offs = [_UNSET] * 12
    offs[_ETH], offs[_IP4], offs[transport_slot] = 0, 12, 20
    flags = _F_ETH | _F_IP4 | transport_flag
    return bytes((flags & 0xFF, flags >> 8, *offs, 1, 0, 1))


# The FlowID meta of the common shape: Ethernet, no VLAN, IPv4, TCP or UDP (render.py
# hands it to the compiled template).
COMMON_META = {_TCP: _common_meta(_TCP_SLOT, _F_TCP), _UDP: _common_meta(_UDP_SLOT, _F_UDP)}


def common_flow_id(proto: int, src_mac: bytes, src_ip: bytes, src_port: int, dst_mac: bytes,
                   dst_ip: bytes, dst_port: int) -> bytes:
    """`flow_id` for the common shape (Ethernet, no VLAN, IPv4, TCP or UDP), where the
    layout is fixed, as bytes: a flow report's first costly part, made cheap."""
    if src_mac != dst_mac:
        swap = src_mac > dst_mac
    elif src_ip != dst_ip:
        swap = src_ip > dst_ip
    else:
        swap = src_port.to_bytes(2, "little") > dst_port.to_bytes(2, "little")
    if swap:
        src_mac, dst_mac, src_ip, dst_ip = dst_mac, src_mac, dst_ip, src_ip
        src_port, dst_port = dst_port, src_port
    raw = b"".join((COMMON_META[proto], src_mac, dst_mac, src_ip, dst_ip,
                    (src_port | dst_port << 16).to_bytes(4, "little")))
    return b2a_base64(raw, newline=False).rstrip(b"=")


def _swapped(pairs: tuple[tuple[bytes, bytes], ...]) -> bool:
    """Whether the pairs are written receiver first: the first pair that differs decides."""
    for a, b in pairs:
        if a != b:
            return a > b
    return False


def _ordered(a: bytes, b: bytes, swap: bool) -> bytes:
    return b + a if swap else a + b


_VLAN_SLOTS = (_VLAN, _OUTER_VLAN, _F_VLAN, _F_OUTER_VLAN)
_IP4_SLOTS = (_IP4, _OUTER_IP4, _F_IP4, _F_OUTER_IP4)
_IP6_SLOTS = (_IP6, _OUTER_IP6, _F_IP6, _F_OUTER_IP6)


def _add_layer(buf: bytearray, offs: list[int], flags: int, slots: tuple[int, ...],
               data: bytes) -> int:
    """Packetbeat's addMultLayerID: a second instance of a layer pushes the first one to
    the "outer" slot; a third overwrites the outer one's bytes and swaps the two again.
    Returns the new flags."""
    inner, outer, flag, outer_flag = slots
    present = flags & (flag | outer_flag)
    if present == flag | outer_flag:
        offs[outer], offs[inner] = offs[inner], offs[outer]
        buf[offs[inner]:offs[inner] + len(data)] = data
        return flags
    if present == flag:
        offs[outer] = offs[inner]
        flags |= outer_flag
    else:
        flags |= flag
    offs[inner] = len(buf)
    buf += data
    return flags


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


class FlowParts:
    """What a flow's reports share, computed at its first report: endpoint text, MAC text,
    Community ID, flow id and start time are the costly parts of a report. The end time
    is kept with the instant it was formatted for: a flow idle between two reports ends
    where it did. An ICMP flow's Community ID follows its last message, so ICMP flows are
    not cached."""

    __slots__ = ("source", "destination", "network", "id", "vlan", "start", "end_ns", "end",
                 "_encoded")

    def __init__(self, flow: Any) -> None:
        proto = flow.proto
        ported = proto == _TCP or proto == _UDP
        self.source = _endpoint(flow.src_mac, flow.dst_mac, flow.src_ip,
                                flow.src_port if ported else None)
        self.destination = _endpoint(flow.dst_mac, flow.src_mac, flow.dst_ip,
                                     flow.dst_port if ported else None)
        network: dict[str, Any] = {"type": "ipv4" if len(flow.src_ip) == 4 else "ipv6"}
        community = _community_id(flow)
        if community is not None:
            network["transport"] = _TRANSPORT[proto]
            network["community_id"] = community
        self.network = network
        self.id = flow.flow_id()
        vlans = flow.vlans
        self.vlan = (vlans[0] if len(vlans) == 1 else list(vlans)) if vlans else None
        self.start = timestamp_ns(flow.first_ns)
        self.end_ns = flow.last_ns
        self.end = timestamp_ns(flow.last_ns)
        self._encoded: tuple[bytes, ...] | None = None

    def encoded(self) -> tuple[bytes, ...]:
        """The unchanging parts as JSON, each an object left open for the counters: source,
        destination, network, and the flow object's `"id":...` (plus its vlan, as a closing
        fragment)."""
        if self._encoded is None:
            vlan = b"" if self.vlan is None else b',"vlan":' + orjson.dumps(self.vlan)
            self._encoded = (orjson.dumps(self.source)[:-1],
                             orjson.dumps(self.destination)[:-1],
                             orjson.dumps(self.network)[:-1],
                             b'{"id":' + orjson.dumps(self.id) + b',"final":', vlan)
            # A table reports either encoded or as dicts; once encoded, the dicts are dead
            # weight (about 1 kB a flow, and a tap box holds tens of thousands of flows).
            self.source = self.destination = self.network = None
        return self._encoded


def _parts(flow: Any, as_dicts: bool = False) -> FlowParts:
    parts = flow.static
    if parts is None or (as_dicts and parts.source is None):
        parts = FlowParts(flow)
        if not flow.icmp:
            flow.static = parts
    elif parts.end_ns != flow.last_ns:
        parts.end_ns = flow.last_ns
        parts.end = timestamp_ns(flow.last_ns)
    return parts


def flow_event(flow: Any, report_ns: int, final: bool) -> dict[str, Any]:
    """The event for one report of `flow` (a `shardbeat.flows.table.Flow`)."""
    parts = _parts(flow, as_dicts=True)
    source = dict(parts.source, bytes=flow.src_bytes, packets=flow.src_packets)
    destination = dict(parts.destination)
    if flow.dst_seen:
        destination["bytes"] = flow.dst_bytes
        destination["packets"] = flow.dst_packets
    network = dict(parts.network, bytes=flow.src_bytes + flow.dst_bytes,
                   packets=flow.src_packets + flow.dst_packets)
    flow_obj = {"id": parts.id, "final": final}
    if parts.vlan is not None:
        flow_obj["vlan"] = parts.vlan
    return {
        "@timestamp": _report_time(report_ns),
        "type": "flow",
        "event": {
            "kind": "event",
            "category": ["network"],
            "action": "network_flow",
            "type": ["connection", "end"] if final else ["connection"],
            "dataset": "flow",
            "start": parts.start,
            "end": parts.end,
            "duration": flow.last_ns - flow.first_ns,
        },
        "flow": flow_obj,
        "source": source,
        "destination": destination,
        "network": network,
    }


FLOW_EVENT_KEYS = frozenset(("@timestamp", "type", "event", "flow", "source", "destination",
                             "network"))
_EVENT_HEAD = (b'","type":"flow","event":{"kind":"event","category":["network"],'
               b'"action":"network_flow","type":')
_TYPES = {True: b'["connection","end"]', False: b'["connection"]'}
_FINAL = {True: b"true", False: b"false"}


def encoded_flow_report(flow: Any, report_ns: int, final: bool) -> bytes:
    """`orjson.dumps(flow_event(...))` without its closing brace, built straight from the
    flow's pre-encoded parts: a flow report is the most frequent event, and building and
    serialising its nested dicts was most of its cost. Only for events no processor reads.
    Key order and text are those of `flow_event` (a test holds the two equal)."""
    parts = _parts(flow)
    source, destination, network, flow_head, vlan = parts.encoded()
    src_bytes, src_packets = flow.src_bytes, flow.src_packets
    dst = (b',"bytes":%d,"packets":%d}' % (flow.dst_bytes, flow.dst_packets)
           if flow.dst_seen else b"}")
    return b"".join((
        report_head(report_ns, final), parts.start.encode(), b'","end":"', parts.end.encode(),
        b'","duration":%d},"flow":' % (flow.last_ns - flow.first_ns), flow_head,
        _FINAL[final], vlan, b'},"source":', source,
        b',"bytes":%d,"packets":%d}' % (src_bytes, src_packets),
        b',"destination":', destination, dst,
        b',"network":', network,
        b',"bytes":%d,"packets":%d}' % (src_bytes + flow.dst_bytes,
                                         src_packets + flow.dst_packets),
    ))


def report_head(report_ns: int, final: bool) -> bytes:
    """A report's opening up to the text of `event.start`: the same for every flow of one
    pass."""
    return b"".join((b'{"@timestamp":"', _report_time(report_ns).encode(), _EVENT_HEAD,
                     _TYPES[final], b',"dataset":"flow","start":"'))


# Every flow reported in one pass shares the pass instant.
_report_time = lru_cache(maxsize=8)(timestamp_ms)


def _community_id(flow: Any) -> str | None:
    proto = flow.proto
    if proto == _TCP or proto == _UDP:
        return community_id_v1(proto, flow.src_ip, flow.dst_ip, flow.src_port,
                               flow.dst_port)
    if (proto == _ICMP or proto == _ICMPV6) and flow.icmp_tc:
        return community_id_v1(proto, flow.src_ip, flow.dst_ip, flow.icmp_tc >> 8,
                               flow.icmp_tc & 0xFF)
    return None
