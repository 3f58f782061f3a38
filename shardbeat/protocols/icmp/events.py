"""An ICMP transaction → one Packetbeat 8.x `icmp` event (`protos/icmp/icmp.go`
publishTransaction).

Packetbeat-specific shape kept here: `source`/`destination` are the request's sender and
receiver with no ports; `path` is the destination address; `network.transport` is `icmp` or
`ipv6-icmp` and there is no `network.protocol`; `event.start` is the request's time and
`event.end` the response's, each only when that message was seen; `source.bytes` and
`destination.bytes` are the message lengths after the 8-byte ICMP header.

`icmp.*.message` is the text Packetbeat takes from gopacket's ICMPv4TypeCode/ICMPv6TypeCode
String(): the type's name, the code's name in parentheses when the type defines codes,
"(Code: N)" for an unexpected code, and "T(C)" for an unknown type.
"""

from __future__ import annotations

from typing import Any

from shardbeat.flows.community_id import community_id_v1
from shardbeat.protocols.base import Conn
from shardbeat.transactions.event import Transaction, ip_text, to_event

_UNREACHABLE4 = ("Net", "Host", "Protocol", "Port", "FragmentationNeeded",
                 "SourceRoutingFailed", "NetUnknown", "HostUnknown", "SourceIsolated",
                 "NetAdminProhibited", "HostAdminProhibited", "NetTOS", "HostTOS",
                 "CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff")
# type → (name, code names or None when the type has no codes)
MESSAGES4: dict[int, tuple[str, tuple[str, ...] | None]] = {
    0: ("EchoReply", None),
    3: ("DestinationUnreachable", _UNREACHABLE4),
    4: ("SourceQuench", None),
    5: ("Redirect", ("Net", "Host", "TOS+Net", "TOS+Host")),
    8: ("EchoRequest", None),
    9: ("RouterAdvertisement", None),
    10: ("RouterSolicitation", None),
    11: ("TimeExceeded", ("TTLExceeded", "FragmentReassemblyTimeExceeded")),
    12: ("ParameterProblem", ("PointerIndicatesError", "MissingOption", "BadLength")),
    13: ("TimestampRequest", None),
    14: ("TimestampReply", None),
    15: ("InfoRequest", None),
    16: ("InfoReply", None),
    17: ("AddressMaskRequest", None),
    18: ("AddressMaskReply", None),
}
MESSAGES6: dict[int, tuple[str, tuple[str, ...] | None]] = {
    1: ("DestinationUnreachable", ("NoRouteToDst", "AdminProhibited", "BeyondScopeOfSrc",
                                   "AddressUnreachable", "PortUnreachable",
                                   "SrcAddressFailedPolicy", "RejectRouteToDst")),
    2: ("PacketTooBig", None),
    3: ("TimeExceeded", ("HopLimitExceeded", "FragmentReassemblyTimeExceeded")),
    4: ("ParameterProblem", ("ErroneousHeaderField", "UnrecognizedNextHeader",
                             "UnrecognizedIPv6Option")),
    128: ("EchoRequest", None),
    129: ("EchoReply", None),
    133: ("RouterSolicitation", None),
    134: ("RouterAdvertisement", None),
    135: ("NeighborSolicitation", None),
    136: ("NeighborAdvertisement", None),
    137: ("Redirect", None),
}


def message_text(version: int, type_: int, code: int) -> str:
    info = (MESSAGES4 if version == 4 else MESSAGES6).get(type_)
    if info is None:
        return f"{type_}({code})"
    name, codes = info
    if codes is None:
        return name if code == 0 else f"{name}(Code: {code})"
    if code < len(codes):
        return f"{name}({codes[code]})"
    return f"{name}(Code: {code})"


class Message:
    """One ICMP message as the tracker keeps it."""

    __slots__ = ("ts", "type", "code", "length")

    def __init__(self, ts: int, type_: int, code: int, length: int) -> None:
        self.ts, self.type, self.code, self.length = ts, type_, code, length


def icmp_event(version: int, src_ip: bytes, dst_ip: bytes, request: Message | None,
               response: Message | None, status: str, notes: list[str],
               vlans: tuple[int, ...] = ()) -> dict[str, Any]:
    """The event for one transaction; `src_ip` sent the request (or would have)."""
    first = request if request is not None else response
    proto = 1 if version == 4 else 58
    transport = "icmp" if version == 4 else "ipv6-icmp"
    conn = Conn(transport, version, (src_ip, 0), (dst_ip, 0), vlans,
                community_id=community_id_v1(proto, src_ip, dst_ip, first.type, first.code))
    icmp: dict[str, Any] = {"version": version}
    for key, msg in (("request", request), ("response", response)):
        if msg is not None:
            icmp[key] = {"message": message_text(version, msg.type, msg.code),
                         "type": msg.type, "code": msg.code}
    tx = Transaction(
        type="icmp", conn=conn, start_ns=first.ts,
        end_ns=response.ts if response is not None else None, status=status,
        path=ip_text(dst_ip), request_bytes=request.length if request else 0,
        response_bytes=response.length if response else 0, notes=list(notes),
        event_type=("connection",), fields={"icmp": icmp})
    event = to_event(tx)
    del event["network"]["protocol"]
    if request is None:
        # Packetbeat sets event.start from the request only; no start, no duration.
        event["event"].pop("start", None)
        event["event"].pop("duration", None)
    return event
