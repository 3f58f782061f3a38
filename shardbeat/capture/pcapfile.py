"""Capture files (pcap and pcapng) as a stream of `(ts_ns, linktype, frame, wire_len)`.

The file is read in large chunks and every record is cut out of the chunk with one
precompiled struct and one slice: the per-packet cost is the tuple and the frame's bytes.
Frames are `bytes` (not views into the chunk) so that a payload a later stage keeps does not
pin a whole chunk in memory.

Damage is not an exception. A truncated last record, a corrupt block or a read error ends the
stream after everything readable and sets `reader.problem` to one sentence. Only a file that
cannot be opened or is not a capture at all raises `CaptureFileError`, from `open_capture`.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from itertools import islice
from typing import BinaryIO, Iterator

from shardbeat.metrics.counters import Counters

# Link types the decoder understands. 12 and 14 are the DLT_RAW values some systems wrote
# into files before LINKTYPE_RAW (101) existed; 228/229 are raw IPv4/IPv6.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
RAW_LINKTYPES = frozenset({12, 14, LINKTYPE_RAW, 228, 229})
DECODED_LINKTYPES = frozenset(
    {LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2}
) | RAW_LINKTYPES

Frame = tuple[int, int, bytes, int]

_CHUNK = 1 << 22
# Larger than any real frame (Wireshark's own cap is 256 KiB for most link types): a record
# claiming more is corruption, and stopping there beats reading megabytes of garbage.
_MAX_RECORD = 1 << 18
_MAX_BLOCK = 1 << 24

_PCAP_MAGIC = {  # magic as read little-endian → (byte order, ns per fraction unit, record size)
    0xA1B2C3D4: ("<", 1000, 16), 0xD4C3B2A1: (">", 1000, 16),
    0xA1B23C4D: ("<", 1, 16), 0x4D3CB2A1: (">", 1, 16),
    0xA1B2CD34: ("<", 1000, 24), 0x34CDB2A1: (">", 1000, 24),  # Kuznetsov's modified pcap
}
_SHB = 0x0A0D0D0A
_IDB, _PB, _SPB, _EPB = 1, 2, 3, 6
_BOM = 0x1A2B3C4D
_GZIP = b"\x1f\x8b"


class CaptureFileError(Exception):
    """The file cannot be read as a capture at all: missing, unreadable or not pcap/pcapng."""


class _Source:
    """A growing window over the file: `buf[pos:]` is unread, `base` is buf[0]'s offset."""

    __slots__ = ("_file", "buf", "pos", "base", "eof", "error")

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.buf = b""
        self.pos = 0
        self.base = 0
        self.eof = False
        self.error: str | None = None

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def ensure(self, n: int) -> bool:
        """Make `n` bytes available from `pos`; False at end of file or on a read error."""
        have = len(self.buf) - self.pos
        if have >= n:
            return True
        parts = [self.buf[self.pos:]]
        while have < n and not self.eof:
            try:
                more = self._file.read(max(n - have, _CHUNK))
            except (OSError, EOFError, zlib.error) as exc:
                self.error = str(exc) or type(exc).__name__
                more = b""
            if not more:
                self.eof = True
            parts.append(more)
            have += len(more)
        self.base += self.pos
        self.buf = b"".join(parts)
        self.pos = 0
        return have >= n

    def close(self) -> None:
        self._file.close()


def _resolution(code: int) -> tuple[int, int]:
    """pcapng if_tsresol → (mul, div) so that ns = units * mul // div."""
    exp = code & 0x7F
    if code & 0x80:
        return 10**9, 1 << exp
    return (10 ** (9 - exp), 1) if exp <= 9 else (1, 10 ** (exp - 9))


class _BlockStructs:
    """A pcapng section's structs, in its byte order."""

    __slots__ = ("order", "head", "tail", "epb")

    def __init__(self, order: str) -> None:
        self.order = order
        self.head = struct.Struct(order + "II").unpack_from
        self.tail = struct.Struct(order + "I").unpack_from
        self.epb = struct.Struct(order + "IIIIIII").unpack_from


class _Iface:
    __slots__ = ("linktype", "decoded", "snaplen", "mul", "div", "offset_ns")

    def __init__(self, linktype: int, snaplen: int) -> None:
        self.linktype = linktype
        self.decoded = linktype in DECODED_LINKTYPES
        self.snaplen = snaplen
        self.mul, self.div = 1000, 1  # default resolution: microseconds
        self.offset_ns = 0


