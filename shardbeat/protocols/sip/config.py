"""`shardbeat.protocols.sip`: Packetbeat 8.x's SIP options (packetbeat/protos/sip/config.go).

Port 5060, as shipped. Packetbeat's SIP support is beta and UDP only. No parser yet.
"""

from __future__ import annotations

from pydantic import Field

from shardbeat.config.types import Port, ProtocolConfig


class SipConfig(ProtocolConfig):
    """SIP requests and responses (with SDP bodies) over UDP."""

    ports: tuple[Port, ...] = Field((5060,), description="UDP ports whose datagrams are SIP.")
    parse_authorization: bool = Field(
        True, description="Decode `Authorization` / `Proxy-Authorization` into "
                          "`sip.auth.*`.")
    parse_body: bool = Field(
        True, description="Decode SDP bodies into `sip.sdp.*`.")
    keep_original: bool = Field(
        True, description="Keep the raw message as `event.original`.")
