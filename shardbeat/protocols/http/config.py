"""`shardbeat.protocols.http`: Packetbeat 8.x's HTTP options plus the limits that bound a stream.

Packetbeat's `httpConfig` (packetbeat/protos/http/config.go) is the common protocol options plus
the header, body and redaction options below; `max_message_size` defaults to its
`tcp.TCPMaxDataInStream` (10 MiB), `decode_body` to true, the ports to the shipped
`packetbeat.yml`'s list. The `max_header_*` and `max_pending_requests` limits are shardbeat's:
each one caps what a hostile peer can make a worker hold.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from shardbeat.config.types import ByteSize, Port, ProtocolConfig

HTTP_DEFAULT_PORTS = (80, 8080, 8000, 5000, 8002)
TCP_MAX_DATA_IN_STREAM = 10 * 1024 * 1024


def _one_or_many(value: Any) -> Any:
    # go-ucfg unpacks a lone scalar into a one-element list; YAML users rely on it.
    if isinstance(value, str):
        return (value,)
    return value


Names = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]


class HttpConfig(ProtocolConfig):
    """HTTP/1.0 and HTTP/1.1 over TCP (RFC 9112 framing)."""

    ports: tuple[Port, ...] = Field(
        HTTP_DEFAULT_PORTS, description="Ports whose TCP streams are HTTP.")
    hide_keywords: Names = Field(
        (), description="Query-string and form-urlencoded body parameters whose values are "
                        "replaced by `xxxxx` (matched case-insensitively).")
    redact_authorization: bool = Field(
        False, description="Mask the `Authorization` and `Proxy-Authorization` values: `*` in "
                           "`http.request.headers`, starred out in the raw `request` "
                           "(`user.name` is still taken from Basic credentials).")
    redact_headers: Names = Field(
        (), description="Headers whose values are replaced by `REDACTED` in "
                        "`http.*.headers` (the header stays, showing it was present) and in "
                        "the raw `request`/`response` text.")
    send_headers: Names = Field(
        (), description="Header names (case-insensitive) added as `http.request.headers.*` / "
                        "`http.response.headers.*`.")
    send_all_headers: bool = Field(
        False, description="Add every header as `http.request.headers.*` / "
                           "`http.response.headers.*` (overrides `send_headers`).")
    split_cookie: bool = Field(
        False, description="When headers are sent, split `Cookie` and `Set-Cookie` into "
                           "name → value objects.")
    real_ip_header: str = Field(
        "", description="Header (e.g. `X-Forwarded-For`) whose first address becomes "
                        "`network.forwarded_ip`.")
    include_body_for: Names = Field(
        (), description="Content types (substring match) whose request and response bodies "
                        "are kept as `http.*.body.content`.")
    include_request_body_for: Names = Field(
        (), description="Content types (substring match) whose request bodies are kept.")
    include_response_body_for: Names = Field(
        (), description="Content types (substring match) whose response bodies are kept.")
    decode_body: bool = Field(
        True, description="Decompress kept bodies sent with `Content-Encoding` gzip or "
                          "deflate before adding them to the event.")
    max_message_size: ByteSize = Field(
        TCP_MAX_DATA_IN_STREAM, ge=1,
        description="Largest message (headers plus body) parsed; a bigger one is skipped, "
                    "counted in `http_oversize_messages` and noted on its transaction.")
    max_header_bytes: ByteSize = Field(
        64 * 1024, ge=64,
        description="Largest header block (start line to blank line) buffered; past it the "
                    "direction is out of sync, counted in `http_header_too_large`.")
    max_headers: int = Field(
        200, ge=1, le=100_000,
        description="Most header lines in one message; past it the message is dropped, "
                    "counted in `http_too_many_headers`.")
    max_pending_requests: int = Field(
        100, ge=1, le=100_000,
        description="Pipelined requests awaiting responses kept per connection; past this the "
                    "oldest is published unmatched, counted in `http_pending_evicted`.")
