"""The EDNS OPT pseudo-record (RFC 6891) → `dns.opt.*` as Packetbeat 8.x publishes it.

The OPT record's class is the sender's UDP payload size and its TTL carries the extended
rcode, the version and the DO bit. Options are printed as miekg/dns's `String()` does;
Packetbeat stores EXPIRE and every unknown option under `local` (the last one wins), and
ignores keepalive, padding and extended errors. A malformed option is skipped.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from shardbeat.protocols.dns.names import algorithm_name, hash_name, rcode_name
from shardbeat.protocols.dns.rdata import ip_text
from shardbeat.protocols.dns.wire import Record

_OPTION_HEAD = struct.Struct("!HH")
_IGNORED_OPTIONS = frozenset((11, 12, 15))  # tcp-keepalive, padding, extended error


def opt_flags(ttl: int) -> tuple[int, int, bool]:
    """(extended rcode, version, DO) from the OPT TTL."""
    return ((ttl >> 24) & 0xFF) << 4, (ttl >> 16) & 0xFF, bool(ttl & 0x8000)


def format_opt(msg: bytes, rec: Record) -> dict:
    """`dns.opt`; without options, the object shared by every OPT record with the same TTL
    and size (events are read-only once built)."""
    if not rec.rdlen:
        return _bare_opt(rec.ttl, rec.rclass)
    out = dict(_bare_opt(rec.ttl, rec.rclass))
    off, end = rec.rdata_off, rec.rdata_off + rec.rdlen
    while off + 4 <= end:
        code, length = _OPTION_HEAD.unpack_from(msg, off)
        off += 4
        if off + length > end:
            break
        if code not in _IGNORED_OPTIONS:
            key, text = _option(code, msg[off:off + length])
            if key:
                out[key] = text
        off += length
    return out


@lru_cache(maxsize=256)
def _bare_opt(ttl: int, udp_size: int) -> dict:
    """`dns.opt` without options."""
    ext_rcode, version, do = opt_flags(ttl)
    return {"version": str(version), "do": do, "ext_rcode": rcode_name(ext_rcode),
            "udp_size": udp_size}


def _option(code: int, data: bytes) -> tuple[str | None, str]:
    if code == 3:
        return "nsid", data.hex()
    if code == 8:
        return ("subnet", _subnet(data)) if len(data) >= 4 else (None, "")
    if code == 10:
        return "cookie", data.hex()
    if code in (5, 6, 7):
        names = algorithm_name if code == 5 else hash_name
        return ("dau", "dhu", "n3u")[code - 5], "".join(" " + names(b) for b in data)
    if code == 2 and len(data) >= 4:
        return "ul", str(struct.unpack_from("!I", data)[0])
    if code == 1 and len(data) == 18:
        version, opcode, error, ident, lease = struct.unpack("!HHHQI", data)
        return "llq", f"{version} {opcode} {error} {ident} {lease}"
    if code == 9:
        return "local", str(struct.unpack("!I", data)[0]) if len(data) == 4 else ""
    if code in (1, 2):
        return None, ""
    return "local", f"{code}:0x{data.hex()}"


def _subnet(data: bytes) -> str:
    family, source, scope = struct.unpack_from("!HBB", data)
    address = data[4:]
    if family == 1:
        text = ip_text(address[:4].ljust(4, b"\0"))
    elif family == 2:
        text = "[" + ip_text(address[:16].ljust(16, b"\0")) + "]"
    else:
        text = "<nil>"
    return f"{text}/{source}/{scope}"
