"""URL pieces as Packetbeat computes them with Go's net/url, so `url.*`, `path` and
`url.query` (alias `http.request.params`) come out byte-identical.

- the request-target is parsed like `url.Parse`: a control character or a bad `%` escape in
  the path makes it unusable (path and params empty, as Packetbeat's extractParameters);
- params are `url.Values` from the query string, merged with a form-urlencoded body, secret
  keys (`hide_keywords`) replaced by `xxxxx`, re-encoded sorted by key (`Values.Encode`);
- `url.full` is rebuilt from scheme, Host header, escaped path and params
  (synthesizeFullURL), never copied from the wire.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, quote_plus, unquote_to_bytes

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*:")
_PATH_SAFE = "$&+,/:;=@"
_HOST_SAFE = "!$&'()*+,;=:[]<>\""
SECRET = b"xxxxx"
# What quote/quote_plus never escape (urllib's _ALWAYS_SAFE, Go's unreserved set).
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_PATH_OK = _UNRESERVED + _PATH_SAFE.encode()
_HOST_OK = _UNRESERVED + _HOST_SAFE.encode()


class BadURL(Exception):
    pass


def _unescape(raw: bytes, plus_is_space: bool) -> bytes:
    if b"%" not in raw:
        # Nothing escaped (most paths and params): unquoting would return it as it is.
        return raw.replace(b"+", b" ") if plus_is_space else raw
    if _BAD_ESCAPE.search(raw):
        raise BadURL("invalid URL escape")
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    return unquote_to_bytes(raw)


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """Request-target → (decoded path, raw query). Raises BadURL as `url.Parse` errs."""
    if _CONTROL.search(target):
        raise BadURL("invalid control character in URL")
    rest, _, frag = target.partition(b"#")
    _unescape(frag, False)
    if rest == b"*":
        return b"*", b""
    scheme = _SCHEME.match(rest)
    if scheme:
        rest = rest[scheme.end():]
    rest, _, query = rest.partition(b"?")
    if not rest.startswith(b"/"):
        if scheme:
            return b"", query  # opaque URL ("mailto:x"): Go leaves Path empty
        if b":" in rest.split(b"/", 1)[0]:
            raise BadURL("first path segment in URL cannot contain colon")
    elif rest.startswith(b"//") and (scheme or not rest.startswith(b"///")):
        slash = rest.find(b"/", 2)
        rest = rest[slash:] if slash >= 0 else b""
    return _unescape(rest, False), query


def parse_query(raw: bytes, values: dict[bytes, list[bytes]]) -> bool:
    """Add `a=1&b=2` pairs to `values` (Go's parseQuery); False if any pair was bad."""
    ok = True
    for pair in raw.split(b"&"):
        if not pair:
            continue
        if b";" in pair:
            ok = False
            continue
        key, _, value = pair.partition(b"=")
        try:
            key, value = _unescape(key, True), _unescape(value, True)
        except BadURL:
            ok = False
            continue
        values.setdefault(key, []).append(value)
    return ok


def hide_secrets(values: dict[bytes, list[bytes]], keywords: frozenset[str]) -> None:
    if not keywords:
        return
    for key, vals in values.items():
        if key.decode("utf-8", "replace").lower() in keywords:
            values[key] = [SECRET] * len(vals)


def _query_escape(raw: bytes) -> str:
    """Go's `QueryEscape` (`quote_plus` with nothing safe), skipping urllib's layers when
    every byte is unreserved, as in most keys and values."""
    return quote_plus(raw, safe="") if raw.rstrip(_UNRESERVED) else raw.decode("ascii")


def encode_query(values: dict[bytes, list[bytes]]) -> str:
    """Go's `url.Values.Encode`: keys sorted, each value `QueryEscape`d."""
    if not values:
        return ""
    parts = []
    for key in sorted(values):
        k = _query_escape(key)
        parts.extend(f"{k}={_query_escape(v)}" for v in values[key])
    return "&".join(parts)


def parse_ip(text: str) -> str | None:
    """Canonical text of an IP address (Go's net.ParseIP accepts no zone), else None."""
    if "%" in text or not (text[:1].isdigit() or ":" in text):
        return None  # no zone ids (Go's ParseIP has none); host names fail fast
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def split_host(header: str) -> tuple[str, int]:
    """Host header → (host, port or 0), unboxing `[v6]` (Packetbeat's extractHostHeader)."""
    if not header or parse_ip(header):
        return header, 0
    port = 0
    host, colon, tail = header.rpartition(":")
    if colon and tail.isdigit() and 0 < int(tail) < 65536:
        header, port = host, int(tail)
    if len(header) > 2 and header[0] == "[" and header[-1] == "]" and parse_ip(header[1:-1]):
        header = header[1:-1]
    return header, port


def _escape(raw: bytes, ok: bytes, safe: str) -> str:
    """`quote(raw, safe)`, skipping urllib's layers when nothing needs escaping."""
    return quote(raw, safe=safe) if raw.rstrip(ok) else raw.decode("ascii")


def full_url(domain: str, port: int, path: bytes, query: str) -> str:
    """`url.full` as synthesizeFullURL builds it; empty without a Host."""
    if not domain or port <= 0:
        return ""
    host = _escape(domain.encode("utf-8"), _HOST_OK, _HOST_SAFE)
    if port != 80:
        host = f"[{host}]:{port}" if ":" in domain else f"{host}:{port}"
    elif ":" in domain:
        host = f"[{host}]"
    escaped = _escape(path, _PATH_OK, _PATH_SAFE)
    if escaped and not escaped.startswith("/"):
        escaped = "/" + escaped
    return f"http://{host}{escaped}" + (f"?{query}" if query else "")


def extension(path: str) -> str:
    """After the last dot of the path (Packetbeat), omitted when that crosses a `/`."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot + 1:]:
        return ""
    return path[dot + 1:]
