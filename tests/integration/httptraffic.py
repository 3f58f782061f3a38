"""HTTP client traffic against the test nginx, with the ground truth recorded client-side.

Every request records what the client knows for certain: the connection's local port, the
method, path and query it sent, the status it got, and the exact bytes it wrote and read on
the socket for that exchange (Packetbeat's source.bytes / destination.bytes are the raw
request and response message sizes, headers included).
"""

from __future__ import annotations

import http.client
import io
import socket
from dataclasses import dataclass, field

IO_TIMEOUT_S = 5.0
USER_AGENT = "shardbeat-integration/1"


@dataclass(frozen=True)
class Exchange:
    client_port: int
    method: str
    path: str
    query: str | None      # the query string as sent, without "?"
    status: int
    sent: int
    received: int
    pipelined: bool = False
    form: str | None = None  # an application/x-www-form-urlencoded body, as sent


@dataclass
class HttpTruth:
    server_port: int
    exchanges: list[Exchange] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)


class _CountingRaw(io.RawIOBase):
    def __init__(self, owner: "_CountingSocket") -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self._owner.sock.recv_into(buf)
        self._owner.received += n
        return n


class _CountingSocket:
    """Wraps the socket http.client uses so every byte written and read is counted; nothing
    else about the connection changes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sent = 0
        self.received = 0

    def sendall(self, data) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def makefile(self, mode: str, *args, **kwargs):
        assert "r" in mode and "b" in mode, mode
        return io.BufferedReader(_CountingRaw(self))

    def __getattr__(self, name: str):
        return getattr(self.sock, name)


class CountingHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _CountingSocket(self.sock)


def _split_target(target: str) -> tuple[str, str | None]:
    path, sep, query = target.partition("?")
    return path, (query if sep else None)


def keepalive_session(truth: HttpTruth, requests: list[tuple]) -> None:
    """Several requests on one persistent connection, each answered before the next is
    sent. `requests`: (method, target, body or None, headers dict)."""
    conn = CountingHTTPConnection("127.0.0.1", truth.server_port, timeout=IO_TIMEOUT_S)
    try:
        conn.connect()
        port = conn.sock.getsockname()[1]
        truth.client_ports.append(port)
        for method, target, body, headers in requests:
            before_sent, before_recv = conn.sock.sent, conn.sock.received
            # http.client writes a body apart from the headers, and nginx may answer a
            # POST it does not read before the body's segment is even sent: corking makes
            # each request one segment, so every response follows its whole request.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            conn.request(method, target, body=body,
                         headers={"User-Agent": USER_AGENT, **headers})
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            resp = conn.getresponse()
            resp.read()
            assert not resp.will_close, f"nginx closed the keep-alive connection on {target}"
            path, query = _split_target(target)
            form = body.decode() if body and "urlencoded" in headers.get(
                "Content-Type", "") else None
            truth.exchanges.append(Exchange(
                client_port=port, method=method, path=path, query=query, status=resp.status,
                sent=conn.sock.sent - before_sent, received=conn.sock.received - before_recv,
                form=form))
    finally:
        conn.close()


class _NoCloseBytes(io.BytesIO):
    """http.client closes its file when a response ends; keep ours open to read the next."""

    def close(self) -> None:
        pass


class _BufferSocket:
    def __init__(self, fp: io.BytesIO) -> None:
        self._fp = fp

    def makefile(self, mode: str, *args, **kwargs):
        return self._fp


def pipelined_session(truth: HttpTruth, targets: list[tuple[str, dict]]) -> None:
    """All GET requests written in one send before any response is read (HTTP/1.1
    pipelining); the last asks the server to close, so the responses end at EOF."""
    raw_requests = []
    for i, (target, headers) in enumerate(targets):
        lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{truth.server_port}",
                 f"User-Agent: {USER_AGENT}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if i == len(targets) - 1:
            lines.append("Connection: close")
        raw_requests.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    with socket.create_connection(("127.0.0.1", truth.server_port),
                                  timeout=IO_TIMEOUT_S) as sock:
        port = sock.getsockname()[1]
        truth.client_ports.append(port)
        sock.sendall(b"".join(raw_requests))
        received = _read_to_eof(sock)
    fp = _NoCloseBytes(received)
    for (target, _headers), raw in zip(targets, raw_requests):
        start = fp.tell()
        resp = http.client.HTTPResponse(_BufferSocket(fp), method="GET")
        resp.begin()
        resp.read()
        path, query = _split_target(target)
        truth.exchanges.append(Exchange(
            client_port=port, method="GET", path=path, query=query, status=resp.status,
            sent=len(raw), received=fp.tell() - start, pipelined=True))
    assert fp.tell() == len(received), "bytes left over after the pipelined responses"


def _read_to_eof(sock: socket.socket, limit: int = 4 << 20) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


GZIP = {"Accept-Encoding": "gzip"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def run_http_traffic(server_port: int) -> HttpTruth:
    """The scripted traffic: two keep-alive connections, one pipelined, one single-shot.
    Covers 200/201/404, HEAD, POST with a body, a query string, a 200 kB body spanning many
    segments, and a gzip-encoded chunked response."""
    truth = HttpTruth(server_port=server_port)
    keepalive_session(truth, [
        ("GET", "/", None, {}),
        ("GET", "/small.txt", None, {}),
        ("HEAD", "/small.txt", None, {}),
        ("GET", "/missing.html", None, {}),
        ("POST", "/submit", b"name=shardbeat&count=3&note=integration+test", FORM),
        ("GET", "/medium.html?page=2&sort=asc", None, {}),
    ])
    keepalive_session(truth, [
        ("GET", "/large.bin", None, {}),
        ("GET", "/data.json", None, GZIP),
        ("GET", "/nope/deeper", None, {}),
    ])
    pipelined_session(truth, [
        ("/small.txt", {}),
        ("/data.json", GZIP),
        ("/medium.html", {}),
        ("/index.html?x=1", {}),
    ])
    keepalive_session(truth, [("GET", "/index.html", None, {})])
    return truth
