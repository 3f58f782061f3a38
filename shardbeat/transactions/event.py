"""A finished transaction → one Packetbeat 8.x event (nested, as the console output shows it).

What Packetbeat computes at publish time (`pb.Fields.ComputeValues`) is computed here once:
`client`/`server` copied from `source`/`destination`, `network.bytes`, `event.duration`,
`event.dataset`, `related.ip`, `network.community_id`. Zero and empty values are omitted, as
Packetbeat omits them; `error.message` is a string for one note and a list for several.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from shardbeat.protocols.base import Conn

_NS = 1_000_000_000


@lru_cache(maxsize=4096)
def ip_text(packed: bytes) -> str:
    # Cached: a capture's events name the same servers and clients over and over.
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
    return f"{base}.{ns:09d}".rstrip("0") + "Z"


def start_times(ts_ns: int) -> tuple[str, str]:
    """(`@timestamp`, `event.start`) of a transaction's start: both from one second lookup
    and one formatting of the fraction, as timestamps are a third of building an event."""
    ns = ts_ns % _NS
    base = _second_text(ts_ns // _NS)
    if ns == 0:
        return base + ".000Z", base + "Z"
    digits = f"{ns:09d}"
    return f"{base}.{digits[:3]}Z", f"{base}.{digits.rstrip('0')}Z"


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
    ep: dict[str, Any] = {"ip": ip}
    if port:
        ep["port"] = port
    if nbytes:
        ep["bytes"] = nbytes
    if domain:
        ep["domain"] = domain
    return ep


def to_event(tx: Transaction) -> dict:
    conn = tx.conn
    client_ip, server_ip = ip_text(conn.client_ip), ip_text(conn.server_ip)
    source = _endpoint(client_ip, conn.client_port, tx.request_bytes, tx.source_domain)
    destination = _endpoint(server_ip, conn.server_port, tx.response_bytes,
                            tx.destination_domain)
    stamp, start = start_times(tx.start_ns)
    event: dict[str, Any] = {
        "kind": "event",
        "category": ["network"],
        "type": list(tx.event_type),
        "dataset": tx.type,
        "start": start,
    }
    if tx.end_ns is not None:
        event["end"] = timestamp_ns(tx.end_ns)
        if tx.end_ns >= tx.start_ns:
            event["duration"] = tx.end_ns - tx.start_ns
    network: dict[str, Any] = {
        "type": "ipv4" if conn.ip_version == 4 else "ipv6",
        "transport": conn.transport,
        "protocol": tx.type,
        "community_id": conn.community_id,
    }
    total = tx.request_bytes + tx.response_bytes
    if total:
        network["bytes"] = total
    related = [client_ip]
    for ip in (server_ip, *tx.related_ips):
        if ip not in related:
            related.append(ip)
    out: dict[str, Any] = {
        "@timestamp": stamp,
        "type": tx.type,
        "status": tx.status,
        "event": event,
        "source": source,
        "destination": destination,
        "client": dict(source),
        "server": dict(destination),
        "network": network,
        "related": {"ip": related},
    }
    for key in ("method", "query", "resource", "path", "request", "response"):
        value = getattr(tx, key)
        if value:
            out[key] = value
    if tx.notes:
        out["error"] = {"message": tx.notes[0] if len(tx.notes) == 1 else list(tx.notes)}
    merge_nested(out, tx.fields)
    return out


def merge_nested(into: dict, extra: dict) -> None:
    """Merge `extra` into `into`, descending into objects both have (`related.hosts` beside
    `related.ip`), so a protocol can add to a group the common fields started."""
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge_nested(current, value)
        else:
            into[key] = value
