"""`shardbeat.protocols.memcache`: Packetbeat 8.x's memcache options
(packetbeat/protos/memcache/config.go).

Packetbeat's option names here have no underscores (its struct fields carry no `config` tags,
so go-ucfg lowercases them); they are kept so a `packetbeat.yml` loads. Packetbeat's reference
file calls `udptransactiontimeout` milliseconds, but it is a Go duration whose bare numbers
go-ucfg reads as seconds and whose default is 10s; the same holds here. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Duration, Port, ProtocolConfig


class MemcacheConfig(ProtocolConfig):
    """memcached text and binary protocols over TCP and UDP."""

    ports: tuple[Port, ...] = Field((11211,), description="Ports whose traffic is memcache.")
    parseunknown: bool = Field(
        False, description="Accept unknown text-protocol commands (which must carry no data "
                           "block).")
    maxvalues: int = Field(
        0, ge=-1, description="Values (base64-encoded) copied into the event: -1 all, 0 none, "
                              "N at most N.")
    maxbytespervalue: int = Field(
        0, ge=0, description="Bytes copied per value; 0 means unlimited.")
    udptransactiontimeout: Duration = Field(
        10.0, gt=0, description="How long a quiet binary request over UDP waits for an error "
                                "reply before it is published alone.")
