"""The root config model: every key shardbeat reads, its default and its doc, in one place.

`Settings` mirrors packetbeat.yml with `shardbeat` as the root (`packetbeat` is accepted as an
alias, see load.py). Every model is frozen and forbids unknown keys. Defaults are Packetbeat
8.x's shipped configuration: every protocol on at its default ports, flows on (30s timeout,
10s period), console output. Where shardbeat deliberately differs the field says so.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from shardbeat.config.processor_list import canonical_processors
from shardbeat.config.sections import (CloudConfig, HttpEndpointConfig, LoggingConfig,
                                       MonitoringConfig, PathConfig, QueueConfig, SetupConfig)
from shardbeat.config.types import Duration, Names, ProtocolConfig, StrictModel
from shardbeat.decode.config import IpFragConfig
from shardbeat.flows.config import FlowsConfig
from shardbeat.output.config import OutputConfig
from shardbeat.protocols.amqp.config import AmqpConfig
from shardbeat.protocols.cassandra.config import CassandraConfig
from shardbeat.protocols.dhcpv4.config import Dhcpv4Config
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.icmp.config import IcmpConfig
from shardbeat.protocols.memcache.config import MemcacheConfig
from shardbeat.protocols.mongodb.config import MongodbConfig
from shardbeat.protocols.mysql.config import MysqlConfig
from shardbeat.protocols.nfs.config import NfsConfig
from shardbeat.protocols.pgsql.config import PgsqlConfig
from shardbeat.protocols.redis.config import RedisConfig
from shardbeat.protocols.sip.config import SipConfig
from shardbeat.protocols.thrift.config import ThriftConfig
from shardbeat.protocols.tls.config import TlsConfig
from shardbeat.streams.config import TcpConfig, UdpConfig

# The named ranges Beats' `network` condition (and so `internal_networks`) accepts.
NAMED_NETWORKS = ("loopback", "unicast", "multicast", "interface_local_multicast",
                  "link_local_unicast", "link_local_multicast", "private", "public",
                  "unspecified")


def _processors(value: Any) -> Any:
    problems: list[str] = []
    out = canonical_processors(value, "processors",
                               lambda key, _v, message: problems.append(f"{key}: {message}"))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(out)


Processors = Annotated[tuple[dict[str, Any], ...], BeforeValidator(_processors)]


class InterfacesConfig(StrictModel):
    """Where packets come from (`shardbeat.interfaces`). One configuration: Packetbeat 8 also
    takes a list of interfaces, shardbeat takes a list of one (use `device: any` for all)."""

    device: str = Field("any", description="Network device to capture from; `any` captures "
                                           "every interface (not in promiscuous mode).")
    type: Literal["af_packet", "pcap"] = Field(
        "af_packet", description="Capture engine. shardbeat always uses AF_PACKET (TPACKET_V3 "
                                 "ring with a fanout group); `pcap` is accepted for "
                                 "packetbeat.yml compatibility and means the same.")
    snaplen: int = Field(65535, ge=64, le=262144, description="Bytes captured per packet.")
    buffer_size_mb: int = Field(30, ge=1, le=65536, description="Kernel ring size per worker, "
                                                                "in MiB.")
    fanout_group: int | None = Field(None, ge=0, le=65535, description="AF_PACKET fanout group "
                                     "id joined by the workers; unset: derived from the pid.")
    metrics_interval: Duration = Field(5.0, description="How often kernel capture statistics "
                                                        "are read; <= 0 means the 5s default.")
    auto_promisc_mode: bool = Field(False, description="Put the device in promiscuous mode at "
                                                       "start (not with `any`).")
    with_vlans: bool = Field(False, description="Make the generated BPF filter match "
                                                "802.1Q-tagged frames too.")
    bpf_filter: str = Field("", description="BPF filter replacing the one generated from the "
                                            "enabled protocols' ports.")
    internal_networks: Names = Field(
        (), description="CIDRs or named ranges (private, loopback, ...) inside the perimeter, "
                        "for `network.direction` of traffic not to or from this host.")
    poll_default_route: Duration = Field(0.0, ge=0, description="With device default_route: "
                                         "re-check the route this often; 0 never, at least 1s.")
    file: str | None = Field(None, description="Read packets from this pcap/pcapng file "
                                               "instead of the device (what `replay` does).")

    @field_validator("device", mode="before")
    @classmethod
    def _device_index(cls, value: Any) -> Any:
        # Packetbeat accepts a device's index from `packetbeat devices`.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("metrics_interval")
    @classmethod
    def _metrics_default(cls, value: float) -> float:
        return value if value > 0 else 5.0

    @field_validator("poll_default_route")
    @classmethod
    def _poll_at_least_a_second(cls, value: float) -> float:
        return 1.0 if 0 < value < 1.0 else value  # as Packetbeat clamps it

    @field_validator("internal_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item in NAMED_NETWORKS:
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is neither a CIDR (10.0.0.0/8) nor one of "
                                 + ", ".join(NAMED_NETWORKS)) from None
        return value


class MonitoredProcess(StrictModel):
    process: str = Field(..., description="Name given to the process in events.")
    cmdline_grep: str = Field(..., description="Substring of its command line.")


class ProcsConfig(StrictModel):
    """Process enrichment (`packetbeat.procs`): accepted so a packetbeat.yml loads; shardbeat
    does not look up processes, so events carry no `process.*` fields."""

    enabled: bool = Field(False, description="Look up the local process of each connection "
                                             "(accepted, not implemented).")
    monitored: tuple[MonitoredProcess, ...] = Field((), description="Processes to look for.")
    max_proc_read_freq: Duration = Field(0.01, ge=0, description="Least interval between "
                                                                 "process table reads.")
    refresh_pids_freq: Duration = Field(1.0, ge=0, description="How often pids are refreshed.")


def _proto(factory: type[ProtocolConfig], what: str) -> Any:
    return Field(default_factory=factory, description=what)


class ProtocolsConfig(StrictModel):
    """One section per protocol, in packetbeat.yml's order. All are enabled by default, as in
    the shipped packetbeat.yml; a protocol without a parser yet only feeds flows."""

    icmp: IcmpConfig = _proto(IcmpConfig, "ICMPv4 and ICMPv6 (no ports: IP protocols 1, 58).")
    amqp: AmqpConfig = _proto(AmqpConfig, "AMQP 0-9-1.")
    cassandra: CassandraConfig = _proto(CassandraConfig, "Cassandra CQL.")
    dhcpv4: Dhcpv4Config = _proto(Dhcpv4Config, "DHCP for IPv4.")
    dns: DnsConfig = _proto(DnsConfig, "DNS over UDP and TCP.")
    http: HttpConfig = _proto(HttpConfig, "HTTP/1.x.")
    memcache: MemcacheConfig = _proto(MemcacheConfig, "memcached.")
    mysql: MysqlConfig = _proto(MysqlConfig, "MySQL.")
    pgsql: PgsqlConfig = _proto(PgsqlConfig, "PostgreSQL.")
    redis: RedisConfig = _proto(RedisConfig, "Redis.")
    thrift: ThriftConfig = _proto(ThriftConfig, "Thrift-RPC.")
    mongodb: MongodbConfig = _proto(MongodbConfig, "MongoDB.")
    nfs: NfsConfig = _proto(NfsConfig, "NFS over ONC RPC.")
    tls: TlsConfig = _proto(TlsConfig, "TLS handshakes.")
    sip: SipConfig = _proto(SipConfig, "SIP (beta in Packetbeat).")


PROTOCOL_NAMES: tuple[str, ...] = tuple(ProtocolsConfig.model_fields)


class ShardbeatConfig(StrictModel):
    """The `shardbeat` (alias `packetbeat`) section."""

    interfaces: InterfacesConfig = Field(default_factory=InterfacesConfig,
                                         description="Capture device and engine.")
    flows: FlowsConfig = Field(default_factory=FlowsConfig, description="Network flows.")
    protocols: ProtocolsConfig = Field(
        default_factory=ProtocolsConfig,
        description="Transaction protocols: a map (`http: {ports: [80]}`) adjusts the defaults; "
                    "Packetbeat 8's list (`- type: http`) runs only the protocols listed.")
    procs: ProcsConfig = Field(default_factory=ProcsConfig, description="Process enrichment "
                                                                        "(not implemented).")
    ignore_outgoing: bool = Field(False, description="Drop transactions this host started "
                                                     "(avoids duplicates between shippers).")
    shutdown_timeout: Duration = Field(0.0, ge=0, description="On stop, wait this long for "
                                                              "queued events to be delivered.")
    overwrite_pipelines: bool = Field(False, description="Accepted for packetbeat.yml "
                                      "compatibility (Elasticsearch ingest pipelines).")
    workers: int | Literal["auto"] = Field(
        "auto", description="Worker processes, each with its own AF_PACKET socket in the "
                            "fanout group; `auto` is one per CPU this process may run on.")
    tcp: TcpConfig = Field(default_factory=TcpConfig, description="TCP reassembly limits.")
    udp: UdpConfig = Field(default_factory=UdpConfig, description="UDP flow limits.")
    ipfrag: IpFragConfig = Field(default_factory=IpFragConfig,
                                 description="IP fragment reassembly limits.")

    @field_validator("workers")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("workers must be 1 or more, or `auto`")
        return value

    def worker_count(self) -> int:
        """`workers` as a number: `auto` is the CPUs this process may run on."""
        if isinstance(self.workers, int):
            return self.workers
        return max(1, len(os.sched_getaffinity(0)))


class Settings(StrictModel):
    """The whole configuration (shardbeat.yml, or a packetbeat.yml)."""

    shardbeat: ShardbeatConfig = Field(default_factory=ShardbeatConfig,
                                       description="Capture, flows, protocols, workers.")
    name: str | None = Field(None, description="Shipper name in `agent.name`; unset: the "
                                               "host name.")
    tags: Names = Field((), description="Tags added to every event.")
    fields: dict[str, Any] = Field(default_factory=dict,
                                   description="Extra fields added to every event.")
    fields_under_root: bool = Field(False, description="Put `fields` at the event's root "
                                                       "instead of under `fields`.")
    processors: Processors = Field((), description="Beats processors run on every event, in "
                                                   "order (add_fields, drop_event, ...).")
    output: OutputConfig = Field(default_factory=OutputConfig,
                                 description="Where events go; exactly one output.")
    queue: QueueConfig = Field(default_factory=QueueConfig, description="Publisher queue.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Logging.")
    http: HttpEndpointConfig = Field(default_factory=HttpEndpointConfig,
                                     description="Local metrics endpoint (Prometheus).")
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig,
                                         description="Elasticsearch monitoring (accepted).")
    setup: SetupConfig = Field(default_factory=SetupConfig,
                               description="Elasticsearch and Kibana set-up (accepted).")
    path: PathConfig = Field(default_factory=PathConfig, description="Directories.")
    max_procs: int | None = Field(None, ge=1, description="Accepted for packetbeat.yml "
                                  "compatibility (Go's GOMAXPROCS); see shardbeat.workers.")
    cloud: CloudConfig = Field(default_factory=CloudConfig, description="Elastic Cloud "
                                                                        "(accepted).")


def enabled_protocols(settings: Settings) -> list[tuple[str, ProtocolConfig]]:
    """(name, config) of every enabled protocol, in ProtocolsConfig's order."""
    protocols = settings.shardbeat.protocols
    out = []
    for name in PROTOCOL_NAMES:
        config = getattr(protocols, name)
        if config.enabled:
            out.append((name, config))
    return out
