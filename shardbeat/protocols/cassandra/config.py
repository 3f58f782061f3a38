"""`shardbeat.protocols.cassandra`: Packetbeat 8.x's Cassandra options
(packetbeat/protos/cassandra/config.go).

Unlike every other protocol, Cassandra sends the request and response by default. The only
decompressor Packetbeat knows is snappy; `ignored_ops` names CQL frame opcodes. No parser yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shardbeat.config.types import Names, Port, ProtocolConfig

# CQL native protocol v4, section 2.4: the opcode names Packetbeat's gocql copy accepts.
CQL_OPCODES = (
    "ERROR", "STARTUP", "READY", "AUTHENTICATE", "OPTIONS", "SUPPORTED", "QUERY", "RESULT",
    "PREPARE", "EXECUTE", "REGISTER", "EVENT", "BATCH", "AUTH_CHALLENGE", "AUTH_RESPONSE",
    "AUTH_SUCCESS",
)


class CassandraConfig(ProtocolConfig):
    """Cassandra CQL native protocol frames (v3 and v4)."""

    ports: tuple[Port, ...] = Field((9042,), description="Ports whose TCP streams are CQL.")
    send_request: bool = Field(
        True, description="Add the decoded request as `cassandra.request`.")
    send_response: bool = Field(
        True, description="Add the decoded response as `cassandra.response`.")
    send_request_header: bool = Field(
        True, description="With `send_request`, add the request frame header as "
                          "`cassandra.request.headers`.")
    send_response_header: bool = Field(
        True, description="With `send_response`, add the response frame header as "
                          "`cassandra.response.headers`.")
    compressor: Literal["", "snappy"] = Field(
        "", description="Decompressor for compressed frames: `snappy`, or empty for none.")
    ignored_ops: Names = Field(
        (), description="CQL opcodes whose frames are not published, e.g. [SUPPORTED, "
                        "OPTIONS].")

    @field_validator("ignored_ops")
    @classmethod
    def _known_opcodes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(v.upper() for v in value)
        unknown = [v for v in names if v not in CQL_OPCODES]
        if unknown:
            raise ValueError(f"unknown CQL opcode {unknown[0]!r}; accepted: "
                             + ", ".join(CQL_OPCODES))
        return names
