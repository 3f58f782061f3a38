"""DNS over UDP: one query and its response per flow (a fresh source port each, as resolvers'
clients do). Real message encoding with name compression, CNAME chains, NXDOMAIN with an SOA
authority, and EDNS0 OPT records on a share of queries.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from .corpus import Corpus

HEADER = struct.Struct("!HHHHHH")
RR_FIXED = struct.Struct("!HHIH")         # type, class, ttl, rdlength (after the owner name)
QUESTION_FIXED = struct.Struct("!HH")
SOA_FIXED = struct.Struct("!IIIII")
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41
QTYPES = ((A, 55), (AAAA, 25), (PTR, 5), (MX, 4), (TXT, 5), (SRV, 3), (NS, 3))
FLAGS_QUERY = 0x0100                      # RD
FLAGS_RESPONSE = 0x8180                   # QR RD RA
NXDOMAIN = 3
POINTER_TO_QNAME = 0xC00C                 # the question name always sits at offset 12
EDNS_UDP_SIZE = 1232


@dataclass
class DnsStats:
    transactions: int = 0
    rcodes: dict = field(default_factory=dict)
    qtypes: dict = field(default_factory=dict)


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        out.append(len(label))
        out += label.encode()
    return bytes(out) + b"\x00"


def _rr(owner: int, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner.to_bytes(2, "big") + RR_FIXED.pack(rtype, 1, ttl, len(rdata)) + rdata


def _opt() -> bytes:
    return b"\x00" + RR_FIXED.pack(OPT, EDNS_UDP_SIZE, 0, 0)


def _qname(rng: random.Random, corpus: Corpus, qtype: int) -> str:
    if qtype == PTR:
        return f"{rng.randrange(1, 255)}.{rng.randrange(256)}.16.172.in-addr.arpa"
    if qtype == SRV:
        return f"_ldap._tcp.{rng.choice(corpus.domains).split('.', 1)[1]}"
    domain = rng.choice(corpus.domains)
    return domain if qtype != MX else domain.split(".", 1)[1]


def _answers(rng: random.Random, qtype: int, qname_len: int) -> list[bytes]:
    """Answer records; the first owner is the question name, by pointer."""
    ttl = rng.choice((30, 60, 300, 3600))
    if qtype in (A, AAAA) and rng.random() < 0.3:       # CNAME to a CDN name, then addresses
        target = encode_name(f"e{rng.randrange(9999)}.cdn.edgehub.net")
        first = _rr(POINTER_TO_QNAME, CNAME, ttl, target)
        owner = 0xC000 | (12 + qname_len + 4 + 12)       # points at the CNAME's rdata
        return [first] + [_rr(owner, qtype, 20, _addr(rng, qtype)) for _ in range(rng.randint(1, 3))]
    if qtype in (A, AAAA):
        return [_rr(POINTER_TO_QNAME, qtype, ttl, _addr(rng, qtype)) for _ in range(rng.randint(1, 4))]
    if qtype == MX:
        return [_rr(POINTER_TO_QNAME, MX, ttl, struct.pack("!H", 10 * (i + 1))
                    + encode_name(f"mx{i}.mailhost.net")) for i in range(rng.randint(1, 3))]
    if qtype == TXT:
        text = f"v=spf1 include:_spf.mailhost.net ip4:172.16.{rng.randrange(256)}.0/24 ~all".encode()
        return [_rr(POINTER_TO_QNAME, TXT, ttl, bytes([len(text)]) + text)]
    if qtype == SRV:
        return [_rr(POINTER_TO_QNAME, SRV, ttl, struct.pack("!HHH", 0, 100, 389)
                    + encode_name(f"dc{i}.corp.internal")) for i in range(rng.randint(1, 2))]
    if qtype == NS:
        return [_rr(POINTER_TO_QNAME, NS, 86400, encode_name(f"ns{i}.dnshost.net")) for i in (1, 2)]
    return [_rr(POINTER_TO_QNAME, PTR, ttl, encode_name(f"host-{rng.randrange(9999)}.corp.internal"))]


def _addr(rng: random.Random, qtype: int) -> bytes:
    if qtype == A:
        return bytes((93, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)))
    return b"\x20\x01\x0d\xb8" + rng.getrandbits(96).to_bytes(12, "big")


def _soa() -> bytes:
    rdata = (encode_name("ns1.dnshost.net") + encode_name("hostmaster.dnshost.net")
             + SOA_FIXED.pack(2024030101, 7200, 3600, 1209600, 300))
    return _rr(POINTER_TO_QNAME, SOA, 300, rdata)


def plan(rng: random.Random, corpus: Corpus, stats: DnsStats) -> tuple[bytes, bytes]:
    """(query, response) payloads for one lookup."""
    qtype = rng.choices([q for q, _ in QTYPES], weights=[w for _, w in QTYPES])[0]
    qname = encode_name(_qname(rng, corpus, qtype))
    question = qname + QUESTION_FIXED.pack(qtype, 1)
    ident, edns = rng.getrandbits(16), rng.random() < 0.35
    extra = _opt() if edns else b""
    query = HEADER.pack(ident, FLAGS_QUERY, 1, 0, 0, int(edns)) + question + extra
    if rng.random() < 0.05:
        rcode, answers, authority = NXDOMAIN, [], [_soa()]
    else:
        rcode, answers, authority = 0, _answers(rng, qtype, len(qname)), []
    response = (HEADER.pack(ident, FLAGS_RESPONSE | rcode, 1, len(answers), len(authority),
                            int(edns)) + question + b"".join(answers) + b"".join(authority) + extra)
    stats.transactions += 1
    stats.rcodes[rcode] = stats.rcodes.get(rcode, 0) + 1
    stats.qtypes[qtype] = stats.qtypes.get(qtype, 0) + 1
    return query, response
