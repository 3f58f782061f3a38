"""Request ↔ response pairing for one connection: FIFO, as HTTP/1.1 pipelining requires.

A request takes its place in the queue as soon as its headers are in (so a response that
overtakes a slow upload, `Expect: 100-continue`, still pairs with it), and the pair is
published once both are complete. Informational responses (1xx other than 101) never
complete a transaction. What cannot be paired is published alone with Packetbeat's notes
("Unmatched request" / "Unmatched response") and counted. A request known to be lost (gap,
garbage) holds a placeholder so the responses after it still pair with the right requests.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from shardbeat.protocols.base import Conn
from shardbeat.protocols.http.events import UNMATCHED_REQUEST, UNMATCHED_RESPONSE
from shardbeat.protocols.http.message import Message

# (the connection as the event names it, request, response)
Emit = Callable[[Conn, Message | None, Message | None], None]


class Slot:
    __slots__ = ("request", "done", "response", "lost", "why")

    def __init__(self, request: Message | None, done: bool = False, why: str = "") -> None:
        self.request = request      # None: a placeholder for a request we could not read
        self.why = why              # ... and the note saying why
        self.done = done            # the request's body is complete
        self.response: Message | None = None
        self.lost = ""              # its response was lost: this note explains it


class Pairing:
    """`conn` is the connection as events name it (client first). `emit` must not hold the
    connection's state: the state holds this pairing, and a cycle between them would be
    freed only by the garbage collector, long after the connection ended."""

    __slots__ = ("slots", "emit", "conn", "counters", "max_pending")

    def __init__(self, emit: Emit, conn: Conn, counters, max_pending: int) -> None:
        self.slots: deque[Slot] = deque()
        self.emit = emit
        self.conn = conn
        self.counters = counters
        self.max_pending = max_pending

    def request_started(self, msg: Message) -> Slot:
        if len(self.slots) >= self.max_pending:
            self.counters.inc("http_pending_evicted")
            self._publish(self.slots.popleft())
        slot = Slot(msg)
        self.slots.append(slot)
        return slot

    def request_lost(self, note: str) -> None:
        """A request was lost or unreadable: its response must not take the next one's."""
        slot = Slot(None, done=True, why=note)
        if len(self.slots) >= self.max_pending:
            self.counters.inc("http_pending_evicted")
            self._publish(self.slots.popleft())
        self.slots.append(slot)

    def request_finished(self, slot: Slot) -> None:
        slot.done = True
        self._drain()

    def waiting(self) -> Slot | None:
        """The slot the next response belongs to (for HEAD and CONNECT framing)."""
        for slot in self.slots:
            if slot.response is None and not slot.lost:
                return slot
        return None

    def response_finished(self, msg: Message) -> None:
        if 100 <= msg.status_code < 200 and msg.status_code != 101:
            # 100 Continue and friends announce the final response; they complete nothing.
            self.counters.inc("http_informational_responses")
            return
        slot = self.waiting()
        if slot is None:
            self.counters.inc("http_unmatched_responses")
            msg.note(UNMATCHED_RESPONSE)
            self.emit(self.conn, None, msg)
            return
        slot.response = msg
        self._drain()

    def response_lost(self, note: str) -> None:
        slot = self.waiting()
        if slot is not None:
            if slot.request is None:
                self.slots.remove(slot)  # lost request, lost response: nothing to report
            else:
                slot.lost = note
            self._drain()

    def _drain(self) -> None:
        slots = self.slots
        while slots and slots[0].done and (slots[0].response is not None or slots[0].lost):
            self._publish(slots.popleft())

    def _publish(self, slot: Slot) -> None:
        requ, resp = slot.request, slot.response
        if requ is None:
            if resp is None:
                return
            self.counters.inc("http_unmatched_responses")
            resp.note(slot.why)
            resp.note(UNMATCHED_RESPONSE)
        elif resp is None:
            self.counters.inc("http_unmatched_requests")
            if slot.lost:
                requ.note(slot.lost)
            requ.note(UNMATCHED_REQUEST)
        self.emit(self.conn, requ, resp)

    def flush(self) -> None:
        """Publish everything pending (expiry, close): pairs as they are, the rest alone."""
        while self.slots:
            self._publish(self.slots.popleft())

    def __len__(self) -> int:
        return len(self.slots)
