"""A message ending in one root-owned record with empty rdata (OPT without options) has that
record read in place: it must be what the general record reader gives, cut or whole."""

from __future__ import annotations

import random
import struct

from shardbeat.protocols.dns.wire import HEADER_LEN, _records, decode
from tests.protocols.dns_messages import QR, a_answer, message, question


def test_a_lone_empty_root_record_at_the_end_reads_as_the_record_reader_reads_it():
    rng = random.Random(13)
    for _ in range(3000):
        answers = [a_answer("192.0.2.1") for _ in range(rng.randrange(3))]
        head = message(rng.randrange(0x10000), rng.choice([0, QR]), [question("a.example")],
                       answers)
        tail = b"\0" + struct.pack("!HHIH", rng.choice([41, 1, 0xFFFF]),
                                   rng.randrange(0x10000), rng.randrange(2**32),
                                   rng.choice([0, 0, 1, 4]))
        raw = head[:10] + struct.pack("!H", 1) + head[HEADER_LEN:] + tail
        msg = decode(raw)
        want: list = []
        try:
            _records(raw, len(raw) - len(tail), 1, want, {})
            cut = False
        except Exception:
            cut = True
        assert msg.additionals == want and msg.incomplete == cut, raw
        assert msg.opt == (want[-1] if want and want[-1].rtype == 41 else None)
