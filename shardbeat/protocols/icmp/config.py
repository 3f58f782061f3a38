"""`shardbeat.protocols.icmp`: Packetbeat 8.x's ICMP options.

ICMP is matched by IP protocol number (1 and 58), not by port, so `ports` is refused with a
message saying why instead of being silently ignored. Everything else (`enabled`,
`send_request`, `send_response`, `transaction_timeout`, `fields`, `tags`, ...) is the common
protocol base, as in Packetbeat's `protos/icmp/config.go`.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from shardbeat.config.types import Port, ProtocolConfig


class IcmpConfig(ProtocolConfig):
    """ICMPv4 and ICMPv6 request/response pairing and unpaired messages."""

    ports: tuple[Port, ...] = Field(
        (), description="Not accepted: ICMP has no ports; it is recognised by IP protocol.")
    max_pending_requests: int = Field(
        65536, ge=1,
        description="shardbeat only: requests waiting for a reply per worker; at the cap "
                    "the oldest is published unanswered (counted as icmp_pending_evicted).")

    @field_validator("ports")
    @classmethod
    def _no_ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if value:
            raise ValueError("ICMP has no ports (it is recognised by IP protocol 1 and 58); "
                             "remove `ports`")
        return value
