"""Frames to `Packet`s: link layer, IPv4/IPv6 (with reassembly) and TCP/UDP/ICMP headers.

This is the hottest code in a worker, so it is written for CPython's sake: fixed headers are
precompiled `struct.Struct`s unpacked in one call, single bytes are read by index, the packet's
slots are each written once (no `Packet.__init__`), and the common Ethernet → IPv4 → TCP/UDP
path is one unpack. Payloads are `bytes` slices: below a few kilobytes copying is cheaper than
a memoryview, and a kept payload does not pin its frame. Malformed input returns None and
bumps one counter named for the reason (`decode_truncated`, `decode_bad_ip_header`, ...);
nothing raises.

A zero IP length (IPv4 total length, IPv6 payload length) means "to the end of the frame", as
in gopacket and Wireshark: captures taken on a sender with segmentation offload carry
segments larger than the header can say, and IPv6 jumbograms keep their length elsewhere.

What each link type contributes (as Packetbeat's decoder): Ethernet gives MAC addresses and
802.1Q/802.1ad VLAN ids (outer first); Linux cooked (SLL, SLL2), raw IP and BSD loopback give
neither. IP-in-IP (protocol 4 and 41) is decoded one level deep, as Packetbeat does: the inner
addresses are the packet's. Other IP protocols (ESP, GRE, ...) still become a Packet, with
ports 0 and the IP payload, so that flows count them like Packetbeat's IP-only flows.

`frame_len` is the frame's length on the wire (pcap's original length, link header
included), what Packetbeat's flows add per packet; a reassembled datagram carries the sum over
its fragments' frames.
"""

from __future__ import annotations

import struct

from shardbeat.decode.config import IpFragConfig
from shardbeat.decode.ipfrag import Reassembler
from shardbeat.decode.packet import Packet
from shardbeat.metrics.counters import Counters

_IP4 = struct.Struct("!BxHHHxBxx4s4s")   # vhl, total length, id, flags+offset, proto, src, dst
# The common case in one unpack: Ethernet, option-less IPv4, then TCP's first 14 bytes or UDP.
_ETH_IP4 = "!6s6sH" "2xH2xH4x4s4s"         # macs, ethertype, total length, flags+offset, addrs
_ETH_IP4_TCP = struct.Struct(_ETH_IP4 + "HHIIBB")
_ETH_IP4_UDP = struct.Struct(_ETH_IP4 + "HHH")
_IP6 = struct.Struct("!4xHBx16s16s")     # payload length, next header, src, dst
_TCP = struct.Struct("!HHIIBB")          # ports, seq, ack, data offset, flags
_UDP = struct.Struct("!HHH")             # ports, length
_FRAG6 = struct.Struct("!HI")            # offset+flags, identification

_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_IP_ETHERTYPES = frozenset({0x0800, 0x86DD})
_RAW = frozenset({12, 14, 101, 228, 229})
# Address family values for IP in BSD loopback headers: AF_INET everywhere, AF_INET6 as
# Linux, Windows, NetBSD/OpenBSD, FreeBSD and Darwin number it.
_LOOP_FAMILIES = frozenset({2, 10, 23, 24, 28, 30})
_IPV6_EXT = frozenset({0, 43, 60})       # hop-by-hop, routing, destination options
_TUNNELS = frozenset({4, 41})
_new = Packet.__new__


