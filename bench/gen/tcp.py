"""A TCP connection as a tap sees it: handshake, data, ACKs, teardown, with exact seq/ack.

A connection is planned as a list of application `Message`s; `packets()` turns them into
frames lazily (a generator), so only the connections currently open hold any bytes.
Behaviour modelled: SYN/SYN-ACK/ACK with the MSS option, segmentation at MSS 1460 with PSH
on the last segment of a message, the receiver ACKing every second segment, a delayed ACK when
nothing else carries it, piggy-backed ACKs on replies, and a FIN/FIN-ACK/ACK close by the client.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from .wire import ACK, FIN, PSH, SYN, Side

TO_SERVER, TO_CLIENT = 0, 1
MSS = 1460
DELAYED_ACK_NS = 40_000_000
ACK_TURNAROUND_NS = 25_000     # receiver's ACK after every second segment
NS_PER_BYTE = 8                # segments leave back to back at 1 Gbit/s


class Message(NamedTuple):
    gap_ns: int          # from the end of the previous message (or of the handshake)
    direction: int       # TO_SERVER or TO_CLIENT
    parts: tuple         # bytes-like pieces, joined only when the message is sent

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts)


class Endpoints(NamedTuple):
    client: tuple[bytes, int]
    server: tuple[bytes, int]


def _trailing_ack(messages: list[Message], i: int) -> bool:
    """Whether the receiver of message i must send a pure ACK for its odd last segment."""
    nxt = messages[i + 1] if i + 1 < len(messages) else None
    if nxt is None:
        return messages[i].direction == TO_SERVER   # the client's FIN would carry it otherwise
    return nxt.direction == messages[i].direction


def count_packets(messages: list[Message]) -> int:
    """Exactly the number of frames `packets()` yields for these messages."""
    total = 6                                       # three-way handshake + three-way close
    for i, msg in enumerate(messages):
        segs = -(-msg.size // MSS)
        total += segs + segs // 2 + (1 if segs & 1 and _trailing_ack(messages, i) else 0)
    return total


def packets(ends: Endpoints, start_ns: int, rtt_ns: int, messages: list[Message],
            seeds: tuple[int, int, int]) -> Iterator[tuple[int, bytes]]:
    """Yield (timestamp ns, frame) for the whole connection, in order."""
    isn_c, isn_s, ip_id = seeds
    sides = (Side(ends.client, ends.server, 6, 64, ip_id),
             Side(ends.server, ends.client, 6, 62, ip_id ^ 0x5A5A))
    nxt = [(isn_c + 1) & 0xFFFFFFFF, (isn_s + 1) & 0xFFFFFFFF]
    half = rtt_ns // 2
    t = start_ns
    yield t, sides[TO_SERVER].tcp(isn_c, 0, SYN)
    t += half
    yield t, sides[TO_CLIENT].tcp(isn_s, nxt[TO_SERVER], SYN | ACK)
    t += half
    yield t, sides[TO_SERVER].tcp(nxt[TO_SERVER], nxt[TO_CLIENT], ACK)
    for i, msg in enumerate(messages):
        t += msg.gap_ns
        d, r = msg.direction, 1 - msg.direction
        data = b"".join(msg.parts)
        snd, rcv = sides[d], sides[r]
        unacked = 0
        for off in range(0, len(data), MSS):
            seg = data[off:off + MSS]
            last = off + MSS >= len(data)
            yield t, snd.tcp(nxt[d], nxt[r], (PSH | ACK) if last else ACK, seg)
            nxt[d] = (nxt[d] + len(seg)) & 0xFFFFFFFF
            t += NS_PER_BYTE * (len(seg) + 54)
            unacked += 1
            if unacked == 2:
                t += ACK_TURNAROUND_NS
                yield t, rcv.tcp(nxt[r], nxt[d], ACK)
                unacked = 0
        if unacked and _trailing_ack(messages, i):
            gap = messages[i + 1].gap_ns if i + 1 < len(messages) else DELAYED_ACK_NS * 2
            delay = min(DELAYED_ACK_NS, gap // 2)
            yield t + delay, rcv.tcp(nxt[r], nxt[d], ACK)
    t += max(half, DELAYED_ACK_NS + 1)
    client, server = sides
    yield t, client.tcp(nxt[TO_SERVER], nxt[TO_CLIENT], FIN | ACK)
    nxt[TO_SERVER] = (nxt[TO_SERVER] + 1) & 0xFFFFFFFF
    t += half
    yield t, server.tcp(nxt[TO_CLIENT], nxt[TO_SERVER], FIN | ACK)
    nxt[TO_CLIENT] = (nxt[TO_CLIENT] + 1) & 0xFFFFFFFF
    t += half
    yield t, client.tcp(nxt[TO_SERVER], nxt[TO_CLIENT], ACK)
