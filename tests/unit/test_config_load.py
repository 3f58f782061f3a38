"""Loading: a packetbeat.yml as shipped, the alias, both protocol forms, dotted keys, -E typing
and ${VAR} expansion."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.config.errors import ConfigError
from shardbeat.config.load import enabled_protocols, load_config
from shardbeat.config.model import PROTOCOL_NAMES

# Packetbeat 8.x's shipped packetbeat.yml (rendered from packetbeat/_meta/config/*.tmpl in
# elastic/beats), settings verbatim, most comments left out.
PACKETBEAT_YML = """\
# =============================== Network device ===============================
packetbeat.interfaces.device: any
packetbeat.interfaces.internal_networks:
  - private

# =================================== Flows ====================================
packetbeat.flows:
  timeout: 30s
  period: 10s

# =========================== Transaction protocols ============================
packetbeat.protocols:
- type: icmp
  # Enable ICMPv4 and ICMPv6 monitoring. The default is true.
  enabled: true
- type: amqp
  ports: [5672]
- type: cassandra
  ports: [9042]
- type: dhcpv4
  ports: [67, 68]
- type: dns
  ports: [53]
- type: http
  ports: [80, 8080, 8000, 5000, 8002]
- type: memcache
  ports: [11211]
- type: mysql
  ports: [3306,3307]
- type: pgsql
  ports: [5432]
- type: redis
  ports: [6379]
- type: thrift
  ports: [9090]
- type: mongodb
  ports: [27017]
- type: nfs
  ports: [2049]
- type: tls
  ports:
    - 443   # HTTPS
    - 993   # IMAPS
    - 995   # POP3S
    - 5223  # XMPP over SSL
    - 8443
    - 8883  # Secure MQTT
    - 9243  # Elasticsearch
- type: sip
  ports: [5060]

# ======================= Elasticsearch template setting =======================
setup.template.settings:
  index.number_of_shards: 1
  #index.codec: best_compression

# ================================== General ===================================
#name:
#tags: [forwarded]

# =================================== Kibana ===================================
setup.kibana:
  #host: "localhost:5601"
  #space.id:

# ---------------------------- Elasticsearch Output ----------------------------
output.elasticsearch:
  hosts: ["localhost:9200"]
  preset: balanced
  #protocol: "https"

# ------------------------------ Logstash Output -------------------------------
#output.logstash:
  #hosts: ["localhost:5044"]

# ================================= Processors =================================
processors:
  - # Add forwarded to tags when processing data from a network tap or mirror.
    if.contains.tags: forwarded
    then:
      - drop_fields:
          fields: [host]
    else:
      - add_host_metadata: ~
  - add_cloud_metadata: ~
  - add_docker_metadata: ~
  - detect_mime_type:
      field: http.request.body.content
      target: http.request.mime_type
  - detect_mime_type:
      field: http.response.body.content
      target: http.response.mime_type

# ================================== Logging ===================================
#logging.level: debug
#logging.selectors: ["*"]

# ============================= X-Pack Monitoring ==============================
#monitoring.enabled: false
"""


def write(tmp_path: Path, text: str, name: str = "shardbeat.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_shipped_packetbeat_yml_loads_unchanged(tmp_path):
    s = load_config(write(tmp_path, PACKETBEAT_YML, "packetbeat.yml"))
    assert [name for name, _ in enabled_protocols(s)] == list(PROTOCOL_NAMES)
    assert s.shardbeat.protocols.mysql.ports == (3306, 3307)
    assert s.shardbeat.interfaces.internal_networks == ("private",)
    assert (s.shardbeat.flows.timeout, s.shardbeat.flows.period) == (30.0, 10.0)
    assert s.output.active()[0] == "elasticsearch"
    assert s.output.elasticsearch.preset == "balanced"
    assert s.setup.template.settings == {"index": {"number_of_shards": 1}}
    # Beats' dotted `if.contains.tags` is a nested condition; `~` a processor without options.
    assert s.processors[0] == {"if": {"contains": {"tags": "forwarded"}},
                               "then": [{"drop_fields": {"fields": ["host"]}}],
                               "else": [{"add_host_metadata": {}}]}
    assert s.processors[3] == {"detect_mime_type": {"field": "http.request.body.content",
                                                    "target": "http.request.mime_type"}}


def test_list_form_runs_only_the_listed_protocols(tmp_path):
    s = load_config(write(tmp_path, """
