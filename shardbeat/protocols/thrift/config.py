"""`shardbeat.protocols.thrift`: Packetbeat 8.x's Thrift-RPC options
(packetbeat/protos/thrift/config.go). Port 9090, as shipped. No parser yet.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shardbeat.config.types import Names, Port, ProtocolConfig


class ThriftConfig(ProtocolConfig):
    """Apache Thrift RPC calls and replies (TBinaryProtocol)."""

    ports: tuple[Port, ...] = Field((9090,), description="Ports whose TCP streams are Thrift.")
    transport_type: Literal["socket", "framed"] = Field(
        "socket", description="Thrift transport: `socket` (TSocket) or `framed` "
                              "(TFramedTransport).")
    protocol_type: Literal["binary"] = Field(
        "binary", description="Thrift protocol; only `binary` (TBinaryProtocol) is known.")
    idl_files: Names = Field(
        (), description="Thrift IDL files of the monitored services, so events name "
                        "parameters and exceptions.")
    string_max_size: int = Field(
        200, ge=0, description="Characters of a string parameter or return value kept; longer "
                               "strings are truncated.")
    collection_max_size: int = Field(
        15, ge=0, description="Elements of a list, set, map or struct kept.")
    capture_reply: bool = Field(
        True, description="Decode replies; false reads only the method name and skips the rest.")
    obfuscate_strings: bool = Field(
        False, description="Replace every string in parameters, return values and exceptions "
                           "by `*`.")
    drop_after_n_struct_fields: int = Field(
        500, ge=0, description="A struct with more fields than this drops its whole "
                               "transaction (bounds hostile input).")