class CaptureReader:
    """Iterate once over a capture's frames; see the module docstring for the contract.

    `skipped` counts frames of link types the decoder does not handle, by link type;
    `packets` counts frames yielded (exact once iteration stops; a pcap updates it per
    chunk); `offset` and `size` (None when gzip-compressed) serve a progress bar.
    """

    def __init__(self, path: str, file: BinaryIO, head: bytes, size: int | None,
                 counters: Counters | None = None) -> None:
        self.path = path
        self.size = size
        self.counters = counters if counters is not None else Counters()
        self.skipped: dict[int, int] = {}
        self.packets = 0
        self.problem: str | None = None
        self._src = _Source(file)
        self._src.buf = head
        if head[:4] == _SHB.to_bytes(4, "little"):
            self.format = "pcapng"
            self._frames = self._pcapng()
        else:
            self.format = "pcap"
            self._frames = self._pcap()

    # -- public surface ----------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        return self._frames

    def batches(self, n: int) -> Iterator[list[Frame]]:
        """Lists of up to `n` frames: the worker loop checks timers once per batch."""
        frames = self._frames
        while batch := list(islice(frames, n)):
            yield batch

    @property
    def offset(self) -> int:
        return self._src.offset

    def close(self) -> None:
        self._frames.close()
        self._src.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- damage ------------------------------------------------------------------------
    def _stop(self, offset: int, why: str) -> None:
        src = self._src
        if src.error is not None:
            why = f"read error at byte {offset}: {src.error}"
        self.problem = f"{why}; {self.packets} packets read"

    def _truncated(self, offset: int) -> None:
        self._stop(offset, f"capture truncated at byte {offset}: last record cut short")

    def _corrupt(self, offset: int, what: str) -> None:
        self._stop(offset, f"capture corrupt at byte {offset}: {what}")

    def _skip(self, linktype: int) -> None:
        self.skipped[linktype] = self.skipped.get(linktype, 0) + 1
        self.counters.inc("capture_unsupported_linktype")

    # -- pcap --------------------------------------------------------------------------
    def _pcap(self) -> Iterator[Frame]:
        src = self._src
        order, mul, hlen = _PCAP_MAGIC[int.from_bytes(src.buf[:4], "little")]
        snaplen, network = struct.unpack_from(order + "16xII", src.buf)
        linktype = network & 0xFFFF  # the upper bits describe a trailing FCS, if any
        decoded = linktype in DECODED_LINKTYPES
        max_record = max(_MAX_RECORD, min(snaplen, _MAX_BLOCK))
        unpack = struct.Struct(order + "IIII").unpack_from
        src.pos = 24
        buf, pos, end, count = src.buf, 24, len(src.buf), 0
        # Hot loop: locals only; the window is refilled when a record crosses its end.
        while True:
            if end - pos < hlen:
                src.pos = pos
                self.packets = count
                if not src.ensure(hlen):
                    if len(src.buf) > src.pos or src.error:
                        self._truncated(src.offset)
                    break
                buf, pos, end = src.buf, src.pos, len(src.buf)
            sec, frac, incl, wire = unpack(buf, pos)
            if incl > max_record:
                self.packets = count
                self._corrupt(src.base + pos, f"record length {incl} is implausible")
                break
            stop = pos + hlen + incl
            if stop > end:
                src.pos = pos
                self.packets = count
                if not src.ensure(hlen + incl):
                    self._truncated(src.offset)
                    break
                buf, pos, end = src.buf, src.pos, len(src.buf)
                stop = pos + hlen + incl
            if decoded:
                count += 1
                yield (sec * 1_000_000_000 + frac * mul, linktype, buf[pos + hlen:stop], wire)
            else:
                self._skip(linktype)
            pos = stop
        src.pos = pos
        self.packets = count

    # -- pcapng ------------------------------------------------------------------------
    def _pcapng(self) -> Iterator[Frame]:
        """Blocks in the window are handled in place; one crossing its end refills first.

        Long because it is the hot loop: helpers would cost a call per packet.
        """
        src = self._src
        ifaces: list[_Iface] = []
        structs = _BlockStructs("<")
        last_ts = 0
        buf, pos, end = src.buf, src.pos, len(src.buf)
        while True:
            if end - pos < 16:
                src.pos = pos
                if not src.ensure(16) and not src.ensure(12):
                    if len(src.buf) > src.pos or src.error:
                        self._truncated(src.offset)
                    return
                buf, pos, end = src.buf, src.pos, len(src.buf)
            btype, blen = structs.head(buf, pos)
            if btype == _SHB:
                order = self._section_order(buf, pos)
                if order is None:
                    self._corrupt(src.base + pos, "section header has no valid byte-order magic")
                    return
                structs = _BlockStructs(order)
                btype, blen = structs.head(buf, pos)
                ifaces = []
            if blen < 12 or blen & 3 or blen > _MAX_BLOCK:
                self._corrupt(src.base + pos, f"block length {blen} is invalid")
                return
            stop = pos + blen
            if stop > end:
                src.pos = pos
                if not src.ensure(blen):
                    self._truncated(src.offset)
                    return
                buf, pos, end = src.buf, src.pos, len(src.buf)
                stop = pos + blen
            if structs.tail(buf, stop - 4)[0] != blen:
                self._corrupt(src.base + pos, "block's trailing length does not match its header")
                return
            if btype == _EPB or btype == _PB:
                if blen < 32:
                    self._corrupt(src.base + pos, "packet block too short")
                    return
                _, _, ifid, hi, lo, incl, wire = structs.epb(buf, pos)
                if btype == _PB:  # obsolete layout: 16-bit interface id, 16-bit drops
                    ifid = ifid & 0xFFFF if structs.order == "<" else ifid >> 16
                if incl > blen - 32:
                    self._corrupt(src.base + pos, f"captured length {incl} exceeds its block")
                    return
                if ifid < len(ifaces):
                    iface = ifaces[ifid]
                    last_ts = ((hi << 32) | lo) * iface.mul // iface.div + iface.offset_ns
                    if iface.decoded:
                        self.packets += 1
                        yield (last_ts, iface.linktype, buf[pos + 28:pos + 28 + incl], wire)
                    else:
                        self._skip(iface.linktype)
                else:
                    self.counters.inc("capture_bad_interface")
            elif btype == _SPB:
                # No timestamp of its own: keep the previous one so time never runs back.
                if ifaces and blen >= 16:
                    iface = ifaces[0]
                    (wire,) = structs.tail(buf, pos + 8)
                    incl = min(wire, blen - 16, iface.snaplen or wire)
                    if iface.decoded:
                        self.packets += 1
                        yield (last_ts, iface.linktype, buf[pos + 12:pos + 12 + incl], wire)
                    else:
                        self._skip(iface.linktype)
                else:
                    self.counters.inc("capture_bad_interface")
            elif btype == _IDB:
                if blen < 20:
                    self._corrupt(src.base + pos, "interface description block too short")
                    return
                ifaces.append(self._interface(buf[pos:stop], structs.order))
            elif btype != _SHB:
                self.counters.inc("capture_blocks_skipped")
            pos = stop

    @staticmethod
    def _section_order(buf: bytes, pos: int) -> str | None:
        bom = int.from_bytes(buf[pos + 8:pos + 12], "little")
        return "<" if bom == _BOM else ">" if bom == 0x4D3C2B1A else None

    @staticmethod
    def _interface(block: bytes, order: str) -> _Iface:
        linktype, snaplen = struct.unpack_from(order + "H2xI", block, 8)
        iface = _Iface(linktype, snaplen)
        opt = struct.Struct(order + "HH")
        pos, end = 16, len(block) - 4
        while pos + 4 <= end:
            code, length = opt.unpack_from(block, pos)
            value = block[pos + 4:pos + 4 + length]
            if code == 0 or len(value) < length:
                break
            if code == 9 and length >= 1:
                iface.mul, iface.div = _resolution(value[0])
            elif code == 14 and length >= 8:
                iface.offset_ns = struct.unpack_from(order + "q", value)[0] * 1_000_000_000
            pos += 4 + ((length + 3) & ~3)
        return iface


