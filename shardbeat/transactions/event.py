"""A finished transaction → one Packetbeat 8.x event (nested, as the console output shows it).

What Packetbeat computes at publish time (`pb.Fields.ComputeValues`) is computed here once:
`client`/`server` copied from `source`/`destination`, `network.bytes`, `event.duration`,
`event.dataset`, `related.ip`, `network.community_id`. Zero and empty values are omitted, as
Packetbeat omits them; `error.message` is a string for one note and a list for several.
An event is read-only once built (see `EventFinisher`): `client` and `server` are the very
objects `source` and `destination` are, and a protocol's objects may be shared with other
events.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from shardbeat.protocols.base import Conn

_NS = 1_000_000_000


@lru_cache(maxsize=1 << 16)
def ip_text(packed: bytes) -> str:
    # Cached: a capture's events name the same servers and clients over and over. Sized
    # for a busy tap's distinct addresses (a 4096-entry cache missed on most clients of a
    # 25k-client mix); ~200 B an entry.
    return socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)


@lru_cache(maxsize=4096)
def _second_text(secs: int) -> str:
    # strftime dominates event building otherwise; events cluster in few distinct seconds.
    return datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def timestamp_ms(ts_ns: int) -> str:
    """`@timestamp` as Packetbeat prints it: ISO 8601 UTC with milliseconds."""
    secs, ns = divmod(ts_ns, _NS)
    return f"{_second_text(secs)}.{ns // 1_000_000:03d}Z"


def timestamp_ns(ts_ns: int) -> str:
    """`event.start`/`event.end` as Go's RFC 3339 with nanoseconds, trailing zeros trimmed."""
    secs, ns = divmod(ts_ns, _NS)
    base = _second_text(secs)
    if ns == 0:
        return base + "Z"
    return f"{base}.{str(_NS + ns)[1:].rstrip('0')}Z"


def start_times(ts_ns: int) -> tuple[str, str]:
    """(`@timestamp`, `event.start`) of a transaction's start: both from one second lookup
    and one formatting of the fraction, as timestamps are a third of building an event."""
    return _start_texts(*divmod(ts_ns, _NS))[1:]


def _start_texts(secs: int, ns: int) -> tuple[str, str, str]:
    """(the second's text, `@timestamp`, `event.start`) of `secs` seconds and `ns`."""
    base = _second_text(secs)
    if ns == 0:
        return base, base + ".000Z", base + "Z"
    # The nine zero-padded digits of the fraction are those of 1e9 + ns after its "1":
    # str() makes them in a third of the time the format spec `09d` takes.
    digits = str(_NS + ns)[1:]
    return base, f"{base}.{digits[:3]}Z", f"{base}.{digits.rstrip('0')}Z"


def span_times(start_ns: int, end_ns: int) -> tuple[str, str, str]:
    """(`@timestamp`, `event.start`, `event.end`) of a transaction with both ends. Nearly
    every one starts and ends within one second: the end then takes the start's second text
    and its fraction is the start's plus the duration, without a second division of a
    nanosecond time (a multi-digit integer)."""
    secs, ns = divmod(start_ns, _NS)
    base, stamp, start = _start_texts(secs, ns)
    end_ns_part = ns + (end_ns - start_ns)
    if not 0 <= end_ns_part < _NS:
        return stamp, start, timestamp_ns(end_ns)
    if end_ns_part:
        return stamp, start, f"{base}.{str(_NS + end_ns_part)[1:].rstrip('0')}Z"
    return stamp, start, base + "Z"


@dataclass(slots=True)
class Transaction:
    """What a protocol knows about one request/response pair; `to_event` does the rest.

    `fields` holds the protocol's own objects and any extra ECS groups, nested
    (`{"http": {...}, "url": {...}}`); they are merged into the event as they are.
    """

    type: str
    conn: Conn
    start_ns: int
    end_ns: int | None = None
    status: str = "OK"
    method: str | None = None
    query: str | None = None
    resource: str | None = None
    path: str | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    request: str | None = None
    response: str | None = None
    event_type: tuple[str, ...] = ("connection", "protocol")
    related_ips: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    source_domain: str | None = None
    destination_domain: str | None = None


