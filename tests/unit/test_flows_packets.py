"""Decoded packets for flow and ICMP tests, built as the decoder would fill them.

A helper module (the flows and ICMP tests import it); its own test checks the builders.
"""

from __future__ import annotations

import socket

from shardbeat.decode.packet import Packet

S = 1_000_000_000
MAC_A = bytes.fromhex("000000000001")
MAC_B = bytes.fromhex("000000000002")


def ip(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


def packet(ts: int, src: str, dst: str, sport: int = 0, dport: int = 0, *, proto: int = 6,
           frame_len: int = 60, vlans: tuple[int, ...] = (), macs: tuple[bytes, bytes] = (
               MAC_A, MAC_B), icmp: tuple[int, int] = (0, 0), payload: bytes = b"") -> Packet:
    p = Packet()
    p.ts = ts
    p.src_ip, p.dst_ip = ip(src), ip(dst)
    p.ip_version = 4 if len(p.src_ip) == 4 else 6
    p.proto = proto
    p.src_port, p.dst_port = sport, dport
    p.src_mac, p.dst_mac = macs
    p.vlans = vlans
    p.frame_len = frame_len
    p.icmp_type, p.icmp_code = icmp
    p.payload = payload
    return p


def reverse(p: Packet, ts: int, frame_len: int | None = None, **changes) -> Packet:
    """The same conversation, the other way."""
    r = packet(ts, socket.inet_ntop(socket.AF_INET if p.ip_version == 4 else socket.AF_INET6,
                                    p.dst_ip),
               socket.inet_ntop(socket.AF_INET if p.ip_version == 4 else socket.AF_INET6,
                                p.src_ip),
               p.dst_port, p.src_port, proto=p.proto,
               frame_len=p.frame_len if frame_len is None else frame_len, vlans=p.vlans,
               macs=(p.dst_mac, p.src_mac))
    for name, value in changes.items():
        setattr(r, name, value)
    return r


def test_reverse_swaps_both_endpoints():
    p = packet(5, "10.0.0.1", "10.0.0.2", 1234, 80, vlans=(7,))
    r = reverse(p, 6)
    assert (r.src_ip, r.src_port, r.src_mac) == (p.dst_ip, p.dst_port, p.dst_mac)
    assert (r.dst_ip, r.dst_port, r.dst_mac) == (p.src_ip, p.src_port, p.src_mac)
    assert (r.ts, r.vlans, r.proto, r.ip_version) == (6, (7,), 6, 4)
