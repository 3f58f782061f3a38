"""Resource-record data → the `data` string and extra keys Packetbeat 8.x publishes.

Packetbeat formats A, AAAA, CNAME, DNSKEY, DS, MX, NS, NSEC, NSEC3, NSEC3PARAM, PTR, RRSIG,
SOA, SRV and TXT itself; every other type (CAA, HINFO, SPF, DNAME, SVCB, ...) is printed as
its uncompressed wire rdata with unprintable bytes escaped (its `hexStringToString`). Names
lose their trailing dot where Packetbeat trims them (not NSEC's next name). A record whose
rdata does not fit its type raises `Malformed`; the caller falls back to the raw form.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import struct
import time
from typing import Callable

from shardbeat.protocols.dns.names import algorithm_name, hash_name, type_name
from shardbeat.protocols.dns.wire import Malformed, Record, read_name, trim_dot

_U16 = struct.Struct("!H")
_SOA_TAIL = struct.Struct("!IIIII")
_SRV_HEAD = struct.Struct("!HHH")
_DNSKEY_HEAD = _DS_HEAD = struct.Struct("!HBB")
_RRSIG_HEAD = struct.Struct("!HBBIIIH")
_NSEC3_HEAD = struct.Struct("!BBHB")


def _raw_escapes() -> tuple[str, ...]:
    table = []
    for byte in range(256):
        char = chr(byte)
        if char in "\"\\":
            table.append("\\" + char)
        elif char in "\t\r\n":
            table.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}[char])
        elif byte < 32 or byte >= 127:
            table.append(f"\\{byte:03d}")
        else:
            table.append(char)
    return tuple(table)


def _txt_escapes() -> tuple[str, ...]:
    return tuple("\\" + chr(b) if chr(b) in "\"\\" else
                 (f"\\{b:03d}" if b < 32 or b > 126 else chr(b)) for b in range(256))


_RAW_ESCAPES = _raw_escapes()
_TXT_ESCAPES = _txt_escapes()


def escape_raw(raw: bytes) -> str:
    """Packetbeat's hexStringToString: the rdata of a type it has no formatter for."""
    return "".join([_RAW_ESCAPES[b] for b in raw])


_inet_ntop = socket.inet_ntop
_AF_INET = socket.AF_INET
_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"
_ZERO_PREFIX = b"\0" * 10


def ip_text(packed: bytes) -> str:
    """An address as Go's net.IP.String prints it (IPv4-mapped IPv6 prints as IPv4)."""
    if len(packed) == 4:
        return socket.inet_ntop(socket.AF_INET, packed)
    if packed[:10] != _ZERO_PREFIX:
        # inet_ntop compresses zeros as Go does (RFC 5952) at a tenth of ipaddress's cost;
        # only where the first 80 bits are zero does it print an embedded IPv4 and Go not.
        return socket.inet_ntop(socket.AF_INET6, packed)
    if packed[:12] == _MAPPED_PREFIX:
        return socket.inet_ntop(socket.AF_INET, packed[12:])
    return ipaddress.IPv6Address(packed).compressed


def _name_in(msg: bytes, off: int, end: int) -> tuple[str, int]:
    name, nxt = read_name(msg, off)
    if nxt > end:
        raise Malformed("name runs past the rdata")
    return name, nxt


def _need(off: int, size: int, end: int) -> None:
    if off + size > end:
        raise Malformed("rdata too short for its type")


def _ipv4(msg: bytes, off: int, end: int) -> str | None:
    if end - off != 4:
        if end == off:
            return None  # Packetbeat leaves an A record without an address out
        raise Malformed("address of the wrong length")
    return _inet_ntop(_AF_INET, msg[off:end])


def _ipv6(msg: bytes, off: int, end: int) -> str | None:
    if end - off != 16:
        if end == off:
            return None
        raise Malformed("address of the wrong length")
    return ip_text(msg[off:end])


def _left_out(msg: bytes, off: int, end: int) -> None:
    return None  # OPT: published as `dns.opt`, not as a record


def _one_name(msg: bytes, off: int, end: int) -> str:
    # CNAME, NS, PTR: among the commonest records, so `_name_in` and `trim_dot` are
    # written out (a name read always ends in a dot; the root's stays).
    name, nxt = read_name(msg, off)
    if nxt > end:
        raise Malformed("name runs past the rdata")
    return name[:-1] if len(name) > 1 else name


