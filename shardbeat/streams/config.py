"""Limits of the stream layer: TCP reassembly and UDP datagram flows (`shardbeat.tcp`,
`shardbeat.udp`). Packetbeat hard-codes most of these; here each has a name, a setting and
a counter for what it drops."""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import ByteSize, Duration, StrictModel


class TcpConfig(StrictModel):
    idle_timeout: Duration = Field(
        300.0, gt=0,
        description="A connection with no packet for this long is closed: its parser flushes "
                    "pending transactions (packet time).")
    max_connections: int = Field(
        262144, ge=1,
        description="Connections tracked per worker; past it the oldest is closed and counted "
                    "(tcp_connections_evicted).")
    max_ooo_segments: int = Field(
        64, ge=0,
        description="Out-of-order segments held per direction while waiting for a missing "
                    "one; past it the hole is declared a gap (tcp_gaps).")
    max_ooo_bytes: ByteSize = Field(
        262144, ge=0,
        description="Out-of-order bytes held per direction; past it the hole is a gap.")
    time_wait: Duration = Field(
        60.0, ge=0,
        description="How long a closed connection's sequence ranges are remembered, so that "
                    "late retransmissions of its SYN or data do not open a phantom "
                    "connection (tcp_segments_after_close). 0 turns it off.")
    max_stream_buffer: ByteSize = Field(
        10 * 1024 * 1024, ge=1024,
        description="Bytes a parser may leave unconsumed per direction (Packetbeat's "
                    "TCPMaxDataInStream); past it they are dropped as a gap "
                    "(tcp_buffer_overflow_bytes).")


class UdpConfig(StrictModel):
    idle_timeout: Duration = Field(
        60.0, gt=0,
        description="A UDP flow of a parsed protocol with no datagram for this long is "
                    "closed and its parser flushed (packet time).")
    max_flows: int = Field(
        262144, ge=1,
        description="UDP flows of parsed protocols tracked per worker; past it the oldest is "
                    "closed and counted (udp_flows_evicted).")
