"""The Beats-wide sections of the config: `queue`, `logging`, `http`, `monitoring`, `setup`,
`path`, `cloud`.

`setup.*`, `monitoring.*` and `cloud.*` concern Elasticsearch and Kibana; they are validated so a
`packetbeat.yml` loads and a typo in them is still reported, but shardbeat does nothing with them
yet. Two defaults differ from Beats on purpose and say so: logs go to stderr rather than to
files (shardbeat runs under systemd or in a container, both of which collect stderr), and the
memory queue spills to `queue.disk` when that is configured instead of the two excluding each
other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from shardbeat.config.types import ByteSize, Duration, Names, Port, StrictModel
from shardbeat.output.config import SslConfig


class MemFlush(StrictModel):
    min_events: int = Field(1600, ge=0, description="Events gathered before a batch is handed "
                                                    "to the output.")
    timeout: Duration = Field(10.0, ge=0, description="Longest wait for `min_events`.")


class MemQueue(StrictModel):
    events: int = Field(3200, ge=1, description="Events the memory queue holds.")
    flush: MemFlush = Field(default_factory=MemFlush, description="Batching towards the output.")


class DiskQueue(StrictModel):
    path: str | None = Field(None, description="Directory of the queue; unset means "
                                               "`<path.data>/diskqueue`.")
    max_size: ByteSize = Field(10 * 1024**3, ge=1024 * 1024,
                               description="Disk the queue may use; past it events are dropped "
                                           "and counted.")
    segment_size: ByteSize | None = Field(None, ge=1024, description="Size of one segment "
                                                                     "file; unset: max_size/10.")
    read_ahead: int = Field(512, ge=1, description="Events read ahead of the output.")
    write_ahead: int = Field(2048, ge=1, description="Events accepted before they are written.")
    retry_interval: Duration = Field(1.0, gt=0, description="Wait after a disk error.")
    max_retry_interval: Duration = Field(30.0, gt=0, description="Longest wait after repeated "
                                                                 "disk errors.")


class QueueConfig(StrictModel):
    mem: MemQueue = Field(default_factory=MemQueue,
                          description="The bounded memory queue in front of the output.")
    disk: DiskQueue | None = Field(None, description="Spill to disk when the memory queue is "
                                                     "full (unset: full means drop, counted).")


class LogFiles(StrictModel):
    path: str | None = Field(None, description="Directory of log files; unset: `path.logs`.")
    name: str = Field("shardbeat", description="Base name of the log files.")
    rotateeverybytes: ByteSize = Field(10 * 1024 * 1024, ge=1, description="Rotate a log file "
                                                                           "at this size.")
    keepfiles: int = Field(7, ge=2, le=1024, description="Log files kept.")
    permissions: int = Field(0o600, ge=0, le=0o777, description="Mode of log files (octal).")
    interval: Duration = Field(0.0, ge=0, description="Also rotate this often; 0 never.")
    rotateonstartup: bool = Field(True, description="Start a new log file at every start.")

    @field_validator("permissions", mode="before")
    @classmethod
    def _octal(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip(), 8)
        return value


class LogMetrics(StrictModel):
    enabled: bool = Field(True, description="Log the counters that changed, periodically.")
    period: Duration = Field(30.0, gt=0, description="How often the counters are logged.")


class LoggingConfig(StrictModel):
    level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "info", description="Least severe level logged.")
    selectors: Names = Field((), description="Components logged at debug level; [\"*\"]: all.")
    to_stderr: bool = Field(True, description="Log to stderr (Beats logs to files by default; "
                                              "shardbeat's services collect stderr).")
    to_files: bool = Field(False, description="Log to rotating files under `logging.files`.")
    to_syslog: bool = Field(False, description="Log to the local syslog.")
    to_eventlog: bool = Field(False, description="Log to the Windows event log (accepted, "
                                                 "unused on Linux).")
    json_: bool = Field(False, alias="json", description="Write log lines as JSON.")
    metrics: LogMetrics = Field(default_factory=LogMetrics, description="Periodic counters.")
    files: LogFiles = Field(default_factory=LogFiles, description="Log file rotation.")

    @field_validator("level", mode="before")
    @classmethod
    def _warn_is_warning(cls, value: Any) -> Any:
        return "warning" if value == "warn" else value


class HttpEndpointConfig(StrictModel):
    """The local metrics endpoint (Prometheus `/metrics`), served by the publisher."""

    enabled: bool = Field(False, description="Serve the metrics endpoint.")
    host: str = Field("localhost", description="Address to listen on; keep it local.")
    port: Port = Field(5066, description="TCP port to listen on.")


class MonitoringConfig(StrictModel):
    enabled: bool = Field(False, description="Ship internal metrics to Elasticsearch "
                                             "(accepted, not implemented).")
    cluster_uuid: str | None = Field(None, description="Cluster the metrics belong to.")
    elasticsearch: dict[str, Any] = Field(default_factory=dict,
                                          description="Monitoring cluster connection.")


class TemplateConfig(StrictModel):
    enabled: bool = Field(True, description="Load the index template (accepted, not used).")
    name: str | None = Field(None, description="Template name.")
    pattern: str | None = Field(None, description="Index pattern the template applies to.")
    fields: str | None = Field(None, description="fields.yml the template is built from.")
    overwrite: bool = Field(False, description="Replace an existing template.")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="Index settings, e.g. index.number_of_shards.")
    append_fields: tuple[dict[str, Any], ...] = Field((), description="Extra field mappings.")
    json_: dict[str, Any] = Field(default_factory=dict, alias="json",
                                  description="Template from a JSON file.")
    type: Literal["legacy", "component", "index"] = Field("index", description="Template API.")


class IlmConfig(StrictModel):
    enabled: bool | Literal["auto"] = Field(True, description="Use index lifecycle management.")
    policy_name: str | None = Field(None, description="ILM policy name.")
    policy_file: str | None = Field(None, description="ILM policy from a JSON file.")
    check_exists: bool = Field(True, description="Check the policy exists before loading.")
    overwrite: bool = Field(False, description="Replace an existing policy.")
    rollover_alias: str | None = Field(None, description="Rollover alias (pre-8 indices).")
    pattern: str | None = Field(None, description="Rollover index pattern (pre-8 indices).")


class DashboardsConfig(StrictModel):
    enabled: bool = Field(False, description="Load the Kibana dashboards (accepted, not used).")
    directory: str | None = Field(None, description="Dashboards directory.")
    url: str | None = Field(None, description="Dashboards archive URL.")
    file: str | None = Field(None, description="Dashboards archive file.")
    beat: str | None = Field(None, description="Beat whose dashboards to load.")
    kibana_index: str | None = Field(None, description="Kibana index (old Kibana).")
    index: str | None = Field(None, description="Index pattern the dashboards use.")
    always_kibana: bool = Field(False, description="Always use the Kibana API.")
    retry: dict[str, Any] = Field(default_factory=dict, description="Retries while loading.")


class KibanaSpace(StrictModel):
    id: str | None = Field(None, description="Kibana space of the dashboards.")


class KibanaConfig(StrictModel):
    host: str | None = Field(None, description="Kibana, host[:port] (default localhost:5601).")
    protocol: Literal["http", "https"] | None = Field(None, description="Scheme if none given.")
    path: str | None = Field(None, description="HTTP path prefix of Kibana.")
    username: str | None = Field(None, description="Basic-auth user.")
    password: str | None = Field(None, description="Basic-auth password.")
    api_key: str | None = Field(None, description="API key as `id:api_key`.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers.")
    space: KibanaSpace = Field(default_factory=KibanaSpace, description="Kibana space.")
    ssl: SslConfig = Field(default_factory=SslConfig, description="TLS towards Kibana.")


class SetupConfig(StrictModel):
    """Elasticsearch/Kibana set-up, accepted for packetbeat.yml compatibility."""

    template: TemplateConfig = Field(default_factory=TemplateConfig, description="Index "
                                                                                 "template.")
    ilm: IlmConfig = Field(default_factory=IlmConfig, description="Index lifecycle policy.")
    dashboards: DashboardsConfig = Field(default_factory=DashboardsConfig,
                                         description="Kibana dashboards.")
    kibana: KibanaConfig = Field(default_factory=KibanaConfig, description="Kibana endpoint.")


class PathConfig(StrictModel):
    """Directories; relative paths are relative to the working directory."""

    home: str = Field(".", description="Installation directory.")
    config: str = Field(".", description="Directory of configuration files.")
    data: str = Field("data", description="Directory of state and queue files.")
    logs: str = Field("logs", description="Directory of log files.")


class CloudConfig(StrictModel):
    id: str | None = Field(None, description="Elastic Cloud deployment id (sets the "
                                             "Elasticsearch and Kibana hosts).")
    auth: str | None = Field(None, description="Elastic Cloud `user:password`.")
