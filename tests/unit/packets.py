"""Builders for synthetic frames and capture files, for tests.

Each layer is a function returning bytes, composed inside out:

    eth(ipv4(tcp(b"GET / HTTP/1.1\\r\\n\\r\\n", sport=40000, dport=80, flags="PA")))
    eth(ipv6(udp(query, dport=53)), vlans=[(0x88A8, 100), 200])
    write_pcap(path, [frame1, (ts_ns, frame2)], nanosecond=True)

`tcp()`, `udp()`, `icmp()` and `icmp6()` return `Segment`s (bytes that know their IP protocol
number) so that `ipv4()`/`ipv6()` fill in the protocol themselves. Transport checksums are
left zero (nothing here verifies them); the IPv4 header checksum is real.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Iterable, Sequence

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
BASE_TS_NS = 1_700_000_000 * 10**9
_TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40,
              "C": 0x80}


class Segment(bytes):
    """An L4 message: bytes plus the IP protocol number that carries it."""

    proto: int

    def __new__(cls, data: bytes, proto: int) -> Segment:
        obj = super().__new__(cls, data)
        obj.proto = proto
        return obj


def ip(text: str) -> bytes:
    """Packed form of an IPv4 or IPv6 address, as Packet.src_ip holds it."""
    return ipaddress.ip_address(text).packed


# -- transport ------------------------------------------------------------------------------
def tcp(payload: bytes = b"", *, sport: int = 40000, dport: int = 80, seq: int = 1,
        ack: int = 0, flags: str | int = "PA", options: bytes = b"",
        window: int = 65535) -> Segment:
    if isinstance(flags, str):
        flags = sum(_TCP_FLAGS[f] for f in flags)
    options += b"\x00" * (-len(options) % 4)
    offset = (20 + len(options)) // 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0)
    return Segment(head + options + payload, 6)


def udp(payload: bytes = b"", *, sport: int = 53000, dport: int = 53,
        length: int | None = None) -> Segment:
    length = 8 + len(payload) if length is None else length
    return Segment(struct.pack("!HHHH", sport, dport, length, 0) + payload, 17)


def icmp(type_: int = 8, code: int = 0, *, ident: int = 1, seq: int = 1,
         payload: bytes = b"ping") -> Segment:
    return Segment(struct.pack("!BBHHH", type_, code, 0, ident, seq) + payload, 1)


def icmp6(type_: int = 128, code: int = 0, *, ident: int = 1, seq: int = 1,
          payload: bytes = b"ping") -> Segment:
    return Segment(struct.pack("!BBHHH", type_, code, 0, ident, seq) + payload, 58)


# -- network --------------------------------------------------------------------------------
def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(payload: bytes, *, src: str = "10.0.0.1", dst: str = "10.0.0.2",
         proto: int | None = None, ident: int = 0, offset: int = 0, more: bool = False,
         dont_fragment: bool = False, options: bytes = b"", ttl: int = 64,
         total_length: int | None = None) -> bytes:
    """An IPv4 packet; `offset` is in bytes (a multiple of 8 for a real fragment)."""
    proto = getattr(payload, "proto", 0) if proto is None else proto
    options += b"\x00" * (-len(options) % 4)
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload) if total_length is None else total_length
    flags = (0x4000 if dont_fragment else 0) | (0x2000 if more else 0) | (offset // 8)
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, ident, flags, ttl, proto, 0,
                       ip(src), ip(dst)) + options
    head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
    return head + payload


# Extension header kinds for ipv6(exts=...): hop-by-hop, routing, destination options, AH.
HOP_BY_HOP, ROUTING, DEST_OPTS, AH, FRAGMENT = 0, 43, 60, 51, 44


def ipv6(payload: bytes, *, src: str = "2001:db8::1", dst: str = "2001:db8::2",
         next_header: int | None = None, exts: Sequence[int] = (),
         fragment: tuple[int, bool, int] | None = None,
         payload_length: int | None = None) -> bytes:
    """An IPv6 packet. `exts` lists extension headers, outermost first (minimal ones: 8
    bytes, AH 16); `fragment=(offset, more, ident)` adds a fragment header after them."""
    proto = getattr(payload, "proto", 59) if next_header is None else next_header
    chain = list(exts) + ([FRAGMENT] if fragment else [])
    body = bytes(payload)
    for i in range(len(chain) - 1, -1, -1):
        kind, nxt = chain[i], (chain[i + 1] if i + 1 < len(chain) else proto)
        if kind == FRAGMENT:
            assert fragment is not None
            off, more, ident = fragment
            body = struct.pack("!BBHI", nxt, 0, off | int(more), ident) + body
        elif kind == AH:
            body = struct.pack("!BBHII", nxt, 2, 0, 0x100, 1) + b"\x00" * 4 + body
        else:
            body = struct.pack("!BB", nxt, 0) + b"\x01\x04\x00\x00\x00\x00" + body
    first = chain[0] if chain else proto
    plen = len(body) if payload_length is None else payload_length
    return struct.pack("!IHBB16s16s", 6 << 28, plen, first, 64, ip(src), ip(dst)) + body


def fragments4(payload: bytes, sizes: Sequence[int], **kw: object) -> list[bytes]:
    """Split an IP payload over IPv4 fragments of the given payload sizes (multiples of 8
    except the last), same `ident`; keyword arguments go to ipv4()."""
    proto = getattr(payload, "proto", 0)
    out, pos = [], 0
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        chunk = payload[pos:] if last else payload[pos:pos + size]
        out.append(ipv4(chunk, proto=proto, offset=pos, more=not last, **kw))  # type: ignore[arg-type]
        pos += size
    return out


def fragments6(payload: bytes, sizes: Sequence[int], ident: int = 7,
               **kw: object) -> list[bytes]:
    """As fragments4 for IPv6, with a fragment header in each packet."""
    proto = getattr(payload, "proto", 59)
    out, pos = [], 0
    for i, size in enumerate(sizes):
        last = i == len(sizes) - 1
        chunk = payload[pos:] if last else payload[pos:pos + size]
        out.append(ipv6(chunk, next_header=proto, fragment=(pos, not last, ident),
                        **kw))  # type: ignore[arg-type]
        pos += size
    return out


# -- link -----------------------------------------------------------------------------------
def eth(payload: bytes, *, src: bytes = MAC_A, dst: bytes = MAC_B,
        ethertype: int | None = None,
        vlans: Iterable[int | tuple[int, int]] = ()) -> bytes:
    """An Ethernet frame. `vlans`, outermost first: an id (tagged 0x8100) or (tpid, id).
    The ethertype follows the payload's IP version unless given."""
    if ethertype is None:
        ethertype = _ethertype(payload)
    return _eth_tags(dst, src, list(vlans), ethertype) + payload


