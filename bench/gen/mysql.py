"""MySQL client/server protocol 4.1: greeting, login, COM_QUERY with text result sets, COM_QUIT.

A result set is the full sequence: column count, one ColumnDefinition41 per column, EOF,
text rows (length-encoded strings, 0xFB for NULL), EOF. Writes get an OK packet, a small
share of queries an ERR packet. CLIENT_DEPRECATE_EOF is not negotiated, so EOFs are present.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from .corpus import Corpus
from .tcp import TO_CLIENT, TO_SERVER, Message

# CLIENT_LONG_PASSWORD|FOUND_ROWS|LONG_FLAG|CONNECT_WITH_DB|PROTOCOL_41|TRANSACTIONS|
# SECURE_CONNECTION|MULTI_STATEMENTS|MULTI_RESULTS|PLUGIN_AUTH
CAPS = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000
CHARSET = 255                  # utf8mb4_0900_ai_ci
STATUS_AUTOCOMMIT = 0x0002
COM_QUIT, COM_QUERY = 0x01, 0x03
T_LONG, T_DOUBLE, T_DATETIME, T_VAR_STRING = 0x03, 0x05, 0x0C, 0xFD
COLUMNS = (  # (name, type, display length, value maker)
    ("id", T_LONG, 11, lambda r, c: str(r.randrange(1, 10**7))),
    ("name", T_VAR_STRING, 1020, lambda r, c: f"{c.word(r)} {c.word(r)}"),
    ("email", T_VAR_STRING, 1020, lambda r, c: f"{c.word(r)}{r.randrange(999)}@example.com"),
    ("price", T_DOUBLE, 22, lambda r, c: f"{r.randrange(1, 10**6) / 100}"),
    ("created_at", T_DATETIME, 19,
     lambda r, c: f"2024-0{r.randint(1, 2)}-{r.randint(10, 28)} {r.randint(10, 23)}:{r.randint(10, 59)}:00"),
    ("status", T_VAR_STRING, 80, lambda r, c: r.choice(("new", "paid", "shipped", "void"))),
    ("note", T_VAR_STRING, 4000, lambda r, c: bytes(c.text_slice(r, r.randint(10, 160))).decode()),
)
TABLES = ("orders", "customers", "products", "invoices", "sessions")
MEAN_QUERIES = 20
MAX_QUERIES = 200


@dataclass
class MysqlStats:
    transactions: int = 0
    kinds: dict = field(default_factory=dict)


def packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes((seq & 0xFF,)) + payload


def lenenc_int(n: int) -> bytes:
    if n < 251:
        return bytes((n,))
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def lenenc_str(s: bytes) -> bytes:
    return lenenc_int(len(s)) + s


def ok(seq: int, affected: int = 0, insert_id: int = 0) -> bytes:
    return packet(seq, b"\x00" + lenenc_int(affected) + lenenc_int(insert_id)
                  + struct.pack("<HH", STATUS_AUTOCOMMIT, 0))


def eof(seq: int) -> bytes:
    return packet(seq, b"\xfe" + struct.pack("<HH", 0, STATUS_AUTOCOMMIT))


def greeting(rng: random.Random) -> bytes:
    scramble = bytes(rng.randrange(33, 127) for _ in range(20))
    body = (b"\x0a8.0.36\x00" + struct.pack("<I", rng.randrange(1, 10**6)) + scramble[:8]
            + b"\x00" + struct.pack("<HBHHB", CAPS & 0xFFFF, CHARSET, STATUS_AUTOCOMMIT,
                                    CAPS >> 16, 21)
            + bytes(10) + scramble[8:] + b"\x00" + b"mysql_native_password\x00")
    return packet(0, body)


def login(rng: random.Random, user: bytes, db: bytes) -> bytes:
    body = (struct.pack("<IIB", CAPS, 1 << 24, CHARSET) + bytes(23) + user + b"\x00"
            + b"\x14" + rng.getrandbits(160).to_bytes(20, "big") + db + b"\x00"
            + b"mysql_native_password\x00")
    return packet(1, body)


def column_def(seq: int, db: bytes, table: bytes, col: tuple) -> bytes:
    name, ctype, length, _ = col
    body = (lenenc_str(b"def") + lenenc_str(db) + lenenc_str(table) + lenenc_str(table)
            + lenenc_str(name.encode()) + lenenc_str(name.encode()) + b"\x0c"
            + struct.pack("<HIBHB", CHARSET if ctype == T_VAR_STRING else 63, length, ctype,
                          0, 31 if ctype == T_DOUBLE else 0) + b"\x00\x00")
    return packet(seq, body)


def _select(rng: random.Random, corpus: Corpus, db: bytes) -> tuple[bytes, bytes]:
    table = rng.choice(TABLES)
    cols = [COLUMNS[0]] + rng.sample(COLUMNS[1:], rng.randint(1, 5))
    nrows = min(int(rng.expovariate(1 / 10)), 200)
    sql = (f"SELECT {', '.join(c[0] for c in cols)} FROM {table} WHERE id > "
           f"{rng.randrange(10**6)} ORDER BY id LIMIT {nrows}")
    out = [packet(1, lenenc_int(len(cols)))]
    out += [column_def(2 + i, db, table.encode(), c) for i, c in enumerate(cols)]
    seq = 2 + len(cols)
    out.append(eof(seq))
    for _ in range(nrows):
        seq += 1
        vals = [b"\xfb" if rng.random() < 0.05 else lenenc_str(c[3](rng, corpus).encode())
                for c in cols]
        out.append(packet(seq, b"".join(vals)))
    out.append(eof(seq + 1))
    return sql.encode(), b"".join(out)


def _query(rng: random.Random, corpus: Corpus, db: bytes) -> tuple[str, bytes, bytes]:
    r = rng.random()
    if r < 0.70:
        return ("SELECT",) + _select(rng, corpus, db)
    if r < 0.97:
        sql = (f"UPDATE {rng.choice(TABLES)} SET status = '{rng.choice(('paid', 'void'))}' "
               f"WHERE id = {rng.randrange(10**6)}")
        return "UPDATE", sql.encode(), ok(1, rng.randint(0, 3))
    sql = f"SELECT * FROM {corpus.word(rng)}_archive".encode()
    err = (b"\xff" + struct.pack("<H", 1146) + b"#42S02"
           + f"Table '{db.decode()}.archive' doesn't exist".encode())
    return "ERROR", sql, packet(1, err)


def plan(rng: random.Random, corpus: Corpus, stats: MysqlStats) -> list[Message]:
    db, user = b"shop", b"app"
    msgs = [Message(300_000, TO_CLIENT, (greeting(rng),)),
            Message(200_000, TO_SERVER, (login(rng, user, db),)),
            Message(400_000, TO_CLIENT, (ok(2),))]
    for _ in range(min(1 + int(rng.expovariate(1 / MEAN_QUERIES)), MAX_QUERIES)):
        kind, sql, response = _query(rng, corpus, db)
        msgs.append(Message(int(rng.expovariate(1 / 40e6)), TO_SERVER,
                            (packet(0, bytes((COM_QUERY,)) + sql),)))
        msgs.append(Message(int(rng.lognormvariate(0, 1.0) * 500_000), TO_CLIENT, (response,)))
        stats.transactions += 1
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
    msgs.append(Message(int(rng.expovariate(1 / 40e6)), TO_SERVER, (packet(0, bytes((COM_QUIT,))),)))
    return msgs
