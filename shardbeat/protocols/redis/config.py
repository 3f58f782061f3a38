"""`shardbeat.protocols.redis`: Packetbeat 8.x's Redis options (packetbeat/protos/redis/config.go).

Port 6379, as shipped. The two queue limits bound what a connection may buffer while pairing
pipelined commands with replies. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import ByteSize, Port, ProtocolConfig


class RedisConfig(ProtocolConfig):
    """Redis RESP commands and replies, pipelining included."""

    ports: tuple[Port, ...] = Field((6379,), description="Ports whose TCP streams are Redis.")
    queue_max_bytes: ByteSize = Field(
        1024 * 1024, ge=0,
        description="Bytes of unanswered commands (or unclaimed replies) buffered per "
                    "connection for pairing.")
    queue_max_messages: int = Field(
        20000, ge=0,
        description="Unanswered commands (or unclaimed replies) buffered per connection; set it "
                    "high enough for the pipelining depth you expect.")
