"""Classic pcap writer (Ethernet), micro- or nanosecond timestamps, batched writes."""

from __future__ import annotations

import struct
from typing import Iterable

GLOBAL_HEADER = struct.Struct("<IHHiIII")
RECORD = struct.Struct("<IIII")
MAGIC_USEC, MAGIC_NSEC = 0xA1B2C3D4, 0xA1B23C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
BATCH = 4096


def write(path: str, frames: Iterable[tuple[int, bytes]], nanosecond: bool = False) -> tuple[int, int]:
    """Write every (ts ns, frame); return (packets, bytes of frames)."""
    magic, div = (MAGIC_NSEC, 1) if nanosecond else (MAGIC_USEC, 1000)
    rec, packets, nbytes, out = RECORD.pack, 0, 0, []
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(GLOBAL_HEADER.pack(magic, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for ts, frame in frames:
            sec, frac = divmod(ts // div, 1_000_000_000 // div)
            n = len(frame)
            out.append(rec(sec, frac, n, n))
            out.append(frame)
            packets += 1
            nbytes += n
            if len(out) >= BATCH:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
    return packets, nbytes
