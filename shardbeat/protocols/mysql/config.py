"""`shardbeat.protocols.mysql`: Packetbeat 8.x's MySQL options (packetbeat/protos/mysql/config.go).

Ports are the shipped `packetbeat.yml`'s (3306 and 3307). No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Duration, Port, ProtocolConfig


class MysqlConfig(ProtocolConfig):
    """MySQL client/server protocol: queries, prepared statements and their results."""

    ports: tuple[Port, ...] = Field((3306, 3307), description="Ports whose TCP streams are MySQL.")
    max_rows: int = Field(
        10, ge=0, description="Rows of a result set copied into `response` (when sent).")
    max_row_length: int = Field(
        1024, ge=0, description="Bytes of one result row copied into `response`; longer rows "
                                "are truncated.")
    statement_timeout: Duration = Field(
        3600.0, gt=0, description="How long a prepared statement is remembered so EXECUTE can "
                                  "name its query.")
