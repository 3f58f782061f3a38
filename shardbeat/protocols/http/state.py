"""Per-connection parser state: one `DirState` per direction, the pairing queue, and who is
really the client (a capture that starts mid-connection can get it backwards)."""

from __future__ import annotations

from enum import IntEnum

from shardbeat.protocols.base import Conn
from shardbeat.protocols.http.message import Message
from shardbeat.protocols.http.transactions import Pairing, Slot
from shardbeat.protocols.http.wire import StartLine


class Phase(IntEnum):
    START = 0        # waiting for a complete header block
    BODY_LEN = 1     # Content-Length body: `remaining` bytes to go
    BODY_CLOSE = 2   # body ends when the sender closes
    CHUNK_SIZE = 3   # a chunk-size line
    CHUNK_DATA = 4   # `remaining` bytes of chunk data
    CHUNK_END = 5    # the CRLF after chunk data
    TRAILER = 6      # trailer fields after the last chunk, up to an empty line
    TUNNEL = 7       # after CONNECT 2xx or 101: not HTTP any more, bytes are skipped
    RESYNC = 8       # out of sync: looking for the next start line


class DirState:
    __slots__ = ("phase", "msg", "slot", "remaining", "scan_from", "start_ts", "checked",
                 "start_line", "trailer", "closed")

    def __init__(self) -> None:
        self.phase = Phase.START
        self.msg: Message | None = None
        self.slot: Slot | None = None
        self.remaining = 0
        self.scan_from = 0              # header-end search resumes here (no rescans)
        self.start_ts: int | None = None  # when the current message's first byte came
        self.checked = False            # its start line was seen and looks valid
        self.start_line: StartLine | None = None  # ... and this is it, parsed
        self.trailer = 0                # trailer bytes so far (bounded)
        self.closed = False

    def reset(self, phase: Phase = Phase.START) -> None:
        self.phase = phase
        self.msg = None
        self.slot = None
        self.remaining = 0
        self.scan_from = 0
        self.start_ts = None
        self.checked = False
        self.start_line = None
        self.trailer = 0

    @property
    def in_head(self) -> bool:
        return self.phase == Phase.START and self.start_ts is not None


class HttpState:
    __slots__ = ("conn", "dirs", "pairing", "flipped", "decided", "last_ts")

    def __init__(self, conn: Conn, pairing: Pairing) -> None:
        self.conn = conn
        self.dirs = (DirState(), DirState())
        self.pairing = pairing
        self.flipped = False   # the side the stream layer calls client is the server
        self.decided = False   # a start line has fixed who is who
        self.last_ts = 0

    def flip(self) -> None:
        c = self.conn
        self.flipped = True
        # The connection as events name it, which the pairing publishes with.
        self.pairing.conn = Conn(c.transport, c.ip_version, (c.server_ip, c.server_port),
                                 (c.client_ip, c.client_port), c.vlans)
