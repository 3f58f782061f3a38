"""PostgreSQL frontend/backend protocol 3.0, simple query flow.

Startup (StartupMessage → AuthenticationOk, ParameterStatus*, BackendKeyData, ReadyForQuery),
then 'Q' queries answered by RowDescription, DataRow*, CommandComplete, ReadyForQuery (or
CommandComplete alone for writes, ErrorResponse for a small share), then Terminate.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from .corpus import Corpus
from .tcp import TO_CLIENT, TO_SERVER, Message

PROTOCOL_3 = 196608
INT4, INT8, TEXT, NUMERIC, TIMESTAMP = 23, 20, 25, 1700, 1114
COLUMNS = (  # (name, type oid, type length, value maker)
    ("id", INT8, 8, lambda r, c: str(r.randrange(1, 10**9))),
    ("username", TEXT, -1, lambda r, c: f"{c.word(r)}_{r.randrange(9999)}"),
    ("amount", NUMERIC, -1, lambda r, c: f"{r.randrange(1, 10**7) / 100:.2f}"),
    ("qty", INT4, 4, lambda r, c: str(r.randrange(1, 500))),
    ("updated", TIMESTAMP, 8, lambda r, c: f"2024-02-{r.randint(10, 28)} 1{r.randint(0, 9)}:00:00"),
    ("comment", TEXT, -1, lambda r, c: bytes(c.text_slice(r, r.randint(10, 200))).decode()),
)
TABLES = ("accounts", "ledger", "events", "shipments")
PARAMS = (("server_version", "16.2"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
          ("DateStyle", "ISO, MDY"), ("TimeZone", "UTC"), ("integer_datetimes", "on"))
MEAN_QUERIES = 15
MAX_QUERIES = 200


@dataclass
class PgsqlStats:
    transactions: int = 0
    kinds: dict = field(default_factory=dict)


def message(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("!I", len(body) + 4) + body


def cstr(s: str) -> bytes:
    return s.encode() + b"\x00"


def startup() -> bytes:
    body = (struct.pack("!I", PROTOCOL_3) + cstr("user") + cstr("app") + cstr("database")
            + cstr("ledger") + cstr("application_name") + cstr("psql") + b"\x00")
    return struct.pack("!I", len(body) + 4) + body


def ready() -> bytes:
    return message(b"Z", b"I")


def welcome(rng: random.Random) -> bytes:
    out = [message(b"R", struct.pack("!I", 0))]
    out += [message(b"S", cstr(k) + cstr(v)) for k, v in PARAMS]
    out.append(message(b"K", struct.pack("!II", rng.randrange(1000, 99999), rng.getrandbits(32))))
    out.append(ready())
    return b"".join(out)


def _select(rng: random.Random, corpus: Corpus) -> tuple[bytes, bytes]:
    table = rng.choice(TABLES)
    cols = [COLUMNS[0]] + rng.sample(COLUMNS[1:], rng.randint(1, 4))
    nrows = min(int(rng.expovariate(1 / 10)), 200)
    sql = (f"SELECT {', '.join(c[0] for c in cols)} FROM {table} "
           f"WHERE id > {rng.randrange(10**6)} LIMIT {nrows}")
    desc = struct.pack("!H", len(cols)) + b"".join(
        cstr(name) + struct.pack("!IHIhiH", 16384 + TABLES.index(table), i + 1, oid, size, -1, 0)
        for i, (name, oid, size, _) in enumerate(cols))
    out = [message(b"T", desc)]
    for _ in range(nrows):
        vals = []
        for col in cols:
            if rng.random() < 0.05:
                vals.append(struct.pack("!i", -1))
            else:
                v = col[3](rng, corpus).encode()
                vals.append(struct.pack("!i", len(v)) + v)
        out.append(message(b"D", struct.pack("!H", len(cols)) + b"".join(vals)))
    out += [message(b"C", cstr(f"SELECT {nrows}")), ready()]
    return sql.encode(), b"".join(out)


def _query(rng: random.Random, corpus: Corpus) -> tuple[str, bytes, bytes]:
    r = rng.random()
    if r < 0.70:
        return ("SELECT",) + _select(rng, corpus)
    if r < 0.97:
        sql = f"INSERT INTO ledger (account, amount) VALUES ({rng.randrange(10**6)}, {rng.randrange(10**5)})"
        return "INSERT", sql.encode(), message(b"C", cstr("INSERT 0 1")) + ready()
    table = f"{corpus.word(rng)}_old"
    err = (b"S" + cstr("ERROR") + b"V" + cstr("ERROR") + b"C" + cstr("42P01")
           + b"M" + cstr(f'relation "{table}" does not exist') + b"P" + cstr("15") + b"\x00")
    return "ERROR", f"SELECT * FROM {table}".encode(), message(b"E", err) + ready()


def plan(rng: random.Random, corpus: Corpus, stats: PgsqlStats) -> list[Message]:
    msgs = [Message(100_000, TO_SERVER, (startup(),)),
            Message(600_000, TO_CLIENT, (welcome(rng),))]
    for _ in range(min(1 + int(rng.expovariate(1 / MEAN_QUERIES)), MAX_QUERIES)):
        kind, sql, response = _query(rng, corpus)
        msgs.append(Message(int(rng.expovariate(1 / 40e6)), TO_SERVER, (message(b"Q", sql + b"\x00"),)))
        msgs.append(Message(int(rng.lognormvariate(0, 1.0) * 400_000), TO_CLIENT, (response,)))
        stats.transactions += 1
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
    msgs.append(Message(int(rng.expovariate(1 / 40e6)), TO_SERVER, (message(b"X", b""),)))
    return msgs
