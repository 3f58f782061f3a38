"""Real servers on 127.0.0.1 for the integration tests: Debian's nginx and dnsmasq.

Each server runs in the foreground as a child of the test process, with every file it writes
(config, pid, logs, temp bodies) under a temporary directory, so a test run leaves nothing
behind and never touches the machine's own /etc or /var. Nothing here resolves or forwards a
name off the machine: dnsmasq runs with --no-resolv and answers `.test` from local records only.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

NGINX = "/usr/sbin/nginx"
DNSMASQ = "/usr/sbin/dnsmasq"
TCPDUMP = "/usr/bin/tcpdump"
TSHARK = "/usr/bin/tshark"

# How long a server may take to accept its first connection / answer its first query.
STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

# Ports below the kernel's ephemeral range, so a client's source port can never equal the
# server port the capture filter and the -E ports setting select.
PORT_LOW = 20000


def missing_binaries(*paths: str) -> list[str]:
    return [p for p in paths if not (os.path.isfile(p) and os.access(p, os.X_OK))]


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1, below the ephemeral range."""
    low, _high = _ephemeral_range()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(PORT_LOW, max(PORT_LOW + 1000, low))
        if _bindable(port, socket.SOCK_STREAM) and _bindable(port, socket.SOCK_DGRAM):
            return port
    raise RuntimeError("no free port found for the test servers")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal our own child and reap it; escalate to SIGKILL when it will not go."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


def _log_tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- nginx

# Static content: sizes chosen so responses fit one segment, span a few, and span many
# (the large one exceeds loopback's 64 KiB MSS-less segments and the client's recv size).
STATIC_FILES = {
    "index.html": b"<html><body><h1>shardbeat integration</h1></body></html>\n",
    "small.txt": b"hello, world\n",
    "medium.html": b"<p>" + b"medium sized page line\n" * 180 + b"</p>\n",
    "data.json": b"[" + b",".join(b'{"id": %d, "name": "item-%d", "ok": true}' % (i, i)
                                   for i in range(300)) + b"]\n",
}
LARGE_FILE = ("large.bin", 200_000)

NGINX_CONF = """\
master_process off;
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{ text/html html; text/plain txt; application/json json;
             application/octet-stream bin; }}
    default_type application/octet-stream;
    keepalive_timeout 30s;
    keepalive_requests 1000;
    gzip on;
    gzip_types text/plain application/json;
    gzip_min_length 64;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        root {root}/html;
        location = /submit {{ return 201 "created\\n"; }}
    }}
}}
"""


@dataclass
class HttpServer:
    port: int
    root: Path
    files: dict[str, bytes] = field(default_factory=dict)


@contextlib.contextmanager
def nginx_server(root: Path) -> Iterator[HttpServer]:
    """nginx in the foreground (no master/worker split: no user switch, so it reads files in
    a root-only temp dir), serving STATIC_FILES and a POST endpoint."""
    port = free_port()
    html = root / "html"
    for sub in ("html", "logs", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    files = dict(STATIC_FILES)
    name, size = LARGE_FILE
    files[name] = bytes(random.Random(7).getrandbits(8) for _ in range(size))
    for fname, content in files.items():
        (html / fname).write_bytes(content)
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, port=port))
    stderr = root / "logs" / "stderr.log"
    with open(stderr, "wb") as err:
        proc = subprocess.Popen([NGINX, "-p", str(root), "-e", str(root / "logs/error.log"),
                                 "-c", str(conf)], stdin=subprocess.DEVNULL,
                                stdout=err, stderr=err)
    try:
        _wait_tcp(proc, port, stderr)
        yield HttpServer(port=port, root=root, files=files)
    finally:
        stop_process(proc, signal.SIGQUIT)


def _wait_tcp(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {_log_tail(log)}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError(f"server did not listen on {port}: {_log_tail(log)}")


# ---------------------------------------------------------------- dnsmasq

# Local records. `.test` is a local-only domain (--local), so a name not listed here gets
# NXDOMAIN from dnsmasq itself instead of REFUSED for want of an upstream.
DNS_RECORDS = (
    "--local=/test/",
    "--address=/alpha.test/10.1.2.3",
    "--host-record=beta.test,10.2.3.4,fd00:db8::2",
    "--host-record=mx1.test,10.3.0.1",
    "--mx-host=mail.test,mx1.test,10",
    # argv goes to dnsmasq without a shell: quote characters here would be record data.
    "--txt-record=info.test,v=shardbeat1,second string",
    "--cname=www.test,beta.test",
)


@dataclass
class DnsServer:
    port: int
    root: Path


@contextlib.contextmanager
def dnsmasq_server(root: Path) -> Iterator[DnsServer]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "dnsmasq.log"
    argv = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null", f"--port={port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--no-poll", "--user=root", "--group=root", f"--pid-file={root / 'dnsmasq.pid'}",
            "--log-facility=-", "--log-queries", "--local-ttl=300", *DNS_RECORDS]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        _wait_dns(proc, port, log)
        yield DnsServer(port=port, root=root)
    finally:
        stop_process(proc)


def _wait_dns(proc: subprocess.Popen, port: int, log: Path) -> None:
    import dpkt

    probe = dpkt.dns.DNS(id=1, rd=1, qd=[dpkt.dns.DNS.Q(name="alpha.test",
                                                        type=dpkt.dns.DNS_A)])
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited with {proc.returncode}: {_log_tail(log)}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(bytes(probe), ("127.0.0.1", port))
                s.recvfrom(4096)
                return
            except OSError:
                pass
        time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError(f"dnsmasq did not answer on {port}: {_log_tail(log)}")
