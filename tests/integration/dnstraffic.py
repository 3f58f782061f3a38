"""DNS client traffic against the test dnsmasq, with the ground truth recorded client-side.

Queries are built and responses decoded with dpkt; each records the transport, the client's
port, the id, question, response code, the answers as the client decoded them, and the bytes
on the wire (for TCP that includes the two-byte length prefix, as Packetbeat counts it).
"""

from __future__ import annotations

import random
import socket
import struct
from dataclasses import dataclass, field

import dpkt

IO_TIMEOUT_S = 5.0

TYPE_NAMES = {dpkt.dns.DNS_A: "A", dpkt.dns.DNS_AAAA: "AAAA", dpkt.dns.DNS_MX: "MX",
              dpkt.dns.DNS_TXT: "TXT", dpkt.dns.DNS_CNAME: "CNAME", dpkt.dns.DNS_SOA: "SOA",
              dpkt.dns.DNS_NS: "NS", dpkt.dns.DNS_PTR: "PTR"}
TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED"}


@dataclass(frozen=True)
class Answer:
    name: str
    type: str
    ttl: int
    data: str
    preference: int | None = None   # MX only


@dataclass(frozen=True)
class Query:
    transport: str
    client_port: int
    id: int
    name: str
    type: str
    rcode: str
    answers: tuple[Answer, ...]
    sent: int
    received: int


@dataclass
class DnsTruth:
    server_port: int
    queries: list[Query] = field(default_factory=list)
    udp_ports: set[int] = field(default_factory=set)
    tcp_ports: list[int] = field(default_factory=list)
    _ids: set[int] = field(default_factory=set)

    def new_id(self) -> int:
        rng = random.Random()
        while True:
            qid = rng.randrange(1, 65536)
            if qid not in self._ids:
                self._ids.add(qid)
                return qid


def _answer_data(rr) -> str:
    if rr.type == dpkt.dns.DNS_A:
        return socket.inet_ntop(socket.AF_INET, rr.rdata)
    if rr.type == dpkt.dns.DNS_AAAA:
        return socket.inet_ntop(socket.AF_INET6, rr.rdata)
    if rr.type == dpkt.dns.DNS_MX:
        return rr.mxname
    if rr.type == dpkt.dns.DNS_CNAME:
        return rr.cname
    if rr.type == dpkt.dns.DNS_TXT:
        # Packetbeat joins a TXT record's strings with one space.
        return " ".join(t.decode() if isinstance(t, bytes) else t for t in rr.text)
    raise AssertionError(f"the test zone has no record of type {rr.type}")


def _mx_preference(rr) -> int | None:
    # Read off the rdata: dpkt 1.9 stores the MX preference as a 1-tuple.
    if rr.type != dpkt.dns.DNS_MX:
        return None
    return struct.unpack("!H", rr.rdata[:2])[0]


def _record(truth: DnsTruth, transport: str, port: int, query: dpkt.dns.DNS,
            wire: tuple[bytes, bytes]) -> None:
    raw_query, raw_response = wire
    response = dpkt.dns.DNS(raw_response)
    assert response.id == query.id and response.qr == dpkt.dns.DNS_R
    answers = tuple(Answer(rr.name, TYPE_NAMES[rr.type], rr.ttl, _answer_data(rr),
                           _mx_preference(rr)) for rr in response.an)
    prefix = 2 if transport == "tcp" else 0
    q = query.qd[0]
    truth.queries.append(Query(
        transport=transport, client_port=port, id=query.id, name=q.name,
        type=TYPE_NAMES[q.type], rcode=RCODE_NAMES.get(response.rcode, str(response.rcode)),
        answers=answers, sent=len(raw_query) + prefix, received=len(raw_response) + prefix))


def _build(truth: DnsTruth, name: str, qtype: str) -> dpkt.dns.DNS:
    return dpkt.dns.DNS(id=truth.new_id(), rd=1,
                        qd=[dpkt.dns.DNS.Q(name=name, type=TYPE_CODES[qtype])])


def udp_queries(truth: DnsTruth, questions: list[tuple[str, str]]) -> None:
    """Each question sent and answered in turn from one UDP socket (one client port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(IO_TIMEOUT_S)
        sock.connect(("127.0.0.1", truth.server_port))
        port = sock.getsockname()[1]
        truth.udp_ports.add(port)
        for name, qtype in questions:
            query = _build(truth, name, qtype)
            raw = bytes(query)
            sock.send(raw)
            _record(truth, "udp", port, query, (raw, sock.recv(65535)))


def tcp_queries(truth: DnsTruth, questions: list[tuple[str, str]]) -> None:
    """Several length-prefixed queries on one TCP connection (RFC 7766), each answered
    before the next is sent."""
    with socket.create_connection(("127.0.0.1", truth.server_port),
                                  timeout=IO_TIMEOUT_S) as sock:
        port = sock.getsockname()[1]
        truth.tcp_ports.append(port)
        for name, qtype in questions:
            query = _build(truth, name, qtype)
            raw = bytes(query)
            sock.sendall(struct.pack("!H", len(raw)) + raw)
            (length,) = struct.unpack("!H", _recv_exact(sock, 2))
            _record(truth, "tcp", port, query, (raw, _recv_exact(sock, length)))
        sock.shutdown(socket.SHUT_WR)
        _recv_exact(sock, 0, until_eof=True)


def _recv_exact(sock: socket.socket, n: int, until_eof: bool = False) -> bytes:
    buf = bytearray()
    while until_eof or len(buf) < n:
        chunk = sock.recv(65536 if until_eof else n - len(buf))
        if not chunk:
            if until_eof:
                break
            raise ConnectionError(f"server closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def run_dns_traffic(server_port: int) -> DnsTruth:
    """A, AAAA, MX, TXT, CNAME and a nonexistent name, over UDP (two sockets) and TCP (two
    connections, one carrying several queries)."""
    truth = DnsTruth(server_port=server_port)
    udp_queries(truth, [("alpha.test", "A"), ("beta.test", "AAAA"), ("mail.test", "MX"),
                        ("info.test", "TXT"), ("www.test", "CNAME"), ("nosuch.test", "A"),
                        ("www.test", "A")])
    udp_queries(truth, [("beta.test", "A")])
    tcp_queries(truth, [("alpha.test", "A"), ("mail.test", "MX"), ("info.test", "TXT")])
    tcp_queries(truth, [("missing.test", "AAAA")])
    return truth
