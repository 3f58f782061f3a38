"""Capture frames in batches: one buffer, and per-frame columns as numpy arrays.

The vectorised decoder wants every frame of a batch in one contiguous buffer with
offsets, timestamps and lengths as arrays. For classic pcap (the common case, and what a
ring buffer looks like too) records are located with one small loop over their 16-byte
headers (in C where the extension was built, in Python otherwise) and every header field
is gathered at once; everything else (pcapng, gzip, odd link types) comes from the
general reader and is packed into the same shape.
"""

from __future__ import annotations

import os
import struct
from typing import Callable, Iterator

import numpy as np

from shardbeat.capture.pcapfile import (
    DECODED_LINKTYPES,
    CaptureReader,
    open_capture,
)

BATCH_FRAMES = 16384
_READ = 1 << 22
_PCAP_LE_US, _PCAP_LE_NS = 0xA1B2C3D4, 0xA1B23C4D
# As the general reader: a record longer than this is corruption, not a frame.
_MAX_RECORD = 1 << 18
_MAX_BLOCK = 1 << 24


# (window, end, max_record) → (record starts, bytes they span, corrupt header found)
Locate = Callable[[bytes, int, int], "tuple[np.ndarray, int, bool]"]

# Zero bytes after a batch's last frame, so that a vectorised header read may run past
# any frame's end unguarded (decode/batch.py reads at most this far).
PAD = 128
_PADDING = bytes(PAD)


class FrameBatch:
    """`buf[offsets[i]:offsets[i] + caplen[i]]` is frame i; `linktype` is per frame; `data`
    ends with at least PAD bytes that belong to no frame."""

    __slots__ = ("buf", "data", "offsets", "caplen", "wirelen", "ts", "linktype",
                 "file_offset")

    def __init__(self, data: bytes, offsets: np.ndarray, caplen: np.ndarray,
                 wirelen: np.ndarray, ts: np.ndarray, linktype: np.ndarray) -> None:
        self.data = data                                   # for zero-copy payload slices
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.offsets, self.caplen, self.wirelen = offsets, caplen, wirelen
        self.ts, self.linktype = ts, linktype
        self.file_offset = 0  # how far into the file its producer had read

    def __len__(self) -> int:
        return len(self.offsets)

    def frame(self, i: int) -> bytes:
        start = int(self.offsets[i])
        return self.data[start:start + int(self.caplen[i])]


def batches(reader: CaptureReader, path: str, n: int = BATCH_FRAMES,
            locate: Locate | None = None) -> Iterator[FrameBatch]:
    """Batches of frames from an open reader; the fast path reads `path` itself when it is
    a plain little-endian pcap of a decoded link type, else the reader's frames are packed.
    `locate` finds each window's records on the fast path (`locate_records` by default)."""
    fast = _fast_pcap_header(path)
    if fast is None:
        yield from _packed(reader, n)
        return
    yield from _pcap_batches(reader, path, fast, n, locate or locate_records)


def _fast_pcap_header(path: str) -> tuple[int, int, int] | None:
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24:
        return None
    magic, = struct.unpack_from("<I", head)
    if magic not in (_PCAP_LE_US, _PCAP_LE_NS):
        return None
    linktype = struct.unpack_from("<I", head, 20)[0] & 0xFFFF
    if linktype not in DECODED_LINKTYPES:
        return None
    snaplen = struct.unpack_from("<I", head, 16)[0]
    max_record = max(_MAX_RECORD, min(snaplen, _MAX_BLOCK))
    return (1000 if magic == _PCAP_LE_US else 1), linktype, max_record


def _pcap_batches(reader: CaptureReader, path: str, fast: tuple[int, int, int],
                  n: int, locate: Locate) -> Iterator[FrameBatch]:
    mul, linktype, max_record = fast
    fd = os.open(path, os.O_RDONLY)
    try:
        pos, total, corrupt, want = 24, 0, False, _READ
        while not corrupt:
            # Each read starts at a record boundary (the first record not yet taken), so
            # no partial record is carried over and joined: that copy cost as much as
            # the read. The last PAD bytes of a window are left to the next one, so that
            # every frame taken has padding after it, except at the end of the file.
            data = os.pread(fd, want, pos)
            tail = len(data) < want
            if tail:
                data += _PADDING
            starts, end, corrupt = locate(data, len(data) - PAD, max_record)
            pos += end
            total += len(starts)
            for lo in range(0, len(starts), n):
                batch = _gather(data, starts[lo:lo + n], mul, linktype)
                batch.file_offset = pos
                yield batch
            if tail and not len(starts):
                break
            want = _READ if len(starts) else want * 2  # a record longer than the window
        reader.packets = total
        if corrupt:
            length = RECORD_LENGTH(data, end)[0]
            reader.problem = (f"capture corrupt at byte {pos}: record length {length} is "
                              f"implausible; {total} packets read")
        elif len(data) - PAD > end:
            reader.problem = (f"capture truncated at byte {pos}: last record cut short; "
                              f"{total} packets read")
    finally:
        os.close(fd)