def _mx(msg: bytes, off: int, end: int) -> dict:
    _need(off, 2, end)
    (preference,) = _U16.unpack_from(msg, off)
    return {"data": trim_dot(_name_in(msg, off + 2, end)[0]), "preference": preference}


def _soa(msg: bytes, off: int, end: int) -> dict:
    mname, off = _name_in(msg, off, end)
    rname, off = _name_in(msg, off, end)
    _need(off, 20, end)
    serial, refresh, retry, expire, minimum = _SOA_TAIL.unpack_from(msg, off)
    return {"data": trim_dot(mname), "rname": trim_dot(rname), "serial": serial,
            "refresh": refresh, "retry": retry, "expire": expire, "minimum": minimum}


def _srv(msg: bytes, off: int, end: int) -> dict:
    _need(off, 6, end)
    priority, weight, port = _SRV_HEAD.unpack_from(msg, off)
    target = trim_dot(_name_in(msg, off + 6, end)[0])
    return {"data": target, "priority": priority, "weight": weight, "port": port}


def character_strings(msg: bytes, off: int, end: int) -> list[str]:
    out = []
    while off < end:
        length = msg[off]
        off += 1
        _need(off, length, end)
        out.append("".join([_TXT_ESCAPES[b] for b in msg[off:off + length]]))
        off += length
    return out


def _txt(msg: bytes, off: int, end: int) -> dict:
    return {"data": " ".join(character_strings(msg, off, end))}


def _dnskey(msg: bytes, off: int, end: int) -> dict:
    _need(off, 4, end)
    flags, protocol, algorithm = _DNSKEY_HEAD.unpack_from(msg, off)
    return {"data": base64.b64encode(msg[off + 4:end]).decode("ascii"), "flags": str(flags),
            "protocol": str(protocol), "algorithm": algorithm_name(algorithm)}


def _ds(msg: bytes, off: int, end: int) -> dict:
    _need(off, 4, end)
    key_tag, algorithm, digest_type = _DS_HEAD.unpack_from(msg, off)
    return {"data": msg[off + 4:end].hex().upper(), "key_tag": str(key_tag),
            "algorithm": algorithm_name(algorithm), "digest_type": hash_name(digest_type)}


def _rrsig(msg: bytes, off: int, end: int) -> dict:
    _need(off, 18, end)
    covered, algorithm, labels, original_ttl, expiration, inception, key_tag = \
        _RRSIG_HEAD.unpack_from(msg, off)
    signer, off = _name_in(msg, off + 18, end)
    return {"data": base64.b64encode(msg[off:end]).decode("ascii"),
            "type_covered": type_name(covered), "algorithm": algorithm_name(algorithm),
            "labels": str(labels), "original_ttl": str(original_ttl),
            "expiration": _sig_time(expiration), "inception": _sig_time(inception),
            "key_tag": str(key_tag), "signer_name": trim_dot(signer)}


def _sig_time(value: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(value))


def type_bitmap(msg: bytes, off: int, end: int) -> str:
    """RFC 4034 4.1.2 windows → "A NS SOA ..." (Packetbeat's dnsTypeBitsMapToString)."""
    names = []
    while off < end:
        _need(off, 2, end)
        window, length = msg[off], msg[off + 1]
        off += 2
        if not 1 <= length <= 32:
            raise Malformed("bad type bitmap window length")
        _need(off, length, end)
        for index, octet in enumerate(msg[off:off + length]):
            for bit in range(8):
                if octet & (0x80 >> bit):
                    names.append(type_name(window * 256 + index * 8 + bit))
        off += length
    return " ".join(names)


def _nsec(msg: bytes, off: int, end: int) -> dict:
    next_name, off = _name_in(msg, off, end)
    # Packetbeat leaves NSEC's next domain name with its trailing dot.
    return {"data": next_name, "type_bits": type_bitmap(msg, off, end)}


def _salt(msg: bytes, off: int, end: int) -> tuple[str, int, int, int, int]:
    _need(off, 5, end)
    hash_alg, flags, iterations, salt_len = _NSEC3_HEAD.unpack_from(msg, off)
    off += 5
    _need(off, salt_len, end)
    salt = msg[off:off + salt_len].hex().upper() or "-"
    return salt, hash_alg, flags, iterations, off + salt_len


