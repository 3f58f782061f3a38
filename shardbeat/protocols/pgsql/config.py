"""`shardbeat.protocols.pgsql`: Packetbeat 8.x's PostgreSQL options
(packetbeat/protos/pgsql/config.go). Port 5432, as shipped. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Port, ProtocolConfig


class PgsqlConfig(ProtocolConfig):
    """PostgreSQL frontend/backend protocol: simple and extended queries and their results."""

    ports: tuple[Port, ...] = Field((5432,), description="Ports whose TCP streams are PostgreSQL.")
    max_rows: int = Field(
        10, ge=0, description="Rows of a result set copied into `response` (when sent).")
    max_row_length: int = Field(
        1024, ge=0, description="Bytes of one result row copied into `response`; longer rows "
                                "are truncated.")