RECORD_LENGTH = struct.Struct("<8xI").unpack_from  # incl_len, read at the record's start


def locate_records_py(data: bytes, end: int, max_record: int) -> tuple[np.ndarray, int, bool]:
    """Starts of the whole records in `data[:end]`, the bytes they span, and whether a
    record header is corrupt (its length implausible; the records before it are kept).
    The reference walk, and the walk of a build without the compiled one."""
    starts: list[int] = []
    append, length = starts.append, RECORD_LENGTH
    pos = 0
    limit = end - 16
    # A record's length says where the next starts: a loop per record (hence _recwalk.c).
    # Lengths are checked for plausibility afterwards, all at once, and only the last
    # record can reach past `end`: it is taken back after the loop, not tested in it.
    while pos <= limit:
        append(pos)
        pos += 16 + length(data, pos)[0]
    if starts and pos > end:
        pos = starts.pop()
    corrupt = pos <= limit and length(data, pos)[0] > max_record
    found = np.asarray(starts, dtype=np.int64)
    if len(found):
        raw = np.frombuffer(data, dtype=np.uint8)
        incl = raw[found[:, None] + np.arange(8, 12)].view("<u4")[:, 0]
        bad = np.flatnonzero(incl > max_record)
        if len(bad):
            found, pos, corrupt = found[:bad[0]], int(found[bad[0]]), True
    return found, pos, corrupt


def _locate_compiled(data: bytes, end: int, max_record: int) -> tuple[np.ndarray, int, bool]:
    """`locate_records_py`, walked in C (capture/_recwalk.c)."""
    starts, spanned, corrupt = _recwalk.walk(data, end, max_record)
    return np.frombuffer(starts, dtype=np.int64), spanned, corrupt


try:
    from shardbeat.capture import _recwalk
except ImportError:  # built where no C compiler was: the Python walk gives the same
    _recwalk = None

COMPILED_WALK = _recwalk is not None
locate_records: Locate = _locate_compiled if COMPILED_WALK else locate_records_py


def _gather(data: bytes, rec: np.ndarray, mul: int, linktype: int) -> FrameBatch:
    raw = np.frombuffer(data, dtype=np.uint8)
    heads = raw[rec[:, None] + np.arange(16)].view("<u4")  # (N, 4): sec, frac, incl, wire
    ts = heads[:, 0].astype(np.int64) * 1_000_000_000 + heads[:, 1].astype(np.int64) * mul
    lt = np.full(len(rec), linktype, dtype=np.int32)
    return FrameBatch(data, rec + 16, heads[:, 2].astype(np.int64),
                      heads[:, 3].astype(np.int64), ts, lt)


def pack_frames(frames: list) -> FrameBatch:
    """Frames as the general reader yields them, `(ts_ns, linktype, data, wire_len)`, in
    the batch shape."""
    datas = [bytes(f[2]) for f in frames]
    count = len(datas)
    caplen = np.fromiter(map(len, datas), dtype=np.int64, count=count)
    offsets = np.zeros(count, dtype=np.int64)
    if count:
        np.cumsum(caplen[:-1], out=offsets[1:])
    datas.append(_PADDING)
    return FrameBatch(
        b"".join(datas), offsets, caplen,
        np.fromiter((f[3] for f in frames), dtype=np.int64, count=count),
        np.fromiter((f[0] for f in frames), dtype=np.int64, count=count),
        np.fromiter((f[1] for f in frames), dtype=np.int32, count=count))


def _packed(reader: CaptureReader, n: int) -> Iterator[FrameBatch]:
    for frames in reader.batches(n):
        batch = pack_frames(frames)
        batch.file_offset = reader.offset
        yield batch


def open_batches(path: str, n: int = BATCH_FRAMES, locate: Locate | None = None
                 ) -> tuple[CaptureReader, Iterator[FrameBatch]]:
    reader = open_capture(path)
    return reader, batches(reader, path, n, locate)
