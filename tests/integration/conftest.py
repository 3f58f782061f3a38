"""Session fixtures: real nginx and dnsmasq on 127.0.0.1, their traffic captured off `lo`
with tcpdump, the client-side ground truth, and `shardbeat replay`'s events for each capture.

Each server, capture and client run happens once per session; the tests then only read.
Everything runs under one temporary directory that is removed at the end (set
SHARDBEAT_KEEP_CAPTURES=1 to keep it and have its path printed, to look at a failure).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.dnstraffic import run_dns_traffic
from tests.integration.httptraffic import run_http_traffic
from tests.integration.loopcapture import capture_port
from tests.integration.realservers import (DNSMASQ, NGINX, TCPDUMP, TSHARK,
                                           dnsmasq_server, missing_binaries, nginx_server)
from tests.integration.replaycli import run_replay

INSTALL_HINT = ("install them with `apt-get install tshark nginx-light dnsmasq-base tcpdump`"
                " (.ci/run does)")


@dataclass(frozen=True)
class Recording:
    """One capture of scripted client traffic and what the client knows happened."""

    pcap: Path
    server_port: int
    truth: Any
    overrides: tuple[str, ...]


def _require(*binaries: str) -> None:
    missing = missing_binaries(*binaries)
    if missing:
        pytest.skip(f"real-server integration tests need {', '.join(missing)}: {INSTALL_HINT}")
    if os.geteuid() != 0:
        pytest.skip("capturing loopback traffic with tcpdump needs root (CAP_NET_RAW)")


@pytest.fixture(scope="session")
def integration_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="shardbeat-it-"))
    try:
        yield path
    finally:
        if os.environ.get("SHARDBEAT_KEEP_CAPTURES"):
            print(f"\nintegration captures kept in {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def http_recording(integration_dir: Path) -> Recording:
    _require(NGINX, TCPDUMP, TSHARK)
    pcap = integration_dir / "nginx.pcap"
    with nginx_server(integration_dir / "nginx") as server:
        with capture_port(pcap, server.port):
            truth = run_http_traffic(server.port)
    return Recording(pcap=pcap, server_port=server.port, truth=truth,
                     overrides=(f"shardbeat.protocols.http.ports=[{server.port}]",))


@pytest.fixture(scope="session")
def dns_recording(integration_dir: Path) -> Recording:
    _require(DNSMASQ, TCPDUMP, TSHARK)
    pcap = integration_dir / "dnsmasq.pcap"
    with dnsmasq_server(integration_dir / "dnsmasq") as server:
        with capture_port(pcap, server.port):
            truth = run_dns_traffic(server.port)
    return Recording(pcap=pcap, server_port=server.port, truth=truth,
                     overrides=(f"shardbeat.protocols.dns.ports=[{server.port}]",))


@pytest.fixture(scope="session")
def http_events(http_recording: Recording) -> list[dict]:
    return run_replay(http_recording.pcap, http_recording.overrides)


@pytest.fixture(scope="session")
def dns_events(dns_recording: Recording) -> list[dict]:
    return run_replay(dns_recording.pcap, dns_recording.overrides)