def open_capture(path: str, counters: Counters | None = None) -> CaptureReader:
    """Open a pcap or pcapng file (optionally gzip-compressed, as Wireshark writes them).

    Raises CaptureFileError with one line naming the file and the reason when the file is
    missing, unreadable, empty or not a capture. Everything after that is `reader.problem`.
    """
    try:
        file: BinaryIO = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
    except OSError as exc:
        raise CaptureFileError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        size: int | None = os.fstat(file.fileno()).st_size
        head = file.read(28)
        if head[:2] == _GZIP:
            file.close()
            file = gzip.open(path, "rb")  # type: ignore[assignment]
            size = None  # offsets count decompressed bytes: no total to compare them with
            head = file.read(28)
        _check_head(path, head)
    except CaptureFileError:
        file.close()
        raise
    except (OSError, EOFError, zlib.error) as exc:
        file.close()
        raise CaptureFileError(f"{path}: cannot read: {exc}") from None
    return CaptureReader(path, file, head, size, counters)


def _check_head(path: str, head: bytes) -> None:
    if not head:
        raise CaptureFileError(f"{path}: empty file, not a pcap or pcapng capture")
    magic = int.from_bytes(head[:4].ljust(4, b"\0"), "little")
    if magic in _PCAP_MAGIC:
        if len(head) < 24:
            raise CaptureFileError(f"{path}: pcap file header cut short ({len(head)} bytes)")
        return
    if magic == _SHB:
        if len(head) < 12 or CaptureReader._section_order(head, 0) is None:
            raise CaptureFileError(f"{path}: pcapng section header is damaged")
        return
    raise CaptureFileError(
        f"{path}: not a pcap or pcapng capture (starts with 0x{head[:4].hex()})")

