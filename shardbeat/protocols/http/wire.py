"""HTTP/1.x wire grammar (RFC 9112): start lines, header blocks, chunk-size lines.

Pure functions over `bytes` copies: no state, no allocation beyond what a bounded block
needs. The incremental framing lives in `parser.py`; what a header means lives in
`message.py`. Packetbeat's acceptance rules are kept where they are looser than the RFC
(a request-target may contain spaces: method ends at the first space, version starts after
the last one) because real clients send such lines and Packetbeat reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

# tchar (RFC 9110 5.6.2) for methods; generous upper bound on its length.
_METHOD = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}\Z")
_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])\Z")
_STATUS = re.compile(rb"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: (.*))?\Z", re.DOTALL)
_CHUNK = re.compile(rb"[ \t]*([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\Z")

# A plausible message start at a line start, for resynchronising after a gap or garbage.
RESYNC_REQUEST = re.compile(
    rb"(?:\A|(?<=\n))[A-Z][A-Z0-9_-]{1,31} [^\r\n]{1,65536}? HTTP/[0-9]\.[0-9]\r?\n")
RESYNC_RESPONSE = re.compile(rb"(?:\A|(?<=\n))HTTP/[0-9]\.[0-9] [0-9]{3}[ \r\n]")
_PROBE_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"OPTIONS ", b"PATCH ",
                  b"CONNECT ", b"TRACE ", b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"COPY ",
                  b"MOVE ", b"LOCK ", b"UNLOCK ", b"REPORT ", b"SEARCH ", b"PURGE ")


class StartLine(NamedTuple):
    """Immutable, so one status line can be shared by every response that sends it."""

    is_request: bool
    version: str
    method: bytes = b""
    target: bytes = b""
    status_code: int = 0
    status_phrase: bytes = b""


# A request line is built once per request: tuple.__new__ straight, not through the
# NamedTuple's Python-level __new__ with its keyword defaults.
_new_line = tuple.__new__


def _version(major: bytes, minor: bytes) -> str:
    # Packetbeat's parseVersion: anything past HTTP/1.2 is not HTTP/1.x and reads as 1.0.
    if major > b"1" or minor > b"2":
        return "1.0"
    return f"{major.decode()}.{minor.decode()}"


# What nearly every request line says, known valid without the regexes.
_COMMON_VERSIONS = {b"HTTP/1.1": "1.1", b"HTTP/1.0": "1.0"}
_COMMON_METHODS = frozenset((b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS",
                             b"PATCH"))

# Status lines repeat ("HTTP/1.1 200 OK"): each distinct one is parsed once. Bounded in
# count and length, so a peer inventing phrases cannot make the cache hold much (~100 KB).
_STATUS_LINES: dict[bytes, StartLine] = {}
_STATUS_LINES_MAX = 1024
_CACHED_LINE_MAX = 64


def parse_start_line(line: bytes) -> StartLine | None:
    """A request line (`METHOD target HTTP/x.y`) or a status line (`HTTP/x.y NNN phrase`)."""
    if line.startswith(b"HTTP/"):
        start = _STATUS_LINES.get(line)
        if start is None:
            start = _status_line(line)
            if start is not None and len(line) <= _CACHED_LINE_MAX \
                    and len(_STATUS_LINES) < _STATUS_LINES_MAX:
                _STATUS_LINES[line] = start
        return start
    first = line.find(b" ")
    last = line.rfind(b" ")
    if first <= 0 or last == first:
        return None
    method, token = line[:first], line[last + 1:]
    version = _COMMON_VERSIONS.get(token)
    if version is None:
        m = _VERSION.match(token)
        if m is None:
            return None
        version = _version(m.group(1), m.group(2))
    if method not in _COMMON_METHODS and not _METHOD.match(method):
        return None
    return _new_line(StartLine, (True, version, method, line[first + 1:last], 0, b""))


def head_end(window: bytes) -> int:
    """Where the header block ends: the end of the first empty line, CRLF or bare LF (RFC
    9112 2.2 lets a recipient accept a bare LF), that is of the first match of
    `\r?\n\r?\n`; -1 if none. Two `find`s instead of that regex, which tries every offset
    and costs ~10x more on a head: the match's first LF is followed by LF or CRLF, and the
    earlier of the two finds is it. CRLF is what heads use, so it is looked for first and
    the bare-LF search stops there (a "\n\n" at `crlf - 1` still ends before it), instead
    of scanning the body bytes that share the window."""
    crlf = window.find(b"\n\r\n")
    if crlf < 0:
        lf = window.find(b"\n\n")
        return lf + 2 if lf >= 0 else -1
    lf = window.find(b"\n\n", 0, crlf + 1)
    return lf + 2 if lf >= 0 else crlf + 3


def _status_line(line: bytes) -> StartLine | None:
    m = _STATUS.match(line)
    if m is None:
        return None
    return StartLine(False, _version(m.group(1), m.group(2)),
                     status_code=int(m.group(3)), status_phrase=m.group(4) or b"")


@dataclass(slots=True)
class Head:
    start: StartLine
    headers: list[tuple[str, bytes]]   # (lower-case name, trimmed value), in wire order
    bad_lines: int                      # header lines without a colon, skipped


def parse_head(block: bytes, max_headers: int, start: StartLine | None = None) -> Head | str:
    """Split a complete header block (its start line maybe already parsed); returns the
    reason as a string when it is unusable."""
    # Splitting on "\r?\n": CRLF folded to LF first, which two C calls do faster than re.
    lines = block.replace(b"\r\n", b"\n").split(b"\n")
    if start is None:
        start = parse_start_line(lines[0])
    if start is None:
        return "bad start line"
    headers: list[tuple[str, bytes]] = []
    bad = 0
    for line in lines[1:]:
        if not line:
            continue
        header = _LINES.get(line)
        if header is not None:
            if len(headers) >= max_headers:
                return "too many headers"
            headers.append(header)
            continue
        if line[0] in b" \t":
            # obs-fold (RFC 9112 5.2): the continuation joins the previous value.
            if headers:
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip(b" \t"))
            else:
                bad += 1
            continue
        raw_name, colon, value = line.partition(b":")
        if not colon or not raw_name:
            bad += 1
            continue
        if len(headers) >= max_headers:
            return "too many headers"
        name = _NAMES.get(raw_name)
        if name is None:
            name = _header_name(raw_name)
        header = (name, value.strip(b" \t"))
        if len(line) <= _CACHED_HEADER_MAX and len(_LINES) < _LINES_MAX:
            _LINES[line] = header
        headers.append(header)
    return Head(start, headers, bad)


# Whole header lines repeat even more than names ("Connection: keep-alive", a client's
# User-Agent, a server's Host): each short line seen is kept split, so it costs one dict
# lookup instead of a partition, a name lookup and a strip. Only lines that split as
# `name: value` are kept (an obs-fold line never is). Bounded (~3 MB at most).
_LINES: dict[bytes, tuple[str, bytes]] = {}
_LINES_MAX = 8192
_CACHED_HEADER_MAX = 160


# Header names repeat across messages: the lower-cased text of each spelling seen is kept,
# so a name costs one dict lookup instead of three conversions. Bounded in count and
# length (~1 MB at most) against a peer inventing names.
_NAMES: dict[bytes, str] = {}
_NAMES_MAX = 4096
_CACHED_NAME_MAX = 64


def _header_name(raw: bytes) -> str:
    name = raw.rstrip(b" \t").lower().decode("latin-1")
    if len(raw) <= _CACHED_NAME_MAX and len(_NAMES) < _NAMES_MAX:
        _NAMES[raw] = name
    return name


def parse_chunk_size(line: bytes) -> int | None:
    """`chunk-size [; extensions]` → size, or None when the line is not one."""
    m = _CHUNK.match(line)
    return int(m.group(1), 16) if m else None


def comma_list(value: bytes) -> list[str]:
    """`gzip, Chunked` → ["gzip", "chunked"] (Packetbeat's parseCommaSeparatedList)."""
    return [part.strip(b" \t").lower().decode("latin-1") for part in value.split(b",")]


def looks_like_start(data: bytes, is_request: bool) -> bool:
    """Does `data` begin (after blank lines) like a request or a status line? Used to find
    the way back into a stream after a gap, and by `probe` on unconfigured ports."""
    data = data.lstrip(b"\r\n")
    if not data:
        return False
    if not is_request:
        return data.startswith(b"HTTP/1.") if len(data) >= 7 else b"HTTP/1.".startswith(data)
    if any(data.startswith(m) for m in _PROBE_METHODS):
        return True
    return RESYNC_REQUEST.match(data) is not None
