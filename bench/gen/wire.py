"""Ethernet + IPv4 + TCP/UDP frames with correct checksums, fast.

Everything that does not change between packets of one direction of a connection (MACs,
addresses, ports, TTL, the constant part of both checksums) is computed once in `Side`; a
packet then costs one `struct` pack and one big-int modulo for the payload checksum.

The payload checksum uses 2**16 == 1 (mod 0xFFFF): the big-endian integer value of the bytes is
congruent to the sum of their 16-bit words, so `int.from_bytes(...) % 0xFFFF` is the one's
complement sum computed in C. A remainder of 0 stands for a folded sum of 0xFFFF (the data is
never all zeros), whose complement is 0x0000: Wireshark warns about 0xFFFF there (RFC 1624).
UDP is the exception: a computed 0x0000 is sent as 0xFFFF, since 0 means "no checksum".
"""

from __future__ import annotations

import struct

# Ethernet (dst, src, type) + IPv4 (ver/ihl+tos, total length, id, flags/frag, ttl+proto,
# checksum, addresses) + TCP (ports, seq, ack, offset+flags, window, checksum, urgent).
TCP_FRAME = struct.Struct("!14sHHHHHH8s4sIIHHHH")
UDP_FRAME = struct.Struct("!14sHHHHHH8s4sHH")
ETH_TYPE_IPV4 = 0x0800
MIN_FRAME = 60            # shortest Ethernet frame on the wire (without FCS): taps see padding
PAD = bytes(MIN_FRAME)
IP_VER_IHL_TOS = 0x4500
IP_DONT_FRAGMENT = 0x4000
TCP_WINDOW = 64240
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MSS_OPTION = b"\x02\x04\x05\xb4"    # MSS 1460, carried on SYN and SYN/ACK only
MSS_OPTION_SUM = 0x0204 + 0x05B4
TCP_HDR = 20
IP_HDR = 20
ETH_HDR = 14


def mac_for(ip: bytes) -> bytes:
    """A locally administered MAC derived from the address, so every host has a stable one."""
    return b"\x02\x00" + ip


def ip_bytes(dotted: str) -> bytes:
    return bytes(int(p) for p in dotted.split("."))


def _words(data: bytes) -> int:
    return sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))


def payload_sum(data) -> int:
    """One's complement sum (mod 0xFFFF) of bytes starting at an even offset."""
    value = int.from_bytes(data, "big")
    if len(data) & 1:
        value <<= 8
    return value % 0xFFFF


def _complement(remainder: int) -> int:
    return 0xFFFF - remainder if remainder else 0


class Side:
    """One direction of a conversation: the constant parts of its headers and checksums."""

    __slots__ = ("eth", "ttl_proto", "addrs", "ports", "ip_sum", "l4_sum", "ip_id")

    def __init__(self, src: tuple[bytes, int], dst: tuple[bytes, int], proto: int,
                 ttl: int, ip_id: int) -> None:
        (src_ip, src_port), (dst_ip, dst_port) = src, dst
        self.eth = mac_for(dst_ip) + mac_for(src_ip) + ETH_TYPE_IPV4.to_bytes(2, "big")
        self.ttl_proto = ttl << 8 | proto
        self.addrs = src_ip + dst_ip
        self.ports = struct.pack("!HH", src_port, dst_port)
        addr_sum = _words(self.addrs)
        self.ip_sum = IP_VER_IHL_TOS + IP_DONT_FRAGMENT + self.ttl_proto + addr_sum
        # Pseudo-header (addresses, protocol) + ports; TCP adds its fixed window here too.
        self.l4_sum = addr_sum + proto + src_port + dst_port + (TCP_WINDOW if proto == 6 else 0)
        self.ip_id = ip_id

    def _ip_fields(self, total: int) -> tuple[int, int]:
        ident = self.ip_id
        self.ip_id = (ident + 1) & 0xFFFF
        return ident, _complement((self.ip_sum + total + ident) % 0xFFFF)

    def tcp(self, seq: int, ack: int, flags: int, payload=b"") -> bytes:
        """A TCP segment (MSS option on SYNs) framed down to Ethernet."""
        if flags & SYN:
            off_flags, opt, opt_sum = (6 << 12) | flags, MSS_OPTION, MSS_OPTION_SUM
        else:
            off_flags, opt, opt_sum = (5 << 12) | flags, b"", 0
        seg_len = TCP_HDR + len(opt) + len(payload)
        csum = _complement((self.l4_sum + seg_len + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16)
                         + (ack & 0xFFFF) + off_flags + opt_sum + payload_sum(payload)) % 0xFFFF)
        ident, ip_csum = self._ip_fields(IP_HDR + seg_len)
        frame = TCP_FRAME.pack(self.eth, IP_VER_IHL_TOS, IP_HDR + seg_len, ident,
                               IP_DONT_FRAGMENT, self.ttl_proto, ip_csum, self.addrs,
                               self.ports, seq, ack, off_flags, TCP_WINDOW, csum, 0)
        frame = frame + opt + payload if opt or payload else frame
        return frame + PAD[:MIN_FRAME - len(frame)] if len(frame) < MIN_FRAME else frame

    def udp(self, payload: bytes) -> bytes:
        dgram_len = 8 + len(payload)
        csum = 0xFFFF - (self.l4_sum + 2 * dgram_len + payload_sum(payload)) % 0xFFFF  # never 0
        ident, ip_csum = self._ip_fields(IP_HDR + dgram_len)
        frame = UDP_FRAME.pack(self.eth, IP_VER_IHL_TOS, IP_HDR + dgram_len, ident,
                               IP_DONT_FRAGMENT, self.ttl_proto, ip_csum, self.addrs,
                               self.ports, dgram_len, csum) + payload
        return frame + PAD[:MIN_FRAME - len(frame)] if len(frame) < MIN_FRAME else frame