def _eth_tags(dst: bytes, src: bytes, vlans: list[int | tuple[int, int]],
              ethertype: int) -> bytes:
    out = dst + src
    for tag in vlans:
        tpid, vid = tag if isinstance(tag, tuple) else (0x8100, tag)
        out += struct.pack("!HH", tpid, vid & 0x0FFF)
    return out + struct.pack("!H", ethertype)


def _ethertype(payload: bytes) -> int:
    return 0x86DD if payload[:1] and payload[0] >> 4 == 6 else 0x0800


def sll(payload: bytes, *, protocol: int | None = None, addr: bytes = MAC_A) -> bytes:
    """Linux cooked v1 (what `tcpdump -i any` wrote before SLL2)."""
    proto = _ethertype(payload) if protocol is None else protocol
    return struct.pack("!HHH8sH", 0, 1, len(addr), addr.ljust(8, b"\0"), proto) + payload


def sll2(payload: bytes, *, protocol: int | None = None, addr: bytes = MAC_A) -> bytes:
    """Linux cooked v2."""
    proto = _ethertype(payload) if protocol is None else protocol
    return struct.pack("!HHIHBB8s", proto, 0, 3, 1, 0, len(addr),
                       addr.ljust(8, b"\0")) + payload


def null(payload: bytes, *, family: int | None = None, byteorder: str = "little") -> bytes:
    """BSD loopback (DLT_NULL): address family in the capturing host's byte order."""
    fam = (30 if payload[0] >> 4 == 6 else 2) if family is None else family
    return fam.to_bytes(4, byteorder) + payload  # type: ignore[arg-type]


