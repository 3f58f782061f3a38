"""ICMPv4/ICMPv6 request ↔ response pairing, as Packetbeat's `protos/icmp` does it.

Every message that is not a reply type counts as a "request". Requests of the query types
(echo; for v4 also timestamp, information and address mask) wait for their reply, matched
by (version, addresses, identifier, sequence); every other message (errors such as
unreachable or time exceeded, neighbour discovery, ...) is published alone at once. A reply
with no request is published alone with a note; a request left unanswered for
`transaction_timeout` of packet time, or still open at end of capture, is published with a
note; a second request with the same identifiers closes the first with a note.

Status is Error when the request is missing, when either message is an error type, or when
a query got no reply; otherwise OK.
"""

from __future__ import annotations

from shardbeat.decode.packet import Packet
from shardbeat.protocols.base import ParserEnv
from shardbeat.protocols.icmp.config import IcmpConfig
from shardbeat.protocols.icmp.events import Message, icmp_event

_NS = 1_000_000_000
_HEADER = 8  # type, code, checksum, identifier/sequence (or unused): not counted as bytes

# Notes worded as Packetbeat's, so error.message matches.
DUPLICATE_REQUEST = ("Another request with the same Id and Seq was received so this "
                     "request was closed without receiving a response.")
ORPHANED_REQUEST = "Request was received without an associated response."
ORPHANED_RESPONSE = "Response was received without an associated request."

_RESPONSES = {4: frozenset({0, 14, 16, 18}), 6: frozenset({129})}
_PAIRED = {4: frozenset({0, 8, 13, 14, 15, 16, 17, 18}), 6: frozenset({128, 129})}
_ERRORS = {4: frozenset({3, 4, 11, 12}), 6: frozenset({1, 2, 3, 4})}


class _Pending:
    __slots__ = ("key", "vlans", "request", "notes")

    def __init__(self, key: tuple, vlans: tuple[int, ...], request: Message) -> None:
        self.key, self.vlans, self.request, self.notes = key, vlans, request, []


class IcmpTracker:
    """One per worker: `on_packet` for every ICMP packet, `tick` per batch, `flush` at end."""

    name = "icmp"

    def __init__(self, config: IcmpConfig, env: ParserEnv) -> None:
        self._env = env
        self._inc = env.counters.inc
        self._timeout_ns = round(config.transaction_timeout * _NS)
        self._max_pending = config.max_pending_requests
        # (version, src, dst, id, seq) of the request → the request waiting for its reply
        self._pending: dict[tuple, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def on_packet(self, pkt: Packet) -> None:
        version = 4 if pkt.proto == 1 else 6
        payload = pkt.payload
        type_, code = pkt.icmp_type, pkt.icmp_code
        paired = type_ in _PAIRED[version]
        if len(payload) < (_HEADER if paired or version == 4 else 4):
            self._inc("icmp_truncated")
            return
        ident = seq = 0
        if paired:
            ident = payload[4] << 8 | payload[5]
            seq = payload[6] << 8 | payload[7]
        msg = Message(pkt.ts, type_, code, max(0, len(payload) - _HEADER))
        self._inc("icmp_messages")
        if type_ in _RESPONSES[version]:
            key = (version, pkt.dst_ip, pkt.src_ip, ident, seq)
            self._response(key, pkt.vlans, msg)
        else:
            key = (version, pkt.src_ip, pkt.dst_ip, ident, seq)
            self._request(key, pkt.vlans, msg, paired)

    def tick(self, now_ns: int) -> None:
        """Publish the requests unanswered for `transaction_timeout` by `now_ns`."""
        expired = []
        for pending in self._pending.values():  # oldest first
            if now_ns - pending.request.ts < self._timeout_ns:
                break
            expired.append(pending)
        for pending in expired:
            del self._pending[pending.key]
            self._unanswered(pending)

    def flush(self, now_ns: int) -> None:
        """End of capture: every request still waiting is published unanswered."""
        pending, self._pending = list(self._pending.values()), {}
        for p in pending:
            self._unanswered(p)

    def _request(self, key: tuple, vlans: tuple[int, ...], msg: Message,
                 paired: bool) -> None:
        previous = self._pending.pop(key, None)
        if previous is not None:
            previous.notes.append(DUPLICATE_REQUEST)
            self._inc("icmp_duplicate_requests")
            self._publish(previous.key, previous.vlans, previous.request, None,
                          previous.notes)
        if not paired:
            self._publish(key, vlans, msg, None, [])
            return
        if len(self._pending) >= self._max_pending:
            oldest = self._pending.pop(next(iter(self._pending)))
            self._inc("icmp_pending_evicted")
            self._unanswered(oldest)
        self._pending[key] = _Pending(key, vlans, msg)

    def _response(self, key: tuple, vlans: tuple[int, ...], msg: Message) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            self._inc("icmp_unmatched_responses")
            self._publish(key, vlans, None, msg, [ORPHANED_RESPONSE])
            return
        self._publish(key, pending.vlans, pending.request, msg, pending.notes)

    def _unanswered(self, pending: _Pending) -> None:
        pending.notes.append(ORPHANED_REQUEST)
        self._inc("icmp_unmatched_requests")
        self._publish(pending.key, pending.vlans, pending.request, None, pending.notes)

    def _publish(self, key: tuple, vlans: tuple[int, ...], request: Message | None,
                 response: Message | None, notes: list[str]) -> None:
        version, src, dst = key[0], key[1], key[2]
        status = "OK"
        errors = _ERRORS[version]
        if (request is None or request.type in errors
                or (response is not None and response.type in errors)
                or (response is None and request.type in _PAIRED[version])):
            status = "Error"
        self._env.publish(icmp_event(version, src, dst, request, response, status, notes,
                                     vlans))
        self._inc("icmp_transactions")
