"""DNS message grammar (RFC 1035 4.1): header, questions, resource records.

Pure and bounded: a name follows at most `MAX_POINTERS` compression pointers and spans at
most `MAX_NAME_OCTETS`, so a pointer loop or a hostile name costs a few hundred steps. The
decoder is as lenient as miekg/dns (which Packetbeat uses): section counts larger than the
data are cut at a record boundary. Where a record is cut mid-way, what came before it is
kept and the message is marked `incomplete`, so a snaplen-truncated response still pairs.
Rdata stays as offsets into the message; `rdata.py` formats it when an event is built.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import NamedTuple

HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
_RR_TAIL = struct.Struct("!HHIH")
HEADER_LEN = HEADER.size
TYPE_OPT = 41

# miekg/dns's bounds: a 255-octet name can hold at most 126 pointers that each make progress.
MAX_POINTERS = 126
MAX_NAME_OCTETS = 255


class Malformed(Exception):
    """Raised inside the decoder only; `decode` turns it into `Message.incomplete`."""


def _label_escapes() -> tuple[str, ...]:
    # Presentation format as miekg/dns prints labels: specials backslash-escaped,
    # unprintable bytes as \DDD.
    table = []
    for byte in range(256):
        char = chr(byte)
        if byte < 0x20 or byte > 0x7E:
            table.append(f"\\{byte:03d}")
        elif char in ".' @;()\"\\":
            table.append("\\" + char)
        else:
            table.append(char)
    return tuple(table)


_LABEL_ESCAPES = _label_escapes()
_PLAIN_LABEL_BYTES = bytes(b for b in range(0x21, 0x7F) if chr(b) not in ".'@;()\"\\")


_PLAIN_NAME_BYTES = _PLAIN_LABEL_BYTES + b"."


def _name_text(labels: list[bytes]) -> str:
    if not labels:
        return "."
    joined = b".".join(labels)
    # Fast path: printable, nothing to escape, and no dot inside a label.
    if not joined.translate(None, _PLAIN_NAME_BYTES) and \
            joined.count(b".") == len(labels) - 1:
        return joined.decode("ascii") + "."
    return ".".join(["".join([_LABEL_ESCAPES[b] for b in label]) for label in labels]) + "."


def read_name(msg: bytes, off: int) -> tuple[str, int]:
    """The name at `off` in presentation form with a trailing dot ("." for the root), and
    the offset just past it in place (a pointer ends the name where it stands)."""
    found = _plain_at(msg, off)
    return found if found is not None else _walk_name(msg, off)


def _plain_at(msg: bytes, off: int) -> tuple[str, int] | None:
    # Most names are written out whole and recur (the question, in the query and again in
    # its response; popular names in every message): read those by their wire bytes.
    end = msg.find(0, off, off + MAX_NAME_OCTETS)
    if end < 0:
        return None
    text = _plain_name(msg[off:end + 1])
    return None if text is None else (text, end + 1)


@lru_cache(maxsize=4096)
def _plain_name(wire: bytes) -> str | None:
    """The text of `wire` when it is exactly one uncompressed name (labels, then the zero
    octet, at most 255 octets), else None and `_walk_name` decides. Pure, so memoised."""
    last = len(wire) - 1
    labels: list[bytes] = []
    off = 0
    while off < last:
        length = wire[off]
        if length == 0 or length & 0xC0:
            return None
        start = off + 1
        off = start + length
        labels.append(wire[start:off])
    if off != last:
        return None
    return _name_text(labels)


def _walk_name(msg: bytes, off: int) -> tuple[str, int]:
    size = len(msg)
    labels: list[bytes] = []
    resume = -1
    pointers = 0
    octets = 1
    while True:
        if off >= size:
            raise Malformed("name runs past the message")
        length = msg[off]
        if length == 0:
            off += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if off + 1 >= size:
                raise Malformed("compression pointer cut short")
            pointers += 1
            if pointers > MAX_POINTERS:
                raise Malformed("too many compression pointers")
            if resume < 0:
                resume = off + 2
            off = ((length & 0x3F) << 8) | msg[off + 1]
            continue
        if kind:
            raise Malformed("unsupported label type")
        octets += length + 1
        if octets > MAX_NAME_OCTETS:
            raise Malformed("name longer than 255 octets")
        start = off + 1
        off = start + length
        if off > size:
            raise Malformed("label runs past the message")
        labels.append(msg[start:off])
    return _name_text(labels), (resume if resume >= 0 else off)


class Question(NamedTuple):
    name: str   # trailing dot removed, as Packetbeat 8 normalises question names
    qtype: int
    qclass: int


class Record(NamedTuple):
    name: str   # the owner, trailing dot removed as Packetbeat prints it ("." for the root)
    rtype: int
    rclass: int
    ttl: int
    rdata_off: int
    rdlen: int


class Message:
    """One decoded DNS message; `raw` is kept because rdata names point into it."""

    __slots__ = ("raw", "id", "flags", "questions", "answers", "authorities", "additionals",
                 "opt", "incomplete")

    def __init__(self, raw: bytes, msg_id: int, flags: int) -> None:
        self.raw = raw
        self.id = msg_id
        self.flags = flags
        self.questions: list[Question] = []
        self.answers: list[Record] = []
        self.authorities: list[Record] = []
        self.additionals: list[Record] = []
        self.opt: Record | None = None
        self.incomplete = False

    @property
    def is_response(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    def flag(self, mask: int) -> bool:
        return bool(self.flags & mask)

    def is_empty(self) -> bool:
        """Header only: Packetbeat rejects these as not DNS (miekg's `Len() <= 12`)."""
        return not (self.questions or self.answers or self.authorities or self.additionals)


# Header flag bits (RFC 1035 4.1.1, RFC 4035 3.2).
AA, TC, RD, RA, AD, CD = 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010


_ID_FLAGS = struct.Struct("!HH")
_EMPTY_ROOT_RR = 1 + _RR_TAIL.size  # root owner, type, class, ttl, rdlength 0
_new_message = object.__new__
# What a query usually is, and all `_query_sections` keeps: one question, no answer or
# authority, at most one additional (OPT), in at most this many bytes. Each kept body thus
# costs well under a kilobyte.
_ONE_QUESTION = b"\0\1\0\0\0\0\0"
_QUERY_CACHE_MAX = 300


def decode(raw: bytes) -> Message | None:
    """Decode one whole message; None when even the 12-byte header is missing.

    Decoded messages are read-only: a query shares its sections with the other queries of
    the same body (see `_query_sections`)."""
    if len(raw) < HEADER_LEN:
        return None
    if raw[2] & 0x80 or len(raw) > _QUERY_CACHE_MAX or raw[11] > 1 or \
            raw[4:11] != _ONE_QUESTION:
        return _decode(raw)
    sections = _query_sections(raw[4:])
    if sections is None:
        return _decode(raw)
    msg = _new_message(Message)
    msg.raw = raw
    msg.id, msg.flags = _ID_FLAGS.unpack_from(raw, 0)
    msg.questions, msg.answers, msg.authorities, msg.additionals, msg.opt, \
        msg.incomplete = sections
    return msg


@lru_cache(maxsize=4096)
def _query_sections(body: bytes) -> tuple | None:
    """The sections of a query whose bytes after the id and flags are `body`: a resolver
    asks the same question in the same bytes again and again, and only the id differs
    (the flags rarely do), so each distinct body is decoded once. The offsets in its
    records are those of every message with this body.

    None unless the question's name is written out whole and the additional (if any) is
    owned by the root: a compression pointer could reach into the id and flags, which
    would make the sections depend on more than `body`."""
    raw = bytes(4) + body
    end = raw.find(0, HEADER_LEN, HEADER_LEN + MAX_NAME_OCTETS) + 5
    if end <= HEADER_LEN + 4 or end > len(raw) or _plain_question(raw[HEADER_LEN:end]) is None:
        return None
    if raw[11] and end < len(raw) and raw[end]:
        return None
    msg = _decode(raw)
    return (msg.questions, msg.answers, msg.authorities, msg.additionals, msg.opt,
            msg.incomplete)


def _decode(raw: bytes) -> Message:
    msg_id, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(raw, 0)
    msg = Message(raw, msg_id, flags)
    off = HEADER_LEN
    owners: dict[int, str] = {}  # most owner names are one pointer to the same place
    try:
        off = _questions(raw, off, qdcount, msg.questions, owners)
        if ancount:
            off = _records(raw, off, ancount, msg.answers, owners)
        if nscount:
            off = _records(raw, off, nscount, msg.authorities, owners)
        if arcount == 1 and len(raw) - off == _EMPTY_ROOT_RR and not raw[off]:
            # What nearly every EDNS message ends with: one root-owned record with empty
            # rdata (OPT without options), read in place as `_records` would read it.
            rtype, rclass, ttl, rdlen = _RR_TAIL.unpack_from(raw, off + 1)
            if rdlen:
                raise Malformed("rdata runs past the message")
            msg.additionals.append(
                _new_record(Record, (".", rtype, rclass, ttl, off + _EMPTY_ROOT_RR, 0)))
        elif arcount:
            off = _records(raw, off, arcount, msg.additionals, owners)
    except Malformed:
        msg.incomplete = True
    additionals = msg.additionals
    if additionals:
        last = additionals[-1]  # where OPT nearly always is
        msg.opt = last if last[1] == TYPE_OPT else _last_opt(additionals)
    return msg


def _last_opt(additionals: list[Record]) -> Record | None:
    # RFC 6891 6.1.1 lets OPT sit anywhere in the section; miekg takes the last one.
    for rec in reversed(additionals):
        if rec.rtype == TYPE_OPT:
            return rec
    return None


def _questions(raw: bytes, off: int, count: int, out: list[Question],
               owners: dict[int, str]) -> int:
    size = len(raw)
    for _ in range(count):
        if off >= size:  # the count was a lie; miekg stops here without an error
            break
        # A question written out whole is read by its wire bytes: a query's question comes
        # back in its response, and popular questions are asked over and over.
        end = raw.find(0, off, off + MAX_NAME_OCTETS) + 5  # past qtype and qclass
        question = _plain_question(raw[off:end]) if 4 < end <= size else None
        if question is not None:
            if off == HEADER_LEN:
                # Answers' owners nearly always point at this name: what they read there
                # is its text, trimmed as the question's is.
                owners[off] = question.name
            off = end
        else:
            name, off = read_name(raw, off)
            if off + 4 > size:
                raise Malformed("question cut short")
            qtype, qclass = _QUESTION_TAIL.unpack_from(raw, off)
            off += 4
            question = Question(trim_dot(name), qtype, qclass)
        out.append(question)
    return off


@lru_cache(maxsize=4096)
def _plain_question(wire: bytes) -> Question | None:
    """The question `wire` holds when its name is written out whole (see `_plain_name`)."""
    name = _plain_name(wire[:-4])
    if name is None:
        return None
    qtype, qclass = _QUESTION_TAIL.unpack_from(wire, len(wire) - 4)
    return Question(trim_dot(name), qtype, qclass)


# Record(...) runs a Python-level __new__ (a quarter of a microsecond); the same tuple built
# by tuple.__new__ is the same Record, and a response builds several per message.
_new_record = tuple.__new__


def _records(raw: bytes, off: int, count: int, out: list[Record],
             owners: dict[int, str]) -> int:
    size = len(raw)
    unpack = _RR_TAIL.unpack_from
    append = out.append
    for _ in range(count):
        if off >= size:
            break
        first = raw[off]
        if first >= 0xC0 and off + 1 < size:
            target = ((first & 0x3F) << 8) | raw[off + 1]
            name = owners.get(target)
            if name is None:
                # Usually the question name, written out whole where it points.
                found = _plain_at(raw, target)
                name = owners[target] = trim_dot((found or _walk_name(raw, off))[0])
            off += 2
        elif first == 0:  # the root: every OPT record's owner
            name = "."
            off += 1
        else:
            name, off = read_name(raw, off)
            name = trim_dot(name)
        rdata_off = off + 10
        if rdata_off > size:
            raise Malformed("record header cut short")
        rtype, rclass, ttl, rdlen = unpack(raw, off)
        off = rdata_off + rdlen
        if off > size:
            raise Malformed("rdata runs past the message")
        append(_new_record(Record, (name, rtype, rclass, ttl, rdata_off, rdlen)))
    return off


def trim_dot(name: str) -> str:
    """Packetbeat's trimRightDot: drop one trailing dot, but keep the root as "."."""
    if len(name) > 1 and name[-1] == ".":
        return name[:-1]
    return name
