"""`dns_event` builds a DNS event in one go; it must be byte for byte what the general route
gives: the Transaction of the pair (as Packetbeat's publishTransaction fills it) through
`to_event`. Random pairs, orphans, unanswered queries, notes, both address families and
every send_request/send_response setting."""

from __future__ import annotations

import random

import orjson
import pytest

from shardbeat.protocols.base import Conn
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.events import Options, Rendered, Sent, dns_event, dns_object, \
    message_text, question_text
from shardbeat.protocols.dns.names import opcode_name
from shardbeat.protocols.dns.wire import decode
from shardbeat.transactions.event import Transaction, to_event
from tests.protocols.dns_messages import AAAA, CNAME, MX, NS_, QR, RA, RD, T0, a_answer, \
    message, name, opt, pointer, question, rr


def _reference(conn: Conn, query: Sent | None, response: Sent | None, notes: list[str],
               opts: Options) -> tuple[dict, Rendered]:
    found = Rendered()
    sent = response if response is not None else query
    dns = dns_object(sent.msg, "answer" if response is not None else "query", opts, found)
    head = query if query is not None else response
    paired = query is not None and response is not None
    tx = Transaction("dns", conn, head.ts, response.ts if paired else None,
                     "OK" if paired and response.msg.rcode == 0 else "Error",
                     opcode_name(head.msg.opcode),
                     request_bytes=query.length if query is not None else 0,
                     response_bytes=response.length if response is not None else 0,
                     notes=list(notes), related_ips=found.resolved_ips,
                     fields={"dns": dns})
    if head.msg.questions:
        tx.query = question_text(head.msg.questions[0])
        tx.resource = head.msg.questions[0].name
    if opts.send_request and query is not None:
        tx.request = message_text(query.msg)
    if opts.send_response and response is not None:
        tx.response = message_text(response.msg)
    return to_event(tx), found


def _pair(rng: random.Random) -> tuple[bytes, bytes]:
    qname = rng.choice(["www.example.com", "a.b.example.co.uk", "x", "."])
    qtype = rng.choice([1, AAAA, MX, 16])
    msg_id = rng.randrange(0x10000)
    extra = [opt(udp_size=rng.choice([512, 1232]), do=rng.random() < 0.3)] \
        if rng.random() < 0.5 else []
    q = message(msg_id, rng.choice([RD, 0, 4 << 11]), [question(qname, qtype)],
                additionals=extra)
    answers = [a_answer(f"192.0.2.{rng.randrange(256)}") for _ in range(rng.randrange(3))]
    if rng.random() < 0.3:
        answers.insert(0, rr(pointer(12), CNAME, name("cdn.example.net")))
    if rng.random() < 0.2:
        answers.append(rr(pointer(12), AAAA, bytes(rng.randrange(256) for _ in range(16))))
    if rng.random() < 0.1:
        answers.append(rr(pointer(12), 1, b"\x01\x02"))  # bad rdata
    authorities = [rr(pointer(12), NS_, name("ns1.example.net"))] if rng.random() < 0.3 else []
    r = message(msg_id, QR | RD | RA | rng.choice([0, 0, 3]),
                [question(qname, qtype)] if rng.random() < 0.9 else [], answers, authorities,
                extra if rng.random() < 0.8 else [])
    return q, r


@pytest.mark.parametrize("send", [(False, False), (True, False), (True, True)])
def test_the_one_go_event_is_the_transaction_route_event(send):
    rng = random.Random(7 + send[0] + send[1])
    opts = Options(DnsConfig(send_request=send[0], send_response=send[1],
                             include_authorities=rng.random() < 0.5,
                             include_additionals=rng.random() < 0.5))
    clients = [(bytes([10, 0, 0, 1]), 40000), (bytes(15) + b"\1", 0),
               (bytes([10, 0, 0, 53]), 53)]
    for _ in range(1500):
        conn = Conn(rng.choice(["udp", "tcp"]), 4, rng.choice(clients),
                    (bytes([10, 0, 0, 53]), rng.choice([53, 0])))
        q, r = _pair(rng)
        start = T0 + rng.randrange(10**9)
        query = Sent(decode(q), start, rng.choice([len(q), 0]))
        response = Sent(decode(r), start + rng.randrange(-10**6, 10**9), len(r))
        shape = rng.randrange(3)
        if shape == 1:
            query = None
        elif shape == 2:
            response = None
        notes = rng.choice([[], ["a note"], ["one", "two"]])
        got, found = dns_event(conn, query, response, list(notes), opts)
        want, want_found = _reference(conn, query, response, list(notes), opts)
        assert orjson.dumps(got) == orjson.dumps(want)
        assert (found.resolved_ips, found.bad_rdata) == \
            (want_found.resolved_ips, want_found.bad_rdata)