shardbeat.protocols:
- type: http
  ports: [8080]
  send_headers: [host]
- type: dns
  enabled: false
- type: icmp
"""))
    assert [name for name, _ in enabled_protocols(s)] == ["icmp", "http"]
    assert s.shardbeat.protocols.http.ports == (8080,)
    assert s.shardbeat.protocols.http.send_headers == ("host",)
    assert s.shardbeat.protocols.dns.enabled is False


def test_map_form_adjusts_the_defaults(tmp_path):
    s = load_config(write(tmp_path, """
shardbeat:
  protocols:
    http: {ports: [8080], send_request: true}
    tls: {enabled: false}
"""))
    names = [name for name, _ in enabled_protocols(s)]
    assert "tls" not in names and "dns" in names and len(names) == len(PROTOCOL_NAMES) - 1
    assert (s.shardbeat.protocols.http.ports, s.shardbeat.protocols.http.send_request) == (
        (8080,), True)


def test_dotted_keys_equal_nested_keys(tmp_path):
    dotted = load_config(write(tmp_path, "shardbeat.flows.enabled: false\n"
                                         "shardbeat.protocols.http.ports: [81]\n", "a.yml"))
    nested = load_config(write(tmp_path, "shardbeat:\n  flows:\n    enabled: false\n"
                                         "  protocols:\n    http:\n      ports: [81]\n", "b.yml"))
    assert dotted == nested
    assert dotted.shardbeat.flows.enabled is False


def test_packetbeat_alias_merges_and_shardbeat_wins(tmp_path):
    s = load_config(write(tmp_path, """
packetbeat.flows: {timeout: 45s, period: 5s}
packetbeat.protocols:
- type: http
  ports: [8080]
shardbeat.flows.period: 20s
shardbeat.workers: 3
"""))
    assert (s.shardbeat.flows.timeout, s.shardbeat.flows.period) == (45.0, 20.0)
    assert s.shardbeat.worker_count() == 3
    assert [name for name, _ in enabled_protocols(s)] == ["http"]
    alias_only = load_config(overrides=["packetbeat.flows.enabled=false"])
    assert alias_only.shardbeat.flows.enabled is False


def test_overrides_are_yaml_typed_and_applied_after_the_file(tmp_path):
    path = write(tmp_path, "shardbeat.flows.enabled: true\ntags: [from-file]\n")
    s = load_config(path, [
        "shardbeat.protocols.http.ports=[80,8080]",
        "shardbeat.flows.enabled=false",
        "tags=[a,b]",
        "shardbeat.protocols.thrift.idl_files=[a.thrift,b.thrift]",
        "output.console.pretty=true",
        "shardbeat.protocols.mysql.max_rows=25",
        "shardbeat.interfaces.bpf_filter=port 80 or port 53",
        "name=edge-1",
        "fields={env: staging, team: {name: net}}",
        "shardbeat.flows.timeout=1m",
    ])
    assert s.shardbeat.protocols.http.ports == (80, 8080)
    assert s.shardbeat.flows.enabled is False
    assert s.tags == ("a", "b")
    assert s.shardbeat.protocols.thrift.idl_files == ("a.thrift", "b.thrift")
    assert s.output.console.pretty is True
    assert s.shardbeat.protocols.mysql.max_rows == 25
    assert s.shardbeat.interfaces.bpf_filter == "port 80 or port 53"
    assert s.name == "edge-1"
    assert s.fields == {"env": "staging", "team": {"name": "net"}}
    assert s.shardbeat.flows.timeout == 60.0


def test_a_single_port_is_a_list_of_one():
    assert load_config(overrides=["shardbeat.protocols.http.ports=8080"]
                       ).shardbeat.protocols.http.ports == (8080,)


def test_scalars_are_strings_where_strings_are_wanted():
    s = load_config(overrides=["name=1234", "tags=[2024, true, edge]",
                               "shardbeat.interfaces.device=2"], env={})
    assert (s.name, s.tags, s.shardbeat.interfaces.device) == ("1234", ("2024", "true", "edge"),
                                                                "2")


def test_overrides_reach_into_a_list_form_file(tmp_path):
    path = write(tmp_path, "shardbeat.protocols:\n- type: http\n  ports: [80]\n- type: dns\n")
    s = load_config(path, ["shardbeat.protocols.http.ports=[8000]",
                           "shardbeat.protocols.dns.include_authorities=true"])
    assert s.shardbeat.protocols.http.ports == (8000,)
    assert s.shardbeat.protocols.dns.include_authorities is True
    assert [name for name, _ in enabled_protocols(s)] == ["dns", "http"]
    only_icmp = load_config(path, ["shardbeat.protocols=[{type: icmp}]"])
    assert [name for name, _ in enabled_protocols(only_icmp)] == ["icmp"]


def test_environment_variables_with_and_without_defaults(tmp_path):
    path = write(tmp_path, """
