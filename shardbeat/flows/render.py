"""Flow reports as finished NDJSON lines, from a per-flow template.

A flow report is the most frequent event (with flows on, about one for every three packets
of a busy link), and all but nine of its values never change between a flow's reports. So
the first report of a flow builds one bytes template holding everything that flow's
reports share (endpoints, ids, start, the finisher's agent/ecs tail), with `%` slots for
the rest; every later report is one C-level format. What is common to every flow reported
in one pass (its `@timestamp`, whether final) is a shared head, put before the body.

Most reports are of flows that sent nothing since their last one: a flow is reported every
`period` until it has been idle for `timeout`, and most flows (a DNS query and its answer,
say) are over in a moment. So a flow keeps its last body, rendered as not final, with the
packet count it was rendered at; while the count stands, a report is the pass's head and
that body (`"final":true` put in for a final report). Only a flow that sent again after a
report keeps its template too: for the others it would be a second copy of the body, held
for nothing (~40 MB of a worker's memory at 60k open flows).

Only flows whose both sides have sent use the template: a report of a one-sided flow
(no `destination.bytes`) or of an ICMP flow (whose Community ID follows its last message)
takes the general route, `encoded_flow_report`. Both give the same bytes (a test holds
them equal).
"""

from __future__ import annotations

from typing import Any

from shardbeat.flows.community_id import ported_community_id
from shardbeat.flows.events import (COMMON_META, FlowParts, common_flow_id,
                                    encoded_flow_report, mac_text, report_head)
from shardbeat.transactions.event import ip_text, timestamp_ns

try:
    from shardbeat.flows import _template
except ImportError:  # built where no C compiler was: templates are made in Python
    _template = None

COMPILED_TEMPLATE = _template is not None


def _no_text(ts_ns: int) -> None:
    return None


# A report's end time as bytes, in C where built; None (then Python) outside its range.
_c_timestamp = _template.timestamp if COMPILED_TEMPLATE else _no_text

_TCP, _UDP = 6, 17
# A body is rendered as not final; a final report turns its first `"final"` (the flow's,
# as only times and the flow's id precede it) to true.
_NOT_FINAL, _FINAL = b'"final":false', b'"final":true'


def _literal(text: bytes) -> bytes:
    """`text` as it must appear in a `%` template."""
    return text.replace(b"%", b"%%")


class ReportLines:
    """Renders reports of one table's flows; `tail` closes every event (the finisher's
    fields, then `}`)."""

    def __init__(self, tail: bytes) -> None:
        self._tail = tail
        self._tail_literal = _literal(tail)

    def lines(self, flows: list[Any], report_ns: int, final: bool) -> list[bytes]:
        """The reports of `flows` at `report_ns`; one loop, as a pass reports thousands."""
        head = report_head(report_ns, final)
        out = []
        append = out.append
        for flow in flows:
            src_packets, dst_packets = flow.src_packets, flow.dst_packets
            packets = src_packets + dst_packets
            if packets != flow.body_packets:
                template = flow.template
                if template is None:
                    if flow.icmp or not flow.dst_seen:
                        append(encoded_flow_report(flow, report_ns, final) + self._tail)
                        continue
                    template = self._template(flow)
                    if flow.body:  # reported before and sent since: busy, worth keeping
                        flow.template = template
                last_ns, src_bytes, dst_bytes = flow.last_ns, flow.src_bytes, flow.dst_bytes
                flow.body = template % (
                    _c_timestamp(last_ns) or timestamp_ns(last_ns).encode(),
                    last_ns - flow.first_ns, src_bytes,
                    src_packets, dst_bytes, dst_packets, src_bytes + dst_bytes, packets)
                flow.body_packets = packets
            if final:
                append(head + flow.body.replace(_NOT_FINAL, _FINAL, 1))
            else:
                append(head + flow.body)
        return out

    def _template(self, flow: Any) -> bytes:
        if flow.src_mac and flow.dst_mac and not flow.vlans and len(flow.src_ip) == 4 \
                and (flow.proto == _TCP or flow.proto == _UDP):
            return _common_template(flow) + self._tail_literal
        parts = FlowParts(flow)
        source, destination, network, flow_head, vlan = (
            _literal(p) for p in parts.encoded())
        return b"".join((
            _literal(parts.start.encode()), b'","end":"%s","duration":%d},"flow":',
            flow_head, b"false", vlan, b'},"source":', source, b',"bytes":%d,"packets":%d}',
            b',"destination":', destination, b',"bytes":%d,"packets":%d}',
            b',"network":', network, b',"bytes":%d,"packets":%d}', self._tail_literal))


# The template of the common shape (Ethernet, no VLAN, IPv4, TCP or UDP) in one format of
# bytes (a third of the time of formatting text); `%%` survives it as a report's slot.
_COMMON = (
    b'%s","end":"%%s","duration":%%d},"flow":{"id":"%s","final":false},'
    b'"source":{"mac":"%s","ip":"%s","port":%d,"bytes":%%d,"packets":%%d},'
    b'"destination":{"mac":"%s","ip":"%s","port":%d,"bytes":%%d,"packets":%%d},'
    b'"network":{"type":"ipv4","transport":"%s","community_id":"%s",'
    b'"bytes":%%d,"packets":%%d}')
_TRANSPORT = {_TCP: b"tcp", _UDP: b"udp"}


def _common_template(flow: Any) -> bytes:
    """The template of a flow of the common shape: made in C where built (flows/_template.c),
    else (or for a start time outside what C formats) in Python."""
    if COMPILED_TEMPLATE:
        made = _template.common(COMMON_META[flow.proto], flow.proto, flow.first_ns,
                                flow.src_mac, flow.dst_mac, flow.src_ip, flow.dst_ip,
                                flow.src_port, flow.dst_port)
        if made is not None:
            return made
    return common_template_py(flow)


def common_template_py(flow: Any) -> bytes:
    """The reference `_common_template`."""
    proto, src_mac, dst_mac = flow.proto, flow.src_mac, flow.dst_mac
    src_ip, dst_ip, src_port, dst_port = flow.src_ip, flow.dst_ip, flow.src_port, flow.dst_port
    return _COMMON % (
        timestamp_ns(flow.first_ns).encode(),
        common_flow_id(proto, src_mac, src_ip, src_port, dst_mac, dst_ip, dst_port),
        mac_text(src_mac).encode(), ip_text(src_ip).encode(), src_port,
        mac_text(dst_mac).encode(), ip_text(dst_ip).encode(), dst_port,
        _TRANSPORT[proto], ported_community_id(proto, src_ip, dst_ip, src_port, dst_port))
