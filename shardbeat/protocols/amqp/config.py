"""`shardbeat.protocols.amqp`: Packetbeat 8.x's AMQP 0-9-1 options
(packetbeat/protos/amqp/config.go). Port 5672, as shipped.

The defaults are config.go's: headers and arguments are parsed (the reference file's comments
say false, the code says true). No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Port, ProtocolConfig


class AmqpConfig(ProtocolConfig):
    """AMQP 0-9-1 methods and content frames."""

    ports: tuple[Port, ...] = Field((5672,), description="Ports whose TCP streams are AMQP.")
    max_body_length: int = Field(
        1000, ge=0, description="Bytes of a published message body kept in the event; longer "
                                "bodies are truncated.")
    parse_headers: bool = Field(
        True, description="Add the header fields of content-header frames.")
    parse_arguments: bool = Field(
        True, description="Add the additional arguments of method frames.")
    hide_connection_information: bool = Field(
        True, description="Publish no events for connection negotiation methods "
                          "(connection.*, channel.open, ...).")