def loop(payload: bytes, *, family: int | None = None) -> bytes:
    """OpenBSD loopback (LINKTYPE_LOOP): the family in network byte order."""
    return null(payload, family=family, byteorder="big")


# -- files ----------------------------------------------------------------------------------
FrameSpec = bytes | tuple[int, bytes] | tuple[int, bytes, int]


def _records(frames: Iterable[FrameSpec]) -> Iterable[tuple[int, bytes, int]]:
    for i, item in enumerate(frames):
        if isinstance(item, (bytes, bytearray)):
            yield BASE_TS_NS + i * 1_000_000, bytes(item), len(item)
        elif len(item) == 2:
            yield item[0], item[1], len(item[1])
        else:
            yield item  # type: ignore[misc]


def pcap_bytes(frames: Iterable[FrameSpec], nanosecond: bool = False, linktype: int = 1,
               big_endian: bool = False) -> bytes:
    """A classic pcap file. Frames are bytes (timestamps 1 ms apart), (ts_ns, bytes) or
    (ts_ns, bytes, wire_len)."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for ts, data, wire in _records(frames):
        sec, frac = divmod(ts, 10**9)
        out.append(struct.pack(order + "IIII", sec, frac if nanosecond else frac // 1000,
                               len(data), wire) + data)
    return b"".join(out)


def write_pcap(path: str | Path, frames: Iterable[FrameSpec], nanosecond: bool = False,
               linktype: int = 1) -> Path:
    path = Path(path)
    path.write_bytes(pcap_bytes(frames, nanosecond, linktype))
    return path


# -- pcapng ---------------------------------------------------------------------------------
class Pcapng:
    """pcapng blocks in one byte order, appended in file order:

        ng = Pcapng(); ng.idb(1); ng.epb(0, ts_units, frame); path.write_bytes(ng.data())
    """

    def __init__(self, big_endian: bool = False) -> None:
        self.order = ">" if big_endian else "<"
        self.blocks: list[bytes] = []
        self.shb()

    def block(self, btype: int, body: bytes) -> Pcapng:
        body += b"\x00" * (-len(body) % 4)
        size = len(body) + 12
        self.blocks.append(struct.pack(self.order + "II", btype, size) + body
                           + struct.pack(self.order + "I", size))
        return self

    def shb(self) -> Pcapng:
        return self.block(0x0A0D0D0A, struct.pack(self.order + "IHHq", 0x1A2B3C4D, 1, 0, -1))

    def idb(self, linktype: int, snaplen: int = 0, tsresol: int | None = None,
            tsoffset: int | None = None) -> Pcapng:
        opts = b""
        if tsresol is not None:
            opts += struct.pack(self.order + "HHB3x", 9, 1, tsresol)
        if tsoffset is not None:
            opts += struct.pack(self.order + "HHq", 14, 8, tsoffset)
        if opts:
            opts += struct.pack(self.order + "HH", 0, 0)
        return self.block(1, struct.pack(self.order + "HHI", linktype, 0, snaplen) + opts)

    def epb(self, iface: int, units: int, data: bytes, wire: int | None = None) -> Pcapng:
        wire = len(data) if wire is None else wire
        return self.block(6, struct.pack(self.order + "IIIII", iface, units >> 32,
                                         units & 0xFFFFFFFF, len(data), wire) + data)

    def pb(self, iface: int, units: int, data: bytes) -> Pcapng:
        return self.block(2, struct.pack(self.order + "HHIIII", iface, 0, units >> 32,
                                         units & 0xFFFFFFFF, len(data), len(data)) + data)

    def spb(self, data: bytes) -> Pcapng:
        return self.block(3, struct.pack(self.order + "I", len(data)) + data)

    def data(self) -> bytes:
        return b"".join(self.blocks)