class Decoder:
    """Per-worker decoder; owns the fragment reassembly state, so one per worker."""

    __slots__ = ("counters", "_frags", "_inc", "_in_tunnel")

    def __init__(self, counters: Counters, frag_config: IpFragConfig | None = None) -> None:
        self.counters = counters
        self._inc = counters.inc
        self._frags = Reassembler(frag_config or IpFragConfig(), counters)
        self._in_tunnel = False

    def expire(self, now_ns: int) -> int:
        """Drop fragment sets that timed out by packet time `now_ns` (call once per batch)."""
        return self._frags.expire(now_ns)

    @property
    def pending_fragments(self) -> int:
        return len(self._frags)

    def decode(self, ts_ns: int, linktype: int, data: bytes,
               wire_len: int = 0) -> Packet | None:
        """One frame to a Packet, or None (not IP, malformed, or a fragment held back).

        `data` should be bytes (anything else is copied once); `wire_len` defaults to the
        captured length. Untagged Ethernet/IPv4 (no options, not a fragment)/TCP or UDP, most
        of any capture, takes one combined unpack; anything else, or anything the fast path
        doubts, goes the general way.
        """
        if data.__class__ is not bytes:
            data = bytes(data)
        n = len(data)
        p = _new(Packet)
        p.ts = ts_ns
        p.frame_len = wire_len or n
        if linktype == 1 and n >= 42 and data[14] == 0x45:
            proto = data[23]
            if proto == 6 and n >= 54:
                (p.dst_mac, p.src_mac, etype, total, frag, p.src_ip, p.dst_ip, p.src_port,
                 p.dst_port, p.seq, p.ack, hl, p.tcp_flags) = _ETH_IP4_TCP.unpack_from(data)
                hl = (hl >> 4) << 2
                end = 14 + total
                if (etype == 0x0800 and not frag & 0x3FFF and hl >= 20
                        and 34 + hl <= end <= n):
                    p.vlans = ()
                    p.ip_version = 4
                    p.proto = 6
                    p.payload = data[34 + hl:end]
                    p.icmp_type = p.icmp_code = 0
                    return p
            elif proto == 17:
                (p.dst_mac, p.src_mac, etype, total, frag, p.src_ip, p.dst_ip, p.src_port,
                 p.dst_port, length) = _ETH_IP4_UDP.unpack_from(data)
                end = 34 + length
                if (etype == 0x0800 and not frag & 0x3FFF and length >= 8
                        and end <= 14 + total <= n):
                    p.vlans = ()
                    p.ip_version = 4
                    p.proto = 17
                    p.payload = data[42:end]
                    p.tcp_flags = p.seq = p.ack = p.icmp_type = p.icmp_code = 0
                    return p
        try:
            return self._general(p, linktype, data)
        except (struct.error, IndexError, ValueError, TypeError):
            # A bug, not bad input: the fuzz tests assert this counter stays zero.
            self._inc("decode_internal_error")
            return None

    def _general(self, p: Packet, linktype: int, data: bytes) -> Packet | None:
        """Every link type, VLANs, IP options, IPv6, fragments, ICMP, odd lengths."""
        if linktype == 1:
            if len(data) < 14:
                self._inc("decode_truncated")
                return None
            p.dst_mac = data[:6]
            p.src_mac = data[6:12]
            off = self._vlans(p, data, 14, data[12] << 8 | data[13])
        else:
            p.src_mac = p.dst_mac = b""
            p.vlans = ()
            off = self._link(p, linktype, data)
        if off < 0:
            return None
        if off >= len(data):
            self._inc("decode_truncated")
            return None
        version = data[off] >> 4
        if version == 4:
            return self._ipv4(p, data, off, len(data))
        if version == 6:
            return self._ipv6(p, data, off, len(data))
        self._inc("decode_bad_ip_header")
        return None

    def _vlans(self, p: Packet, data: bytes, off: int, etype: int) -> int:
        """Walk 802.1Q/802.1ad tags; offset of the IP header, or -1 (counted)."""
        if etype == 0x0800 or etype == 0x86DD:
            p.vlans = ()
            return off
        vlans = []
        while etype in _VLAN_TYPES:
            if len(data) < off + 4:
                self._inc("decode_truncated")
                return -1
            vlans.append((data[off] << 8 | data[off + 1]) & 0x0FFF)
            etype = data[off + 2] << 8 | data[off + 3]
            off += 4
        p.vlans = tuple(vlans)
        if etype not in _IP_ETHERTYPES:
            self._inc("decode_non_ip")
            return -1
        return off

    def _link(self, p: Packet, linktype: int, data: bytes) -> int:
        """Offset of the IP header after a non-Ethernet link header, or -1 (counted)."""
        n = len(data)
        if linktype in _RAW:
            return 0
        if linktype == 113:  # Linux cooked v1: protocol in the header's last two bytes
            if n < 16:
                self._inc("decode_truncated")
                return -1
            return self._vlans(p, data, 16, data[14] << 8 | data[15])
        if linktype == 276:  # Linux cooked v2: protocol in the first two bytes
            if n < 20:
                self._inc("decode_truncated")
                return -1
            return self._vlans(p, data, 20, data[0] << 8 | data[1])
        if linktype == 0 or linktype == 108:
            if n < 4:
                self._inc("decode_truncated")
                return -1
            family = int.from_bytes(data[:4], "big" if linktype == 108 else "little")
            if family > 0xFFFF:  # NULL is in the capturing host's order: try the other
                family = int.from_bytes(data[:4], "big")
            if family not in _LOOP_FAMILIES:
                self._inc("decode_non_ip")
                return -1
            return 4
        self._inc("decode_unsupported_linktype")
        return -1

    def _ipv4(self, p: Packet, data: bytes, off: int, limit: int) -> Packet | None:
        if limit - off < 20:
            self._inc("decode_truncated")
            return None
        vhl, total, ident, frag, proto, src, dst = _IP4.unpack_from(data, off)
        total = total or limit - off  # zero: segmentation offload, see the module docstring
        ihl = (vhl & 0x0F) << 2
        if vhl >> 4 != 4 or ihl < 20 or total < ihl:
            self._inc("decode_bad_ip_header")
            return None
        end = off + total  # drops Ethernet padding and trailers
        if end > limit:
            if off + ihl > limit:
                self._inc("decode_truncated")
                return None
            self._inc("decode_ip_short")
            end = limit
        p.ip_version = 4
        p.src_ip = src
        p.dst_ip = dst
        p.proto = proto
        if frag & 0x3FFF:  # more-fragments set or a non-zero offset
            done = self._frags.add((src, dst, proto, ident), (frag & 0x1FFF) << 3,
                                   frag & 0x2000 != 0, data[off + ihl:end], p)
            if done is None:
                return None
            data, _, p.frame_len = done
            return self._l4(p, data, 0, len(data))
        return self._l4(p, data, off + ihl, end)

    def _ipv6(self, p: Packet, data: bytes, off: int, limit: int) -> Packet | None:
        if limit - off < 40:
            self._inc("decode_truncated")
            return None
        plen, nh, src, dst = _IP6.unpack_from(data, off)
        start = off + 40
        end = start + plen
        if plen == 0:  # offload or jumbogram: see the module docstring
            end = limit
        elif end > limit:
            self._inc("decode_ip_short")
            end = limit
        p.ip_version = 6
        p.src_ip = src
        p.dst_ip = dst
        return self._ipv6_chain(p, data, start, end, nh)

    def _ipv6_chain(self, p: Packet, data: bytes, pos: int, end: int,
                    nh: int) -> Packet | None:
        """Skip extension headers up to the upper layer, reassembling at a fragment header.

        ESP and No Next Header end the walk: what follows is opaque, an IP-only packet.
        Every header consumes at least eight bytes, so the walk is bounded by the length.
        """
        while True:
            if nh in _IPV6_EXT or nh == 51:
                if end - pos < 2:
                    self._inc("decode_truncated")
                    return None
                size = (data[pos + 1] + 2) << 2 if nh == 51 else (data[pos + 1] + 1) << 3
                if pos + size > end:
                    self._inc("decode_bad_ipv6_ext")
                    return None
                nh = data[pos]
                pos += size
            elif nh == 44:
                if end - pos < 8:
                    self._inc("decode_truncated")
                    return None
                nxt = data[pos]
                flags, ident = _FRAG6.unpack_from(data, pos + 2)
                pos += 8
                if flags & 0xFFF9 == 0:  # atomic fragment (RFC 6946): offset 0, no more
                    nh = nxt
                    continue
                p.proto = nxt
                done = self._frags.add((p.src_ip, p.dst_ip, ident), flags & 0xFFF8,
                                       flags & 1 != 0, data[pos:end], p)
                if done is None:
                    return None
                data, nh, p.frame_len = done
                pos, end = 0, len(data)
            else:
                break
        p.proto = nh
        return self._l4(p, data, pos, end)

    def _l4(self, p: Packet, data: bytes, start: int, end: int) -> Packet | None:
        """Transport header at data[start:end]; every remaining slot of `p` is set here."""
        proto = p.proto
        if proto == 6:
            if end - start < 20:
                self._inc("decode_truncated")
                return None
            p.src_port, p.dst_port, p.seq, p.ack, hl, p.tcp_flags = _TCP.unpack_from(
                data, start)
            hl = (hl >> 4) << 2
            if hl < 20 or start + hl > end:
                self._inc("decode_bad_tcp_header")
                return None
            start += hl
            p.payload = data[start:end]
            p.icmp_type = p.icmp_code = 0
            return p
        p.tcp_flags = p.seq = p.ack = 0
        if proto == 17:
            if end - start < 8:
                self._inc("decode_truncated")
                return None
            p.src_port, p.dst_port, length = _UDP.unpack_from(data, start)
            if length < 8 and length != 0:  # zero: an IPv6 jumbogram's (RFC 2675)
                self._inc("decode_bad_udp_length")
                return None
            if start + length > end:
                self._inc("decode_udp_short")
            elif length:
                end = start + length
            start += 8
            p.payload = data[start:end]
            p.icmp_type = p.icmp_code = 0
            return p
        p.src_port = p.dst_port = 0
        if proto == 1 or proto == 58:
            # gopacket's minimums, which Packetbeat inherits: 8 bytes for v4, 4 for v6.
            if end - start < (8 if proto == 1 else 4):
                self._inc("decode_truncated")
                return None
            p.icmp_type = data[start]
            p.icmp_code = data[start + 1]
            p.payload = data[start:end]
            return p
        if proto in _TUNNELS and not self._in_tunnel and end - start >= 1:
            return self._tunnel(p, data, start, end)
        p.icmp_type = p.icmp_code = 0
        p.payload = data[start:end]
        return p

    def _tunnel(self, p: Packet, data: bytes, start: int, end: int) -> Packet | None:
        """IP in IP, one level deep: the inner header replaces the outer addresses."""
        self._in_tunnel = True
        try:
            if p.proto == 4:
                return self._ipv4(p, data, start, end)
            return self._ipv6(p, data, start, end)
        finally:
            self._in_tunnel = False
