"""`shardbeat.protocols.mongodb`: Packetbeat 8.x's MongoDB options
(packetbeat/protos/mongodb/config.go). Port 27017, as shipped. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Port, ProtocolConfig


class MongodbConfig(ProtocolConfig):
    """MongoDB wire protocol: commands and their replies."""

    ports: tuple[Port, ...] = Field((27017,), description="Ports whose TCP streams are MongoDB.")
    max_docs: int = Field(
        10, ge=0, description="Documents of a reply copied into `response` (when sent); "
                              "0 copies all of them.")
    max_doc_length: int = Field(
        5000, ge=0, description="Characters of one document copied into `response`; "
                                "0 copies whole documents.")
