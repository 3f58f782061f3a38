"""`shardbeat.protocols.nfs`: Packetbeat 8.x's NFS options (packetbeat/protos/nfs/config.go).

Only the common options; port 2049 as shipped, and a one-minute transaction timeout (NFS
calls may take long), which is the one default that differs from the other protocols.
No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Duration, Port, ProtocolConfig


class NfsConfig(ProtocolConfig):
    """NFS v3 and v4 over ONC RPC."""

    ports: tuple[Port, ...] = Field((2049,), description="Ports whose traffic is NFS (ONC RPC).")
    transaction_timeout: Duration = Field(
        60.0, gt=0, description="A call with no reply by then is published alone.")
