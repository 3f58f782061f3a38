"""Pairing queries with responses within one flow, and what happens to the unpaired.

Packetbeat keys a transaction by (client address and port, server address and port,
transport, DNS id); a flow here is one such address pair, so the key is (direction of the
query, id). The query bit decides what a message is, not the direction: two servers both on
port 53 query each other both ways, and whoever sent the query is the event's source.
Notes are Packetbeat's own texts (packetbeat/protos/dns/errors.go).
"""

from __future__ import annotations

from shardbeat.protocols.base import Conn, Direction, ParserEnv
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.events import Options, Sent, dns_event

NON_DNS = "Message's data could not be decoded as DNS"
DUPLICATE_QUERY = ("Another query with the same DNS ID from this client was received so "
                   "this query was closed without receiving a response")
NO_RESPONSE = "No response to this query was received"
ORPHANED_RESPONSE = "Response: received without an associated Query"
ZERO_LENGTH = "Message's length was set to zero"
UNEXPECTED_LENGTH = "Unexpected message data length"
INCOMPLETE = "Message's data is incomplete"
RESPONSE = "Response: "
# Only EDNS messages should be larger than this over UDP (RFC 1035 4.2.1).
MAX_UDP_PLAIN_SIZE = 512
UDP_TOO_LARGE = f"Non-EDNS packet has size greater than {MAX_UDP_PLAIN_SIZE}"
RESPONDER_NO_EDNS = "Responder does not support EDNS"
UNEXPECTED_EDNS = "Unexpected EDNS answer"

_NS = 1_000_000_000
# An enum member lookup costs a Python call in 3.11; these run for every message.
_TO_SERVER = Direction.TO_SERVER
_OTHER = (Direction.TO_CLIENT, Direction.TO_SERVER)  # indexed by a direction


class Pending:
    __slots__ = ("query", "conn", "notes")

    def __init__(self, query: Sent, conn: Conn, notes: list[str]) -> None:
        self.query = query
        self.conn = conn
        self.notes = notes


class FlowState:
    """Per UDP flow or TCP connection. `pending` keeps insertion order, which is time
    order, so expiry stops at the first query still young enough."""

    __slots__ = ("conn", "_reverse", "pending", "halves")

    def __init__(self, conn: Conn, halves: tuple) -> None:
        self.conn = conn
        self._reverse: Conn | None = None
        self.pending: dict[tuple[Direction, int], Pending] = {}
        self.halves = halves

    def conn_from(self, sender: Direction) -> Conn:
        """The connection as seen from whoever sent the query."""
        if sender == _TO_SERVER:
            return self.conn
        if self._reverse is None:
            c = self.conn
            self._reverse = Conn(c.transport, c.ip_version, (c.server_ip, c.server_port),
                                 (c.client_ip, c.client_port), c.vlans)
        return self._reverse


def _other(direction: Direction) -> Direction:
    return _OTHER[direction]


class Correlator:
    """Owns the pairing rules; one per parser, stateless itself."""

    def __init__(self, config: DnsConfig, env: ParserEnv) -> None:
        self._opts = Options(config)
        self._env = env
        self._counters = env.counters
        self._timeout_ns = int(config.transaction_timeout * _NS)
        self._max_pending = config.max_pending_transactions

    def query(self, st: FlowState, direction: Direction, sent: Sent) -> None:
        key = (direction, sent.msg.id)
        old = st.pending.pop(key, None)
        if old is not None:
            # A client with two queries in flight under one id, or a retransmission.
            self._counters.inc("dns_duplicate_queries")
            old.notes.append(DUPLICATE_QUERY)
            self._publish(old.conn, old.query, None, old.notes)
        notes = [INCOMPLETE] if sent.msg.incomplete else []
        # Packetbeat's check, kept as it is: it notes an EDNS query over 512 bytes.
        if st.conn.transport == "udp" and sent.msg.opt is not None \
                and sent.length > MAX_UDP_PLAIN_SIZE:
            notes.append(UDP_TOO_LARGE)
        if len(st.pending) >= self._max_pending:
            oldest = next(iter(st.pending))
            evicted = st.pending.pop(oldest)
            self._counters.inc("dns_pending_evicted")
            self._unanswered(evicted)
        st.pending[key] = Pending(sent, st.conn_from(direction), notes)

    def response(self, st: FlowState, direction: Direction, sent: Sent) -> None:
        asker = _OTHER[direction]
        pending = st.pending.pop((asker, sent.msg.id), None)
        if pending is None:
            self._counters.inc("dns_unmatched_responses")
            conn, query, notes = st.conn_from(asker), None, [ORPHANED_RESPONSE]
        else:
            conn, query, notes = pending.conn, pending.query, pending.notes
        if sent.msg.incomplete:
            notes.append(RESPONSE + INCOMPLETE)
        if st.conn.transport == "udp":
            _add_edns_notes(notes, query, sent)
        self._publish(conn, query, sent, notes)

    def response_error(self, st: FlowState, direction: Direction, msg_id: int | None,
                       note: str) -> None:
        """A response that could not be used: its query (matched by id when the id could
        be read, else the oldest query still waiting on this connection) is published now
        with the reason, rather than left to time out. Packetbeat picks the connection's
        last query instead, which is the same one unless queries were pipelined."""
        asker = _other(direction)
        if msg_id is not None:
            key = (asker, msg_id)
        else:
            key = next((k for k in st.pending if k[0] == asker), None)
        pending = st.pending.pop(key, None) if key is not None else None
        if pending is not None:
            pending.notes.append(RESPONSE + note)
            self._publish(pending.conn, pending.query, None, pending.notes)

    def expire(self, st: FlowState, now: int) -> None:
        deadline = now - self._timeout_ns
        while st.pending:
            key = next(iter(st.pending))
            if st.pending[key].query.ts > deadline:
                break
            self._unanswered(st.pending.pop(key))

    def close(self, st: FlowState) -> None:
        while st.pending:
            self._unanswered(st.pending.pop(next(iter(st.pending))))

    def _unanswered(self, pending: Pending) -> None:
        self._counters.inc("dns_unmatched_requests")
        pending.notes.append(NO_RESPONSE)
        self._publish(pending.conn, pending.query, None, pending.notes)

    def _publish(self, conn: Conn, query: Sent | None, response: Sent | None,
                 notes: list[str]) -> None:
        event, found = dns_event(conn, query, response, notes, self._opts)
        if found.bad_rdata:
            self._counters.inc("dns_bad_rdata", found.bad_rdata)
        self._env.publish(event)


def _add_edns_notes(notes: list[str], query: Sent | None, response: Sent) -> None:
    response_edns = response.msg.opt is not None
    if not response_edns and response.length > MAX_UDP_PLAIN_SIZE:
        notes.append(RESPONSE + UDP_TOO_LARGE)
    if query is not None:
        query_edns = query.msg.opt is not None
        if query_edns and not response_edns:
            notes.append(RESPONDER_NO_EDNS)
        elif response_edns and not query_edns:
            notes.append(UNEXPECTED_EDNS)
