"""Every protocol shardbeat knows, in one explicit tuple (no registration by import).

`parser` is "module:Class", imported only when a worker enables the protocol, so a protocol
whose parser is missing or broken cannot stop the others from loading. A protocol with
`parser=None` has a config section (a packetbeat.yml naming it loads) but no parser yet:
its traffic feeds flows only, and `shardbeat test config` says so.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    name: str
    transports: tuple[str, ...]
    parser: str | None

    def parser_class(self) -> type:
        module, _, cls = self.parser.partition(":")
        return getattr(importlib.import_module(module), cls)


PROTOCOLS: tuple[ProtocolSpec, ...] = (
    ProtocolSpec("http", ("tcp",), "shardbeat.protocols.http.parser:HttpParser"),
    ProtocolSpec("dns", ("udp", "tcp"), "shardbeat.protocols.dns.parser:DnsParser"),
    ProtocolSpec("icmp", ("icmp",), "shardbeat.protocols.icmp.tracker:IcmpTracker"),
    ProtocolSpec("tls", ("tcp",), None),
    ProtocolSpec("mysql", ("tcp",), None),
    ProtocolSpec("pgsql", ("tcp",), None),
    ProtocolSpec("redis", ("tcp",), None),
    ProtocolSpec("mongodb", ("tcp",), None),
    ProtocolSpec("cassandra", ("tcp",), None),
    ProtocolSpec("memcache", ("tcp", "udp"), None),
    ProtocolSpec("amqp", ("tcp",), None),
    ProtocolSpec("thrift", ("tcp",), None),
    ProtocolSpec("nfs", ("tcp", "udp"), None),
    ProtocolSpec("dhcpv4", ("udp",), None),
    ProtocolSpec("sip", ("udp", "tcp"), None),
)

BY_NAME = {spec.name: spec for spec in PROTOCOLS}
