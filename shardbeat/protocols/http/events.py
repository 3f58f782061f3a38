"""A request/response pair → one Packetbeat 8.x HTTP event (packetbeat/protos/http newTransaction).

Field rules kept from Packetbeat: `status` is "Error" when either side is missing or the
status code is ≥ 400; `http.*.headers` always carry `content-length` (a number) and
`content-type` when present, plus the captured headers; `http.*.body.bytes` is the body
length, or the kept (decoded) body's length when the body is sent; `url.port` only when not
80; the Host header fills `destination.domain` (or `related.ip` when it is an address);
the Referer is added to `related.hosts` as Packetbeat does; `status_phrase` lower case;
`error.message` collects the request's notes, then the response's.

Two deliberate differences, both from the brief: `user.name` comes from Basic credentials
whether or not headers are captured, and also when `redact_authorization` is on (decoded
before redaction); `redact_headers` also masks those headers in `request`/`response`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shardbeat.protocols.base import Conn
from shardbeat.protocols.http.body import decode_body, sniff_mime
from shardbeat.protocols.http.message import Message, Options
from shardbeat.protocols.http.urls import (
    BadURL, encode_query, extension, full_url, hide_secrets, parse_ip, parse_query,
    split_host, split_target,
)
from shardbeat.transactions.event import Transaction, to_event

UNMATCHED_REQUEST = "Unmatched request"
UNMATCHED_RESPONSE = "Unmatched response"
# Host headers seen, split (EventBuilder._host): bounded in count and length (~1 MB).
_HOSTS_MAX = 4096
_CACHED_HOST_MAX = 128


def text(raw: bytes | bytearray) -> str:
    # Go's JSON encoder replaces invalid UTF-8 with U+FFFD; so do we.
    return raw.decode("utf-8", "replace")


def basic_user(value: bytes) -> str:
    """The user of `Authorization: Basic base64(user:pass)` (extractBasicAuthUser)."""
    if len(value) < 6 or value[:6].lower() != b"basic ":
        return ""
    token = value[6:]
    try:
        decoded = base64.b64decode(token + b"=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return ""
    user, colon, _ = decoded.partition(b":")
    return text(user) if colon else ""


def redact_raw(raw: bytes, opts: Options, is_request: bool) -> bytes:
    """`redact_authorization` stars the credentials (same length, as Packetbeat) and
    `redact_headers` replaces the value by REDACTED, in the raw header text."""
    auth = opts.redact_authorization and is_request
    if not auth and not opts.redact_headers:
        return raw
    lines = raw.split(b"\n")
    for i, line in enumerate(lines[1:], 1):
        colon = line.find(b":")
        if colon <= 0:
            continue
        name = line[:colon].rstrip(b" \t").lower().decode("latin-1")
        end = len(line) - 1 if line.endswith(b"\r") else len(line)
        if auth and name in ("authorization", "proxy-authorization"):
            lines[i] = line[:colon + 1] + b"*" * (end - colon - 1) + line[end:]
        elif name in opts.redact_headers:
            lines[i] = line[:colon + 1] + b" REDACTED" + line[end:]
    return b"\n".join(lines)


def split_cookies(value: str) -> dict[str, str]:
    cookies = {}
    for part in value.split(";"):
        name, eq, val = part.partition("=")
        if eq:
            val = val.strip()
            if len(val) > 1 and val[0] == '"' and val[-1] == '"':
                val = val[1:-1]
            cookies[name.strip().lower()] = val
    return cookies


def collect_headers(msg: Message, opts: Options) -> dict[str, Any]:
    # The declared length where there is one (a HEAD or 304 answer declares a body it
    # does not send); else what was counted (chunks, or up to the close).
    declared = msg.has_content_length and not msg.chunked
    hdrs: dict[str, Any] = {"content-length": msg.content_length if declared
                            else msg.body_bytes}
    if msg.content_type:
        hdrs["content-type"] = text(msg.content_type)
    if not msg.headers:  # nothing captured (the default)
        return hdrs
    cookie = msg.cookie_name()
    for name, value in msg.headers.items():
        if name in ("content-length", "content-type"):
            continue
        if name in opts.redact_headers:
            hdrs[name] = "REDACTED"
        elif msg.is_request and opts.redact_authorization and name in (
                "authorization", "proxy-authorization"):
            hdrs[name] = "*" if value else ""
        elif opts.split_cookie and name == cookie:
            hdrs[name] = split_cookies(text(value))
        else:
            hdrs[name] = text(value)
    return hdrs


class EventBuilder:
    """Turns finished pairs into events; decoding and sniffing happen here, once."""

    def __init__(self, opts: Options, counters: Any) -> None:
        self.opts = opts
        self.counters = counters
        self._hosts: dict[bytes, tuple[str, int, str | None]] = {}

    def build(self, requ: Message | None, resp: Message | None, conn: Conn) -> dict:
        """The event for a pair; either side may be missing (noted by the caller)."""
        first = requ if requ is not None else resp
        tx = Transaction(type="http", conn=conn, start_ns=first.ts)
        fields: dict[str, Any] = {}
        http: dict[str, Any] = {}
        if requ is not None:
            self._request(requ, tx, http, fields)
        if resp is not None:
            self._response(resp, tx, http)
        tx.notes = (requ.notes if requ else []) + (resp.notes if resp else [])
        if requ is None or resp is None or resp.status_code >= 400:
            tx.status = "Error"
        fields["http"] = http
        tx.fields = fields
        return to_event(tx)

    def _body(self, msg: Message, out: dict[str, Any]) -> bytes:
        """Decode the kept body; fill `body.bytes`, `body.content`, `mime_type`."""
        body = bytes(msg.body) if msg.body else b""
        if body and self.opts.decode_body and msg.encodings:
            body, err = decode_body(body, msg.encodings, self.opts.max_message_size)
            if err:
                msg.note(err)
                self.counters.inc("http_decode_errors")
        part: dict[str, Any] = {}
        if msg.send_body and body:
            part["bytes"] = len(body)
            part["content"] = text(body)
            mime = sniff_mime(body)
            if mime:
                out["mime_type"] = mime
        elif msg.body_bytes:
            part["bytes"] = msg.body_bytes
        if part:
            out["body"] = part
        return body

    def _raw(self, msg: Message, body: bytes) -> str:
        raw = redact_raw(msg.raw_head, self.opts, msg.is_request)
        return text(raw + body) if msg.send_body else text(raw)

    def _request(self, requ: Message, tx: Transaction, http: dict, fields: dict) -> None:
        opts = self.opts
        out: dict[str, Any] = {"method": text(requ.method), "bytes": requ.size}
        body = self._body(requ, out)
        path, params = self._params(requ, body)
        out["headers"] = collect_headers(requ, opts)
        if requ.referer:
            out["referrer"] = text(requ.referer)
        http["request"] = out
        http["version"] = requ.version
        tx.request_bytes = requ.size
        tx.method = out["method"]
        tx.path = path
        tx.query = f"{tx.method} {path}"
        if opts.send_request:
            tx.request = self._raw(requ, body)
        self._endpoints(requ, tx, fields, path, params)

    def _params(self, requ: Message, body: bytes) -> tuple[str, str]:
        try:
            path, query = split_target(requ.target)
        except BadURL:
            self.counters.inc("http_bad_uri")
            return "", ""
        form_body = requ.content_length > 0 and requ.save_body \
            and b"urlencoded" in requ.content_type
        if not query and not form_body:
            return text(path), ""  # no parameters: what the empty parse encodes
        values: dict[bytes, list[bytes]] = {}
        parse_query(query, values)
        hide_secrets(values, self.opts.hide_keywords)
        if form_body:
            form: dict[bytes, list[bytes]] = {}
            if not parse_query(body, form):
                return text(path), ""
            hide_secrets(form, self.opts.hide_keywords)
            values.update(form)
        return text(path), encode_query(values)

    def _endpoints(self, requ: Message, tx: Transaction, fields: dict, path: str,
                   params: str) -> None:
        conn = tx.conn
        host, port, host_ip = self._host(requ.host)
        related: dict[str, list[str]] = {}
        if host_ip:
            tx.related_ips.append(host_ip)
        elif host:
            tx.destination_domain = host
            related["hosts"] = [host]
        if port == 0:
            port = conn.server_port
        elif port != conn.server_port:
            requ.note("Host header port number mismatch")
        if requ.referer and text(requ.referer) not in related.get("hosts", ()):
            related.setdefault("hosts", []).append(text(requ.referer))
        if requ.real_ip:
            self._forwarded(requ, tx, fields)
        fields["url"] = _url(host, port, path, params)
        if requ.user_agent:
            fields["user_agent"] = {"original": text(requ.user_agent)}
        user = basic_user(requ.authorization) if requ.authorization else ""
        if user:
            fields["user"] = {"name": user}
            related["user"] = [user]
        if related:
            fields["related"] = related

    def _host(self, raw: bytes) -> tuple[str, int, str | None]:
        """(host, port or 0, canonical address when the host is one) of a Host header.
        A connection's requests name the same host: each is worked out once, bounded."""
        known = self._hosts.get(raw)
        if known is None:
            host, port = split_host(text(raw))
            known = (host, port, parse_ip(host))
            if len(raw) <= _CACHED_HOST_MAX and len(self._hosts) < _HOSTS_MAX:
                self._hosts[raw] = known
        return known

    def _forwarded(self, requ: Message, tx: Transaction, fields: dict) -> None:
        """A request's real-IP header (present: the caller checks) → `network.forwarded_ip`."""
        ip = parse_ip(text(requ.real_ip))
        if ip is None:
            # network.forwarded_ip is an `ip` field: a non-address would fail indexing.
            self.counters.inc("http_bad_forwarded_ip")
            return
        fields["network"] = {"forwarded_ip": ip}
        if ip not in tx.related_ips:
            tx.related_ips.append(ip)

    def _response(self, resp: Message, tx: Transaction, http: dict) -> None:
        out: dict[str, Any] = {"status_code": resp.status_code, "bytes": resp.size}
        if resp.status_phrase:
            out["status_phrase"] = text(resp.status_phrase).lower()
        body = self._body(resp, out)
        out["headers"] = collect_headers(resp, self.opts)
        http["response"] = out
        tx.response_bytes = resp.size
        if tx.start_ns != resp.ts or tx.method is not None:
            # Unpaired, a response has no start to measure from (no 0 duration).
            tx.end_ns = resp.ts
        if self.opts.send_response:
            tx.response = self._raw(resp, body)


def _url(host: str, port: int, path: str, params: str) -> dict[str, Any]:
    url: dict[str, Any] = {"scheme": "http"}
    if host:
        url["domain"] = host
    if port != 80:
        url["port"] = port
    if path:
        url["path"] = path
        ext = extension(path)
        if ext:
            url["extension"] = ext
    if params:
        url["query"] = params
    full = full_url(host, port, path.encode("utf-8", "surrogateescape"), params)
    if full:
        url["full"] = full
    return url
