"""Redis RESP2: long-lived client connections sending pipelined command batches.

Each round trip is one batch of commands (arrays of bulk strings) and one batch of replies
(simple strings, errors, integers, bulk strings, nil, arrays), as redis-py pipelines produce.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .corpus import Corpus
from .tcp import TO_CLIENT, TO_SERVER, Message

MEAN_ROUNDS = 60
MAX_ROUNDS = 400


@dataclass
class RedisStats:
    transactions: int = 0
    commands: dict = field(default_factory=dict)


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


def _value(rng: random.Random, corpus: Corpus) -> bytes:
    return bytes(corpus.text_slice(rng, rng.randint(8, 300)))


def _one(rng: random.Random, corpus: Corpus) -> tuple[bytes, bytes, bytes]:
    """(command name, request bytes, reply bytes)"""
    key = f"{corpus.word(rng)}:{rng.randrange(100000)}".encode()
    r = rng.random()
    if r < 0.40:
        hit = rng.random() < 0.85
        return b"GET", command(b"GET", key), bulk(_value(rng, corpus)) if hit else b"$-1\r\n"
    if r < 0.60:
        return b"SET", command(b"SET", key, _value(rng, corpus), b"EX", b"300"), b"+OK\r\n"
    if r < 0.70:
        return b"INCR", command(b"INCR", key), b":%d\r\n" % rng.randrange(1, 10**6)
    if r < 0.78:
        fields = [corpus.word(rng).encode() for _ in range(rng.randint(1, 6))]
        reply = b"*%d\r\n" % (2 * len(fields)) + b"".join(
            bulk(f) + bulk(str(rng.randrange(1000)).encode()) for f in fields)
        return b"HGETALL", command(b"HGETALL", key), reply
    if r < 0.86:
        keys = [key + b"%d" % i for i in range(rng.randint(2, 8))]
        reply = b"*%d\r\n" % len(keys) + b"".join(
            bulk(_value(rng, corpus)) if rng.random() < 0.8 else b"$-1\r\n" for _ in keys)
        return b"MGET", command(b"MGET", *keys), reply
    if r < 0.92:
        return b"EXPIRE", command(b"EXPIRE", key, b"600"), b":1\r\n"
    if r < 0.96:
        return b"DEL", command(b"DEL", key), b":%d\r\n" % rng.randint(0, 1)
    if r < 0.99:
        return b"PING", command(b"PING"), b"+PONG\r\n"
    return (b"LPUSH", command(b"LPUSH", key, b"x"),
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")


def plan(rng: random.Random, corpus: Corpus, stats: RedisStats) -> list[Message]:
    rounds = min(1 + int(rng.expovariate(1 / MEAN_ROUNDS)), MAX_ROUNDS)
    msgs = []
    for _ in range(rounds):
        depth = 1 + int(rng.expovariate(1 / 0.8)) if rng.random() < 0.95 else rng.randint(10, 30)
        batch = [_one(rng, corpus) for _ in range(depth)]
        msgs.append(Message(int(rng.expovariate(1 / 20e6)), TO_SERVER, tuple(b[1] for b in batch)))
        msgs.append(Message(int(rng.lognormvariate(0, 0.5) * 150_000), TO_CLIENT,
                            tuple(b[2] for b in batch)))
        for name, _, _ in batch:
            stats.commands[name.decode()] = stats.commands.get(name.decode(), 0) + 1
        stats.transactions += depth
    return msgs
