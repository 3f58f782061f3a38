"""The contract every protocol parser keeps (see DESIGN.md, "Protocol parsers").

A parser is incremental, pure and bounded. The stream layer owns the bytes; the parser owns
its per-connection state and publishes finished transactions through `ParserEnv.publish`.
Short input is a `Progress`, never an exception; a malformed message is counted in
`ParserEnv.counters` and noted on its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Callable, Protocol

from shardbeat.flows.community_id import community_id_v1


class Direction(IntEnum):
    TO_SERVER = 0
    TO_CLIENT = 1


@dataclass(frozen=True, slots=True)
class Progress:
    consumed: int        # bytes done with (may be all of them while skipping a body)
    needed: int = 0      # do not call again before this many more bytes are buffered
    error: bool = False  # this direction is out of sync: resync via probe() or drop state


class Conn:
    """One connection (TCP) or datagram flow (UDP) as a parser sees it: who is who.

    `client_*` is the side that opened the connection (SYN) or, mid-stream, the side not on
    the protocol's port. Transactions publish client as `source`, server as `destination`.
    """

    __slots__ = (
        "transport", "ip_version", "client_ip", "client_port", "server_ip", "server_port",
        "vlans", "_community_id",
    )

    def __init__(self, transport: str, ip_version: int, client: tuple[bytes, int],
                 server: tuple[bytes, int], vlans: tuple[int, ...] = (),
                 community_id: str | None = None) -> None:
        self.transport = transport
        self.ip_version = ip_version
        self.client_ip, self.client_port = client
        self.server_ip, self.server_port = server
        self.vlans = vlans
        # ICMP computes its own (type and code stand in for ports) and passes it in.
        self._community_id = community_id

    @property
    def community_id(self) -> str:
        if self._community_id is None:
            proto = 6 if self.transport == "tcp" else 17
            self._community_id = community_id_v1(
                proto, self.client_ip, self.server_ip, self.client_port, self.server_port
            )
        return self._community_id


@dataclass(slots=True)
class ParserEnv:
    """What a parser instance is given once per worker: where events go and what to count."""

    publish: Callable[[dict], None]
    counters: Any  # shardbeat.metrics.counters.Counters
    extra: dict = field(default_factory=dict)


class Parser(Protocol):
    name: str

    def new_state(self, conn: Conn) -> Any: ...

    def feed(self, st: Any, data: memoryview, direction: Direction, ts: int) -> Progress: ...

    def gap(self, st: Any, direction: Direction, nbytes: int) -> None: ...

    def fin(self, st: Any, direction: Direction, ts: int) -> None: ...

    def close(self, st: Any, ts: int) -> None:
        """The connection is gone (both FINs, RST, idle timeout, end of capture): flush
        every pending transaction as incomplete, with a note, rather than lose it."""

    def expire(self, st: Any, ts: int) -> None: ...

    def probe(self, data: memoryview, direction: Direction) -> bool: ...

    # Optional, looked up with getattr (a parser without it loses nothing):
    #
    # def skip(self, st, direction, nbytes, ts) -> bool:
    #     The next `nbytes` in-order bytes of `direction`, by length only: return True
    #     when the parser has accounted for them exactly as `feed` of those bytes would
    #     have (it needs none of their content, e.g. inside a body nobody keeps, and
    #     `feed` would have consumed them all), False with nothing changed otherwise.
    #     The stream layer offers it only when it would feed those bytes directly (in
    #     sync, nothing buffered), and feeds them as usual on False.
    #
    # def datagram(self, st, data, direction, ts) -> bool:
    #     UDP only, in place of `feed`: one whole datagram (bytes or memoryview), taken as
    #     `feed` would take it, counting its own errors. Returns whether anything is still
    #     pending: the dispatcher drops the flow at once when not (nothing for `close`).