name: ${NODE_NAME}
shardbeat.interfaces.device: ${CAPTURE_DEVICE:eth0}
shardbeat.protocols.http.ports: ${HTTP_PORTS}
output.file:
  path: ${DATA_DIR:/var/lib/shardbeat}/events
  filename: "cost-$${literal}"
""")
    s = load_config(path, env={"NODE_NAME": "probe-7", "HTTP_PORTS": "[80, 8081]"})
    assert s.name == "probe-7"
    assert s.shardbeat.interfaces.device == "eth0"
    assert s.shardbeat.protocols.http.ports == (80, 8081)
    assert s.output.file.path == "/var/lib/shardbeat/events"
    assert s.output.file.filename == "cost-${literal}"
    assert load_config(path, env={"NODE_NAME": "x", "HTTP_PORTS": "80",
                                  "CAPTURE_DEVICE": "lo"}).shardbeat.interfaces.device == "lo"


def test_a_key_can_refer_to_another_key():
    s = load_config(overrides=["path.home=/opt/sb", "path.data=${path.home}/data",
                               "output.console.enabled=false",
                               "output.file.path=${path.data}/events"], env={})
    assert (s.path.data, s.output.file.path) == ("/opt/sb/data", "/opt/sb/data/events")
    # A key that is not set refers to its default.
    assert load_config(overrides=["name=${path.logs}-node"], env={}).name == "logs-node"


def test_empty_sections_and_empty_file_mean_defaults(tmp_path):
    assert load_config(write(tmp_path, "", "empty.yml")) == load_config()
    s = load_config(write(tmp_path, "setup.kibana:\nname:\nshardbeat.flows:\n", "nulls.yml"))
    assert s == load_config()


def test_interfaces_as_a_list_of_one(tmp_path):
    s = load_config(write(tmp_path, "shardbeat.interfaces:\n- device: eth1\n  snaplen: 1514\n"))
    assert (s.shardbeat.interfaces.device, s.shardbeat.interfaces.snaplen) == ("eth1", 1514)


def test_missing_file_is_an_error_naming_it(tmp_path):
    missing = str(tmp_path / "nope.yml")
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.problems[0].key == missing
    assert "no such config file" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "shardbeat:\n  flows: [unclosed\n"))
    assert info.value.problems[0].key.endswith("shardbeat.yml:3:1")  # where YAML gave up
    assert "not valid YAML" in info.value.problems[0].message


@settings(max_examples=60, deadline=None)
@given(ports=st.lists(st.integers(1, 65535), min_size=1, max_size=6),
       enabled=st.booleans(), timeout=st.integers(1, 7200),
       tags=st.lists(st.from_regex(r"tag[a-z0-9_-]{0,8}", fullmatch=True), max_size=4))
def test_override_values_are_typed_like_yaml(ports, enabled, timeout, tags):
    s = load_config(overrides=[
        f"shardbeat.protocols.http.ports=[{','.join(map(str, ports))}]",
        f"shardbeat.flows.enabled={str(enabled).lower()}",
        f"shardbeat.flows.timeout={timeout}s",
        f"tags=[{','.join(tags)}]",
    ], env={})
    assert s.shardbeat.protocols.http.ports == tuple(ports)
    assert s.shardbeat.flows.enabled is enabled
    assert s.shardbeat.flows.timeout == float(timeout)
    assert s.tags == tuple(tags)
