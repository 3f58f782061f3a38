"""`shardbeat.protocols.dns`: Packetbeat 8.x's DNS options plus the limits that bound a flow.

Packetbeat's `dnsConfig` is the common protocol options plus `include_authorities` and
`include_additionals`; its ports default to 53 in the shipped `packetbeat.yml`. The limits
below are shardbeat's: each one caps what a hostile peer can make a worker hold.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import ByteSize, Port, ProtocolConfig

# RFC 1035 4.2.2: the TCP length prefix is 16 bits, so no DNS message is longer.
DNS_MAX_WIRE_MESSAGE = 65535


class DnsConfig(ProtocolConfig):
    """DNS over UDP and TCP (RFC 1035, RFC 7766 framing, EDNS per RFC 6891)."""

    ports: tuple[Port, ...] = Field(
        (53,), description="Ports whose UDP datagrams and TCP streams are DNS.")
    include_authorities: bool = Field(
        False, description="Add the authority section as `dns.authorities` "
                           "(`dns.authorities_count` is always set).")
    include_additionals: bool = Field(
        False, description="Add the additional section as `dns.additionals` "
                           "(`dns.additionals_count` is always set).")
    max_message_size: ByteSize = Field(
        DNS_MAX_WIRE_MESSAGE, ge=12, le=DNS_MAX_WIRE_MESSAGE,
        description="Largest DNS message buffered from a TCP stream; a longer one is skipped "
                    "unparsed and counted in `dns_oversize_messages`.")
    max_pending_transactions: int = Field(
        1000, ge=1, le=1_000_000,
        description="Queries awaiting a response kept per flow; past this the oldest is "
                    "published with a note and counted in `dns_pending_evicted`.")
