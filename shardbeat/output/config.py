"""`output.*`: where events go. Packetbeat 8.x's outputs with their main options and defaults.

As in Beats, a section that is present is enabled unless it says `enabled: false`, and at most
one output may be enabled. With none enabled, events go to the console (stdout, one JSON object
per line), so `shardbeat` does something useful with no configuration at all. The
elasticsearch, logstash, kafka and redis sections are accepted so a `packetbeat.yml` loads; the
publisher says at start-up which of them it can deliver to.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shardbeat.config.types import ByteSize, Duration, Names, StrictModel

OUTPUT_NAMES = ("console", "file", "elasticsearch", "logstash", "kafka", "redis", "discard")


def _octal(value: Any) -> Any:
    # YAML 1.1 reads 0600 as octal already; a quoted "0600" must mean the same.
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip(), 8)
    return value


class JsonCodec(StrictModel):
    pretty: bool = Field(False, description="Indent each JSON event over several lines.")
    escape_html: bool = Field(False, description="Escape <, > and & in strings.")


class FormatCodec(StrictModel):
    string: str = Field(..., description="Format string, e.g. '%{[@timestamp]} %{[type]}'.")


class CodecConfig(StrictModel):
    """`codec.json` or `codec.format`; the default is JSON."""

    json_: JsonCodec | None = Field(None, alias="json", description="Encode events as JSON.")
    format: FormatCodec | None = Field(None, description="Encode events with a format string.")

    @model_validator(mode="after")
    def _one_codec(self) -> CodecConfig:
        if self.json_ is not None and self.format is not None:
            raise ValueError("choose one codec: `json` or `format`")
        return self


class SslConfig(StrictModel):
    """TLS towards the output's hosts (Beats' `ssl.*`)."""

    enabled: bool | None = Field(
        None, description="Use TLS; unset means on as soon as any other ssl option is set.")
    verification_mode: Literal["full", "strict", "certificate", "none"] = Field(
        "full", description="How the server certificate is checked; `none` checks nothing.")
    supported_protocols: Names = Field(
        ("TLSv1.1", "TLSv1.2", "TLSv1.3"), description="TLS versions offered.")
    certificate_authorities: Names = Field((), description="CA files (PEM) trusted.")
    certificate: str | None = Field(None, description="Client certificate file (PEM).")
    key: str | None = Field(None, description="Client private key file (PEM).")
    key_passphrase: str | None = Field(None, description="Passphrase of the private key.")
    cipher_suites: Names = Field((), description="Cipher suites allowed; empty: defaults.")
    curve_types: Names = Field((), description="ECDHE curves allowed; empty: defaults.")
    renegotiation: Literal["never", "once", "freely"] = Field(
        "never", description="TLS renegotiation accepted from the server.")
    ca_trusted_fingerprint: str | None = Field(
        None, description="Hex SHA-256 of a CA certificate trusted when seen in the chain.")


class BackoffConfig(StrictModel):
    init: Duration = Field(1.0, gt=0, description="Wait after the first failed attempt.")
    max: Duration = Field(60.0, gt=0, description="Longest wait between attempts.")


class OutputBase(StrictModel):
    enabled: bool = Field(True, description="Use this output (a present section is enabled).")


class ConsoleOutput(OutputBase):
    pretty: bool = Field(False, description="Indent each JSON event over several lines.")
    codec: CodecConfig | None = Field(None, description="Event encoding; default JSON.")
    bulk_max_size: int = Field(2048, ge=1, description="Events written per batch.")


class FileOutput(OutputBase):
    path: str = Field("data", description="Directory of the files (created if missing).")
    filename: str = Field("shardbeat", description="Name of the current file; rotated "
                                                   "files get .1, .2, ...")
    rotate_every_kb: int = Field(10240, ge=1, description="Rotate once a file reaches this "
                                                          "many kilobytes.")
    number_of_files: int = Field(7, ge=2, le=1024, description="Files kept, the current one "
                                                               "included.")
    rotate_on_startup: bool = Field(True, description="Start a new file at every start.")
    permissions: int = Field(0o600, ge=0, le=0o777, description="Mode of created files "
                                                                "(octal, e.g. 0600).")
    codec: CodecConfig | None = Field(None, description="Event encoding; default JSON.")

    @field_validator("permissions", mode="before")
    @classmethod
    def _permissions_octal(cls, value: Any) -> Any:
        return _octal(value)


class ElasticsearchOutput(OutputBase):
    hosts: Names = Field(("localhost:9200",), description="Nodes, `[scheme://]host[:port]`.")
    protocol: Literal["http", "https"] | None = Field(
        None, description="Scheme for hosts that give none.")
    path: str = Field("", description="HTTP path prefix of the bulk API.")
    username: str | None = Field(None, description="Basic-auth user.")
    password: str | None = Field(None, description="Basic-auth password.")
    api_key: str | None = Field(None, description="API key as `id:api_key`.")
    index: str | None = Field(None, description="Index or data stream; default "
                                                "`packetbeat-<version>` as Packetbeat.")
    indices: tuple[dict[str, Any], ...] = Field((), description="Conditional index rules.")
    pipeline: str | None = Field(None, description="Ingest pipeline.")
    pipelines: tuple[dict[str, Any], ...] = Field((), description="Conditional pipelines.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers.")
    parameters: dict[str, Any] = Field(default_factory=dict,
                                       description="Extra URL parameters of bulk requests.")
    proxy_url: str | None = Field(None, description="HTTP proxy URL.")
    preset: Literal["balanced", "throughput", "scale", "latency", "custom"] = Field(
        "custom", description="Beats' tuning preset; `custom` uses the options below.")
    worker: int = Field(1, ge=1, alias="workers", description="Connections per host.")
    bulk_max_size: int = Field(1600, ge=1, description="Events per bulk request.")
    compression_level: int = Field(1, ge=0, le=9, description="gzip level; 0 is off.")
    escape_html: bool = Field(False, description="Escape <, > and & in strings.")
    max_retries: int = Field(3, ge=-1, description="Retries of a failed event; -1 forever.")
    timeout: Duration = Field(90.0, gt=0, description="HTTP request timeout.")
    idle_connection_timeout: Duration = Field(3.0, ge=0, description="Idle keep-alive.")
    allow_older_versions: bool = Field(True, description="Accept older Elasticsearch.")
    backoff: BackoffConfig = Field(default_factory=BackoffConfig,
                                   description="Wait between reconnection attempts.")
    ssl: SslConfig = Field(default_factory=SslConfig, description="TLS settings.")


class LogstashOutput(OutputBase):
    hosts: Names = Field(("localhost:5044",), description="Logstash Beats inputs, host:port.")
    worker: int = Field(1, ge=1, alias="workers", description="Connections per host.")
    loadbalance: bool = Field(False, description="Spread batches over all hosts.")
    pipelining: int = Field(2, ge=0, description="Batches in flight per connection.")
    compression_level: int = Field(3, ge=0, le=9, description="zlib level; 0 is off.")
    escape_html: bool = Field(False, description="Escape <, > and & in strings.")
    ttl: Duration = Field(0.0, ge=0, description="Reconnect after this long; 0 never.")
    slow_start: bool = Field(False, description="Grow the batch size after each success.")
    bulk_max_size: int = Field(2048, ge=1, description="Events per batch.")
    timeout: Duration = Field(30.0, gt=0, description="Wait for an acknowledgement.")
    max_retries: int = Field(3, ge=-1, description="Retries of a failed batch; -1 forever.")
    index: str | None = Field(None, description="`@metadata.beat` value; default the "
                                                "beat name.")
    proxy_url: str | None = Field(None, description="SOCKS5 proxy URL.")
    proxy_use_local_resolver: bool = Field(False, description="Resolve hosts locally.")
    backoff: BackoffConfig = Field(default_factory=BackoffConfig,
                                   description="Wait between reconnection attempts.")
    ssl: SslConfig = Field(default_factory=SslConfig, description="TLS settings.")


class KafkaOutput(OutputBase):
    hosts: Names = Field(("localhost:9092",), description="Bootstrap brokers, host:port.")
    topic: str = Field("shardbeat", description="Topic; may be a format string such as "
                                                "'%{[type]}'.")
    topics: tuple[dict[str, Any], ...] = Field((), description="Conditional topic rules.")
    key: str | None = Field(None, description="Message key format string; unset: none.")
    partition: dict[str, Any] = Field(
        default_factory=dict, description="Partitioner: `hash`, `random` or `round_robin` "
                                          "with its options; default hash of the key.")
    headers: tuple[dict[str, Any], ...] = Field((), description="Record headers (key/value).")
    client_id: str = Field("beats", description="Kafka client id.")
    version: str = Field("2.1.0", description="Kafka protocol version assumed.")
    username: str | None = Field(None, description="SASL user.")
    password: str | None = Field(None, description="SASL password.")
    sasl: dict[str, Any] = Field(default_factory=dict, description="`mechanism`: PLAIN, "
                                                                   "SCRAM-SHA-256/512.")
    metadata: dict[str, Any] = Field(default_factory=dict,
                                     description="Metadata refresh and retry options.")
    worker: int = Field(1, ge=1, alias="workers", description="Concurrent producers.")
    max_retries: int = Field(3, ge=-1, description="Retries of a failed event; -1 forever.")
    bulk_max_size: int = Field(2048, ge=1, description="Events per request.")
    bulk_flush_frequency: Duration = Field(0.0, ge=0, description="Wait to fill a batch.")
    timeout: Duration = Field(30.0, gt=0, description="Wait for broker responses.")
    broker_timeout: Duration = Field(10.0, gt=0, description="Broker wait for the acks.")
    channel_buffer_size: int = Field(256, ge=1, description="Messages buffered per broker.")
    keep_alive: Duration = Field(0.0, ge=0, description="TCP keep-alive period; 0 off.")
    compression: Literal["none", "snappy", "lz4", "gzip", "zstd"] = Field(
        "gzip", description="Message compression codec.")
    compression_level: int = Field(4, ge=0, le=9, description="gzip level.")
    max_message_bytes: ByteSize = Field(1000000, ge=1, description="Larger events are "
                                                                   "dropped.")
    required_acks: Literal[-1, 0, 1] = Field(
        1, description="0 none, 1 the leader, -1 all in-sync replicas.")
    codec: CodecConfig | None = Field(None, description="Event encoding; default JSON.")
    backoff: BackoffConfig = Field(default_factory=BackoffConfig,
                                   description="Wait between reconnection attempts.")
    ssl: SslConfig = Field(default_factory=SslConfig, description="TLS settings.")


class RedisOutput(OutputBase):
    hosts: Names = Field(("localhost:6379",), description="Redis servers, host[:port].")
    key: str = Field("shardbeat", description="List or channel name; may be a format string.")
    password: str | None = Field(None, description="AUTH password.")
    db: int = Field(0, ge=0, description="Database number.")
    datatype: Literal["list", "channel"] = Field(
        "list", description="`list` pushes with RPUSH, `channel` publishes with PUBLISH.")
    worker: int = Field(1, ge=1, alias="workers", description="Connections per host.")
    loadbalance: bool = Field(True, description="Spread events over all hosts.")
    timeout: Duration = Field(5.0, gt=0, description="Connection and command timeout.")
    max_retries: int = Field(3, ge=-1, description="Retries of a failed event; -1 forever.")
    bulk_max_size: int = Field(2048, ge=1, description="Events per pipeline.")
    proxy_url: str | None = Field(None, description="SOCKS5 proxy URL.")
    proxy_use_local_resolver: bool = Field(False, description="Resolve hosts locally.")
    codec: CodecConfig | None = Field(None, description="Event encoding; default JSON.")
    backoff: BackoffConfig = Field(default_factory=BackoffConfig,
                                   description="Wait between reconnection attempts.")
    ssl: SslConfig = Field(default_factory=SslConfig, description="TLS settings.")


class DiscardOutput(OutputBase):
    """Drops every event (for benchmarks and tests)."""


class OutputConfig(StrictModel):
    """At most one output; none configured means the console."""

    console: ConsoleOutput | None = Field(None, description="Write events to stdout, one JSON "
                                                            "object per line.")
    file: FileOutput | None = Field(None, description="Write events to rotating files.")
    elasticsearch: ElasticsearchOutput | None = Field(
        None, description="Index events with the Elasticsearch bulk API.")
    logstash: LogstashOutput | None = Field(None, description="Send to Logstash (Lumberjack v2).")
    kafka: KafkaOutput | None = Field(None, description="Produce events to Kafka.")
    redis: RedisOutput | None = Field(None, description="Push events to a Redis list or channel.")
    discard: DiscardOutput | None = Field(None, description="Drop every event.")

    @model_validator(mode="before")
    @classmethod
    def _console_when_none(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        chosen = [name for name in OUTPUT_NAMES if _is_enabled(data.get(name))]
        if not chosen and data.get("console") is None:
            return {**data, "console": {}}
        return data

    @model_validator(mode="after")
    def _at_most_one(self) -> OutputConfig:
        chosen = [name for name in OUTPUT_NAMES if _is_enabled(getattr(self, name))]
        if not chosen:
            raise ValueError("every configured output is disabled; enable one (with no "
                             "output configured at all, events go to the console)")
        if len(chosen) > 1:
            raise ValueError("only one output may be enabled, found " + " and ".join(chosen)
                             + "; set `enabled: false` on the others")
        return self

    def active(self) -> tuple[str, OutputBase]:
        """The enabled output's name and settings (validation guarantees exactly one)."""
        for name in OUTPUT_NAMES:
            section = getattr(self, name)
            if _is_enabled(section):
                return name, section
        raise AssertionError("OutputConfig validated without an enabled output")


def _is_enabled(section: Any) -> bool:
    if section is None:
        return False
    if isinstance(section, dict):
        return section.get("enabled", True) is not False
    return bool(getattr(section, "enabled", True))