def _nsec3(msg: bytes, off: int, end: int) -> dict:
    salt, hash_alg, flags, iterations, off = _salt(msg, off, end)
    _need(off, 1, end)
    hash_len = msg[off]
    off += 1
    _need(off, hash_len, end)
    next_hashed = base64.b32hexencode(msg[off:off + hash_len]).decode("ascii")
    return {"data": next_hashed, "hash": hash_name(hash_alg), "flags": str(flags),
            "iterations": str(iterations), "salt": salt,
            "type_bits": type_bitmap(msg, off + hash_len, end)}


def _nsec3param(msg: bytes, off: int, end: int) -> dict:
    salt, hash_alg, flags, iterations, _ = _salt(msg, off, end)
    return {"data": salt, "hash": hash_name(hash_alg), "flags": str(flags),
            "iterations": str(iterations)}


# Types whose record has no key but `data`, the most common ones among them: their
# formatter gives the text alone (None: the record is left out), so a caller that builds the
# record's object anyway need not build and merge a one-key dict per record.
DATA_ONLY: dict[int, Callable[[bytes, int, int], str | None]] = {
    1: _ipv4, 28: _ipv6, 5: _one_name, 2: _one_name, 12: _one_name, 41: _left_out,
}

_FORMATTERS: dict[int, Callable[[bytes, int, int], dict]] = {
    15: _mx, 6: _soa, 33: _srv, 16: _txt, 48: _dnskey, 43: _ds, 46: _rrsig, 47: _nsec,
    50: _nsec3, 51: _nsec3param,
}

# Types Packetbeat prints raw but whose names miekg decompresses before re-packing them
# uncompressed: the layout says where the names are ("n" name, "2"/"4" fixed bytes,
# "s" character string).
_NAME_LAYOUTS: dict[int, str] = {
    3: "n", 4: "n", 7: "n", 8: "n", 9: "n", 39: "n", 23: "n", 14: "nn", 17: "nn",
    58: "nn", 18: "2n", 21: "2n", 36: "2n", 107: "2n", 26: "2nn", 35: "22sssn",
}


def uncompressed_rdata(msg: bytes, rec: Record) -> bytes:
    """The rdata as miekg re-packs it for an unformatted type: names written out whole."""
    off, end = rec.rdata_off, rec.rdata_off + rec.rdlen
    layout = _NAME_LAYOUTS.get(rec.rtype)
    if layout is None:
        return msg[off:end]
    out = bytearray()
    for part in layout:
        if part == "n":
            name, off = _name_in(msg, off, end)
            out += name_to_wire(name)
        else:
            size = int(part) if part != "s" else (msg[off] + 1 if off < end else 1)
            _need(off, size, end)
            out += msg[off:off + size]
            off += size
    return bytes(out + msg[off:end])


def name_to_wire(name: str) -> bytes:
    """Presentation name (as `read_name` returns it) back to uncompressed wire form."""
    out = bytearray()
    label = bytearray()
    i, size = 0, len(name)
    while i < size:
        char = name[i]
        if char == "\\" and i + 1 < size:
            if name[i + 1].isdigit() and i + 3 < size:
                label.append(int(name[i + 1:i + 4]))
                i += 4
                continue
            label += name[i + 1].encode("latin-1")
            i += 2
            continue
        if char == ".":
            if label:
                out.append(len(label))
                out += label
            label = bytearray()
        else:
            label += char.encode("latin-1")
        i += 1
    if label:
        out.append(len(label))
        out += label
    out.append(0)
    return bytes(out)


def format_rdata(msg: bytes, rec: Record) -> dict | None:
    """`{"data": ..., extra keys}` for one record, or None when Packetbeat leaves the record
    out of the list (OPT, and A/AAAA without an address)."""
    off = rec.rdata_off
    data_of = DATA_ONLY.get(rec.rtype)
    if data_of is not None:
        data = data_of(msg, off, off + rec.rdlen)
        return None if data is None else {"data": data}
    fmt = _FORMATTERS.get(rec.rtype)
    if fmt is None:
        return {"data": escape_raw(uncompressed_rdata(msg, rec))}
    return fmt(msg, off, off + rec.rdlen)