def _endpoint(ip: str, port: int, nbytes: int, domain: str | None) -> dict:
    if port and nbytes and not domain:  # most endpoints of a finished transaction
        return {"ip": ip, "port": port, "bytes": nbytes}
    ep: dict[str, Any] = {"ip": ip}
    if port:
        ep["port"] = port
    if nbytes:
        ep["bytes"] = nbytes
    if domain:
        ep["domain"] = domain
    return ep


def _event_group(tx: Transaction) -> tuple[str, dict]:
    """`@timestamp` and the `event` object."""
    start_ns, end_ns = tx.start_ns, tx.end_ns
    stamp, start = start_times(start_ns)
    event: dict[str, Any] = {
        "kind": "event",
        "category": ["network"],
        "type": list(tx.event_type),
        "dataset": tx.type,
        "start": start,
    }
    if end_ns is not None:
        event["end"] = timestamp_ns(end_ns)
        if end_ns >= start_ns:
            event["duration"] = end_ns - start_ns
    return stamp, event


def _related(client_ip: str, server_ip: str, others: list[str]) -> list[str]:
    """Each address once, in order of first mention."""
    related = [client_ip] if client_ip == server_ip else [client_ip, server_ip]
    for ip in others:
        if ip not in related:
            related.append(ip)
    return related


def endpoints(conn: Conn, protocol: str, request_bytes: int, response_bytes: int,
              others: list[str], source_domain: str | None = None,
              destination_domain: str | None = None) -> tuple[dict, dict, dict, list[str]]:
    """`source`, `destination`, `network` and `related.ip` of a transaction on `conn`
    (`others`: further addresses it names)."""
    client_ip, server_ip = ip_text(conn.client_ip), ip_text(conn.server_ip)
    source = _endpoint(client_ip, conn.client_port, request_bytes, source_domain)
    destination = _endpoint(server_ip, conn.server_port, response_bytes, destination_domain)
    network: dict[str, Any] = {
        "type": "ipv4" if conn.ip_version == 4 else "ipv6",
        "transport": conn.transport,
        "protocol": protocol,
        "community_id": conn.community_id,
    }
    if request_bytes or response_bytes:
        network["bytes"] = request_bytes + response_bytes
    return source, destination, network, _related(client_ip, server_ip, others)


def to_event(tx: Transaction) -> dict:
    source, destination, network, related = endpoints(
        tx.conn, tx.type, tx.request_bytes, tx.response_bytes, tx.related_ips,
        tx.source_domain, tx.destination_domain)
    stamp, event = _event_group(tx)
    out: dict[str, Any] = {
        "@timestamp": stamp,
        "type": tx.type,
        "status": tx.status,
        "event": event,
        "source": source,
        "destination": destination,
        "client": source,
        "server": destination,
        "network": network,
        "related": {"ip": related},
    }
    _add_texts(out, tx)
    if tx.notes:
        out["error"] = {"message": tx.notes[0] if len(tx.notes) == 1 else list(tx.notes)}
    fields = tx.fields
    if out.keys().isdisjoint(fields):
        out.update(fields)  # the usual case: what merge_nested does, in one C call
    else:
        merge_nested(out, fields)
    return out


def _add_texts(out: dict[str, Any], tx: Transaction) -> None:
    # Attribute by attribute rather than a getattr loop: this runs once per event.
    if tx.method:
        out["method"] = tx.method
    if tx.query:
        out["query"] = tx.query
    if tx.resource:
        out["resource"] = tx.resource
    if tx.path:
        out["path"] = tx.path
    if tx.request:
        out["request"] = tx.request
    if tx.response:
        out["response"] = tx.response


def merge_nested(into: dict, extra: dict) -> None:
    """Merge `extra` into `into`, descending into objects both have (`related.hosts` beside
    `related.ip`), so a protocol can add to a group the common fields started."""
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge_nested(current, value)
        else:
            into[key] = value
