"""A DNS query/response pair → the Packetbeat 8.x event (what `to_event` would build).

Mirrors Packetbeat's publishTransaction/addDNSToMapStr: `dns.*` is filled from the response
when there is one, else from the query; `method`, `query` and `resource` come from the
query when there is one; status is OK only for a paired response with rcode NOERROR.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from shardbeat.protocols.base import Conn
from shardbeat.protocols.dns.config import DnsConfig
from shardbeat.protocols.dns.domain import question_domain
from shardbeat.protocols.dns.edns import format_opt
from shardbeat.protocols.dns.names import CLASSES, TYPES, class_name, opcode_name, rcode_name, \
    type_name
from shardbeat.protocols.dns.rdata import DATA_ONLY, escape_raw, format_rdata
from shardbeat.protocols.dns.wire import AA, AD, CD, RA, RD, TC, Malformed, Message, \
    Question, Record
from shardbeat.transactions.event import endpoints, span_times, start_times

_FLAG_KEYS = (("authoritative", AA), ("truncated_response", TC), ("recursion_desired", RD),
              ("recursion_available", RA), ("authentic_data", AD), ("checking_disabled", CD))
_HEADER_FLAGS = (("AA", AA), ("TC", TC), ("RD", RD), ("RA", RA), ("AD", AD), ("CD", CD))
_FLAG_BITS = AA | TC | RD | RA | AD | CD
_DECODE_ERRORS = (Malformed, struct.error, IndexError, ValueError)
_ADDRESS_TYPES = (1, 28)


class Sent:
    """One message as seen on the wire: decoded, when, and its size in bytes (for TCP the
    2-byte length prefix included, as Packetbeat counts it)."""

    __slots__ = ("msg", "ts", "length")

    def __init__(self, msg: Message, ts: int, length: int) -> None:
        self.msg = msg
        self.ts = ts
        self.length = length


class Rendered:
    """What building the `dns` object found besides the object itself."""

    __slots__ = ("resolved_ips", "bad_rdata")

    def __init__(self) -> None:
        self.resolved_ips: list[str] = []
        self.bad_rdata = 0


# Questions recur (decoding shares one Question object per distinct question), so what is
# derived from one alone is derived once. The objects handed out are shared by the events
# that use them: events are read-only once built (see EventFinisher).
@lru_cache(maxsize=4096)
def question_text(q: Question) -> str:
    return f"class {class_name(q.qclass)}, type {type_name(q.qtype)}, {q.name}"


@lru_cache(maxsize=4096)
def _question_object(q: Question) -> dict[str, str]:
    return {"name": q.name, "type": type_name(q.qtype), "class": class_name(q.qclass),
            **question_domain(q.name)}


# opcode, the six flag bits, rcode: what the header part of the `dns` object depends on.
_HEADER_BITS = 0x7800 | _FLAG_BITS | 0x000F
_DO = 0x8000  # in the OPT record's TTL


@lru_cache(maxsize=1024)
def _header_fields(bits: int, do: bool) -> tuple[str, dict[str, bool], str, list[str]]:
    """`op_code`, `flags`, `response_code` and `header_flags` for one header (`bits` masked
    with `_HEADER_BITS`) and DO bit: a capture holds few distinct ones."""
    header = [name for name, mask in _HEADER_FLAGS if bits & mask]
    if do:
        header.append("DO")
    flags = {key: bool(bits & mask) for key, mask in _FLAG_KEYS}
    return opcode_name((bits >> 11) & 0xF), flags, rcode_name(bits & 0xF), header


def dns_object(msg: Message, kind: str, opts: Options, found: Rendered) -> dict:
    """The `dns` object of a message; `kind` is "query" or "answer"."""
    opt = msg.opt
    op_code, flags, rcode, header = _header_fields(
        msg.flags & _HEADER_BITS, opt is not None and bool(opt.ttl & _DO))
    out: dict = {"type": kind, "id": msg.id, "op_code": op_code, "flags": flags,
                 "response_code": rcode}
    if header:
        out["header_flags"] = header
    if msg.questions:
        out["question"] = _question_object(msg.questions[0])
    if opt is not None:
        out["opt"] = format_opt(msg.raw, opt)
    answers = msg.answers
    out["answers_count"] = len(answers)
    if answers:
        listed = _records(msg.raw, answers, found, True)
        if listed:
            out["answers"] = listed
        if found.resolved_ips:
            out["resolved_ip"] = found.resolved_ips
    out["authorities_count"] = len(msg.authorities)
    if opts.include_authorities and msg.authorities:
        authorities = _records(msg.raw, msg.authorities, found, collect_ips=False)
        if authorities:
            out["authorities"] = authorities
    out["additionals_count"] = len(msg.additionals) - (1 if opt is not None else 0)
    if opts.include_additionals and msg.additionals:
        additionals = _records(msg.raw, msg.additionals, found, collect_ips=False)
        if additionals:
            out["additionals"] = additionals
    return out


def _rdata(raw: bytes, rec: Record, found: Rendered) -> dict | None:
    try:
        return format_rdata(raw, rec)
    except _DECODE_ERRORS:
        return {"data": _bad_rdata(raw, rec, found)}


def _records(raw: bytes, records: list[Record], found: Rendered, collect_ips: bool) -> list:
    out = []
    ips = found.resolved_ips if collect_ips else None
    for rec in records:
        owner, rtype, rclass, ttl, off, rdlen = rec
        data_of = DATA_ONLY.get(rtype)
        if data_of is None:
            fmt = _rdata(raw, rec, found)
            if fmt is not None:
                out.append({"name": owner, "type": TYPES.get(rtype) or type_name(rtype),
                            "class": CLASSES.get(rclass) or class_name(rclass),
                            "ttl": str(ttl), **fmt})
            continue
        # The common types: the object is built here whole, with no `data` dict to merge.
        # Same keys, same order and same fallback as the general route above.
        try:
            data = data_of(raw, off, off + rdlen)
        except _DECODE_ERRORS:
            data = _bad_rdata(raw, rec, found)
        else:
            if data is None:
                continue
            if ips is not None and rtype in _ADDRESS_TYPES:
                ips.append(data)
        out.append({"name": owner, "type": TYPES.get(rtype) or type_name(rtype),
                    "class": CLASSES.get(rclass) or class_name(rclass), "ttl": str(ttl),
                    "data": data})
    return out


def _bad_rdata(raw: bytes, rec: Record, found: Rendered) -> str:
    """Rdata that does not fit its type: counted, and printed raw as Packetbeat does."""
    found.bad_rdata += 1
    return escape_raw(raw[rec.rdata_off:rec.rdata_off + rec.rdlen])


def _rr_text(raw: bytes, rec: Record) -> str:
    """Packetbeat's rrToString: the string-valued extras sorted by key, then the data
    (integer extras such as MX preference are not printed, as in Packetbeat)."""
    fmt = _rdata(raw, rec, Rendered()) or {}
    data = fmt.pop("data", None)
    text = "".join(f"{key} {value}, " for key, value in sorted(fmt.items())
                   if isinstance(value, str))
    if data is None:
        return text[:-2] if text.endswith(", ") else text
    return text + str(data)


def message_text(msg: Message) -> str:
    """`request`/`response` for send_request/send_response (Packetbeat's dnsToString)."""
    flags = " ".join(name.lower() for name, mask in _HEADER_FLAGS if msg.flag(mask))
    kind = "response" if msg.is_response else "query"
    parts = [f"ID {msg.id}; QR {kind}; OPCODE {opcode_name(msg.opcode)}; FLAGS {flags}; "
             f"RCODE {rcode_name(msg.rcode)}"]
    if msg.questions:
        parts.append("QUESTION " + "; ".join(question_text(q) for q in msg.questions))
    for title, records in (("ANSWER", msg.answers), ("AUTHORITY", msg.authorities),
                           ("ADDITIONAL", msg.additionals)):
        if records:
            parts.append(title + " " + "; ".join(_rr_text(msg.raw, r) for r in records))
    return "; ".join(parts)


class Options:
    """The config values event building needs (kept apart from the pydantic model)."""

    __slots__ = ("include_authorities", "include_additionals", "send_request",
                 "send_response")

    def __init__(self, config: DnsConfig) -> None:
        self.include_authorities = config.include_authorities
        self.include_additionals = config.include_additionals
        self.send_request = config.send_request
        self.send_response = config.send_response


# Shared by every DNS event, as events are read-only once built (see EventFinisher).
_CATEGORY = ["network"]
_EVENT_TYPE = ["connection", "protocol"]
_OPCODE_TEXTS = tuple(opcode_name(code) for code in range(16))


def dns_event(conn: Conn, query: Sent | None, response: Sent | None, notes: list[str],
              opts: Options) -> tuple[dict, Rendered]:
    """The event of a query/response pair; either message may be missing, never both.

    It is what `to_event` makes of the Transaction these fields describe (the tests hold
    the two equal), built in one go: DNS events are most of what a capture publishes, and
    a Transaction would only be walked once more to be taken apart.
    """
    found = Rendered()
    if response is not None:
        dns = dns_object(response.msg, "answer", opts, found)
        response_bytes = response.length
    else:
        dns = dns_object(query.msg, "query", opts, found)
        response_bytes = 0
    request_bytes = query.length if query is not None else 0
    head = query if query is not None else response
    start_ns = head.ts
    status = "Error"
    if query is not None and response is not None:
        end_ns = response.ts
        stamp, start, end = span_times(start_ns, end_ns)
        event = {"kind": "event", "category": _CATEGORY, "type": _EVENT_TYPE,
                 "dataset": "dns", "start": start, "end": end}
        if end_ns >= start_ns:
            event["duration"] = end_ns - start_ns
        if not response.msg.flags & 0xF:
            status = "OK"
    else:
        stamp, start = start_times(start_ns)
        event = {"kind": "event", "category": _CATEGORY, "type": _EVENT_TYPE,
                 "dataset": "dns", "start": start}
    source, destination, network, related = endpoints(conn, "dns", request_bytes,
                                                      response_bytes, found.resolved_ips)
    out = {"@timestamp": stamp, "type": "dns", "status": status, "event": event,
           "source": source, "destination": destination, "client": source,
           "server": destination, "network": network, "related": {"ip": related},
           "method": _OPCODE_TEXTS[(head.msg.flags >> 11) & 0xF]}
    if head.msg.questions:
        question = head.msg.questions[0]
        out["query"] = question_text(question)
        out["resource"] = question.name
    if opts.send_request and query is not None:
        out["request"] = message_text(query.msg)
    if opts.send_response and response is not None:
        out["response"] = message_text(response.msg)
    if notes:
        out["error"] = {"message": notes[0] if len(notes) == 1 else list(notes)}
    out["dns"] = dns
    return out, found
