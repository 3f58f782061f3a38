"""The BPF expression the live capture attaches, built from the enabled protocols' ports.

As Packetbeat does: with flows on, every packet matters, so there is no filter unless the
user gives one; otherwise only the parsed ports (and ICMP when enabled), with
`with_vlans` adding the same expression behind `vlan`.
"""

from __future__ import annotations

from typing import Iterable


def protocol_filter(ports_by_transport: dict[str, Iterable[int]], with_icmp: bool) -> str:
    terms = [f"{transport} port {port}"
             for transport in ("tcp", "udp")
             for port in sorted(set(ports_by_transport.get(transport, ())))]
    if with_icmp:
        terms += ["icmp", "icmp6"]
    return " or ".join(terms)


def build_bpf(user_filter: str, flows_enabled: bool, with_vlans: bool,
              ports_by_transport: dict[str, Iterable[int]], with_icmp: bool) -> str:
    if user_filter:
        return user_filter
    if flows_enabled:
        return ""
    expr = protocol_filter(ports_by_transport, with_icmp)
    if not expr:
        return ""
    return f"({expr}) or (vlan and ({expr}))" if with_vlans else expr
