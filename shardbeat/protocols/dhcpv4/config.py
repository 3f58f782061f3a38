"""`shardbeat.protocols.dhcpv4`: Packetbeat 8.x's DHCPv4 options
(packetbeat/protos/dhcpv4/config.go).

Only the common options, ports 67 and 68. Packetbeat publishes each DHCP message as it
arrives, so `transaction_timeout` is accepted but has nothing to pair. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Port, ProtocolConfig


class Dhcpv4Config(ProtocolConfig):
    """DHCP for IPv4 (RFC 2131) messages over UDP."""

    ports: tuple[Port, ...] = Field(
        (67, 68), description="UDP ports whose datagrams are DHCPv4 (server and client).")
