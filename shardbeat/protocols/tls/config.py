"""`shardbeat.protocols.tls`: Packetbeat 8.x's TLS options (packetbeat/protos/tls/config.go).

Ports are the shipped `packetbeat.yml`'s list. No parser yet: the options are validated so a
`packetbeat.yml` that sets them loads, and they are what the parser will read.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from shardbeat.config.types import Names, Port, ProtocolConfig

TLS_DEFAULT_PORTS = (443, 993, 995, 5223, 8443, 8883, 9243)
FINGERPRINT_ALGORITHMS = ("md5", "sha1", "sha256")


class TlsConfig(ProtocolConfig):
    """TLS handshakes (client and server hello, certificates, alerts); nothing is decrypted."""

    ports: tuple[Port, ...] = Field(
        TLS_DEFAULT_PORTS,
        description="Ports whose TCP streams are TLS (HTTPS, IMAPS, POP3S, XMPP over TLS, "
                    "8443, secure MQTT, Elasticsearch).")
    send_certificates: bool = Field(
        True, description="Add the client and server certificates and chains under "
                          "`tls.detailed.*_certificate*` (and ECS `tls.*.x509`).")
    include_raw_certificates: bool = Field(
        False, description="Add the raw certificate chains, PEM-encoded, as "
                           "`tls.server.certificate_chain` / `tls.client.certificate_chain`.")
    include_detailed_fields: bool = Field(
        True, description="Add the non-ECS `tls.detailed.*` fields (hello messages, "
                          "extensions); false keeps only the ECS `tls.*` fields.")
    fingerprints: Names = Field(
        ("sha1",), description="Hash algorithms for certificate fingerprints: any of md5, "
                               "sha1, sha256.")

    @field_validator("fingerprints")
    @classmethod
    def _known_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(v.lower() for v in value)
        unknown = [v for v in names if v not in FINGERPRINT_ALGORITHMS]
        if unknown:
            raise ValueError(f"unknown fingerprint algorithm {unknown[0]!r}; accepted: "
                             + ", ".join(FINGERPRINT_ALGORITHMS))
        return names
