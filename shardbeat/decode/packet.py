"""The decoded form of one frame: what every later stage reads.

Addresses stay packed (4 or 16 bytes): they are compared and hashed far more often than they
are printed, and Community ID hashes the packed form. `ts` is integer nanoseconds of packet
time so that durations are exact.
"""

from __future__ import annotations

from enum import IntEnum


class IpProto(IntEnum):
    ICMP = 1
    TCP = 6
    UDP = 17
    ICMPV6 = 58


class TcpFlag(IntEnum):
    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10


class Packet:
    """One IP datagram (reassembled if it came in fragments) with its L4 header decoded.

    `payload` is the L4 payload for TCP and UDP and the whole ICMP message (from its type
    byte) for ICMP; `frame_len` is the frame's length on the wire, what flows count.
    """

    __slots__ = (
        "ts", "vlans", "src_mac", "dst_mac", "ip_version", "src_ip", "dst_ip", "proto",
        "src_port", "dst_port", "tcp_flags", "seq", "ack", "payload", "icmp_type",
        "icmp_code", "frame_len",
    )

    def __init__(self) -> None:
        self.ts = 0
        self.vlans: tuple[int, ...] = ()
        self.src_mac = b""
        self.dst_mac = b""
        self.ip_version = 4
        self.src_ip = b""
        self.dst_ip = b""
        self.proto = 0
        self.src_port = 0
        self.dst_port = 0
        self.tcp_flags = 0
        self.seq = 0
        self.ack = 0
        self.payload: memoryview | bytes = b""
        self.icmp_type = 0
        self.icmp_code = 0
        self.frame_len = 0
