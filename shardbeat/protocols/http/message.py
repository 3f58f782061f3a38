"""One HTTP message as the parser learns it, and what its headers mean.

`Options` is `HttpConfig` pre-digested once per worker (lower-cased name sets, merged body
lists) so the per-message path does no string work it can avoid. `Message.apply_head` reads
the headers Packetbeat reads: the framing ones (Content-Length, Transfer-Encoding,
Connection), the codings, the ones that become fields (Host, Referer, User-Agent,
Authorization, the real-IP header), and the captured ones (`send_headers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.http.wire import Head, comma_list

_COOKIE = {True: "cookie", False: "set-cookie"}
# What `_framing` reads (besides the real-IP header): most headers are none of these and
# are passed over with one set lookup.
_READ = frozenset(("content-length", "content-type", "transfer-encoding",
                   "content-encoding", "connection", "host", "referer", "user-agent",
                   "authorization"))


@dataclass(frozen=True, slots=True)
class Options:
    send_all_headers: bool
    send_headers: frozenset[str]
    split_cookie: bool
    redact_authorization: bool
    redact_headers: frozenset[str]
    hide_keywords: frozenset[str]
    real_ip_header: str
    request_body_for: tuple[bytes, ...]
    response_body_for: tuple[bytes, ...]
    decode_body: bool
    send_request: bool
    send_response: bool
    max_message_size: int
    max_head: int
    max_headers: int
    max_pending: int
    timeout_ns: int

    @classmethod
    def from_config(cls, cfg: HttpConfig) -> Options:
        lower = lambda names: frozenset(n.lower() for n in names)  # noqa: E731
        enc = lambda names: tuple(n.encode("utf-8") for n in names)  # noqa: E731
        return cls(
            send_all_headers=cfg.send_all_headers,
            send_headers=lower(cfg.send_headers),
            split_cookie=cfg.split_cookie,
            redact_authorization=cfg.redact_authorization,
            redact_headers=lower(cfg.redact_headers),
            hide_keywords=lower(cfg.hide_keywords),
            real_ip_header=cfg.real_ip_header.lower(),
            request_body_for=enc(cfg.include_body_for + cfg.include_request_body_for),
            response_body_for=enc(cfg.include_body_for + cfg.include_response_body_for),
            decode_body=cfg.decode_body,
            send_request=cfg.send_request,
            send_response=cfg.send_response,
            max_message_size=cfg.max_message_size,
            max_head=min(cfg.max_header_bytes, cfg.max_message_size),
            max_headers=cfg.max_headers,
            max_pending=cfg.max_pending_requests,
            timeout_ns=int(cfg.transaction_timeout * 1e9),
        )

    @property
    def captures_headers(self) -> bool:
        return self.send_all_headers or bool(self.send_headers)


class Message:
    """A request or a response: start line, the headers that matter, sizes, kept body."""

    __slots__ = (
        "is_request", "ts", "version", "method", "target", "status_code", "status_phrase",
        "content_length", "has_content_length", "bad_content_length", "content_type",
        "chunked", "encodings", "connection", "host", "referer", "user_agent",
        "authorization", "real_ip", "headers", "raw_head", "head_len", "size", "body_bytes",
        "body",
        "send_body", "save_body", "notes", "loss_noted", "truncated",
    )

    def __init__(self, ts: int) -> None:
        self.ts = ts
        self.is_request = True
        self.version = "1.0"
        self.method = b""
        self.target = b""
        self.status_code = 0
        self.status_phrase = b""
        self.content_length = 0
        self.has_content_length = False
        self.bad_content_length = False
        self.content_type = b""
        self.chunked = False
        self.encodings: list[str] = []
        self.connection = b""
        self.host = b""
        self.referer = b""
        self.user_agent = b""
        self.authorization = b""
        self.real_ip = b""
        self.headers: dict[str, bytes] = {}
        self.raw_head = b""     # kept only when `send_request`/`send_response` want it
        self.head_len = 0
        self.size = 0           # bytes on the wire: head, body and chunk framing
        self.body_bytes = 0     # body length (sum of chunks, or up to close)
        self.body: bytearray | None = None
        self.send_body = False  # body goes into the event (include_*body_for matched)
        self.save_body = False  # body is kept: sent, or a form whose params we report
        self.notes: list[str] = []
        self.loss_noted = False
        self.truncated = False

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def note_loss(self) -> None:
        if not self.loss_noted:
            self.loss_noted = True
            side = "request" if self.is_request else "response"
            self.notes.append(f"Packet loss while capturing the {side}")

    def apply_head(self, head: Head, raw: bytes, opts: Options) -> None:
        start = head.start
        self.is_request = start.is_request
        self.version = start.version
        self.method, self.target = start.method, start.target
        self.status_code, self.status_phrase = start.status_code, start.status_phrase
        if opts.send_request if start.is_request else opts.send_response:
            self.raw_head = raw
        self.head_len = self.size = len(raw)
        captured = self.headers
        real_ip = opts.real_ip_header
        send_all, send = opts.send_all_headers, opts.send_headers
        for name, value in head.headers:
            if name in _READ or (real_ip and name == real_ip):
                if name == "content-length":  # the one nearly every message has
                    self._content_length(value)
                else:
                    self._framing(name, value, opts)
            if send_all or name in send:
                old = captured.get(name)
                captured[name] = value if old is None else old + b", " + value
        self._choose_body(opts)

    def _framing(self, name: str, value: bytes, opts: Options) -> None:
        if name == "content-length":
            self._content_length(value)
        elif name == "content-type":
            self.content_type = value
        elif name == "transfer-encoding":
            codings = comma_list(value)
            if codings and codings[-1] == "chunked":
                self.chunked = True
                codings.pop()
            self.encodings.extend(c for c in codings if c)
        elif name == "content-encoding":
            # Content codings were applied before transfer codings: they go first.
            self.encodings[:0] = [c for c in comma_list(value) if c]
        elif name == "connection":
            self.connection = value.lower()
        elif opts.real_ip_header and name == opts.real_ip_header:
            self.real_ip = value.split(b",", 1)[0].strip(b" \t")
        elif name == "host":
            self.host = value
        elif name == "referer":
            self.referer = value
        elif name == "user-agent":
            self.user_agent = value
        elif name == "authorization":
            self.authorization = value

    def _content_length(self, value: bytes) -> None:
        if value.isdigit() and len(value) <= 18:
            length = int(value)
            if self.has_content_length and length != self.content_length:
                self.bad_content_length = True
            self.content_length = length
        else:
            # Packetbeat reads an unparsable length as 0; we do too, and say so.
            self.bad_content_length = True
            self.content_length = 0
        self.has_content_length = True

    def _choose_body(self, opts: Options) -> None:
        wanted = opts.request_body_for if self.is_request else opts.response_body_for
        ctype = self.content_type
        self.send_body = any(w in ctype for w in wanted) if wanted else False
        form = (self.is_request and self.content_length > 0 and not self.chunked
                and b"urlencoded" in ctype)
        self.save_body = self.send_body or form
        if self.save_body:
            self.body = bytearray()

    @property
    def closes(self) -> bool:
        """A body without length ends with the connection (Packetbeat's rule: `Connection:
        close`, or HTTP/1.0 without keep-alive)."""
        conn = self.connection
        return conn == b"close" or (self.version == "1.0" and conn != b"keep-alive")

    def keep(self, data: bytes | memoryview, opts: Options) -> None:
        """Append body bytes if the body is kept, within max_message_size."""
        body = self.body
        if body is None or self.truncated:
            return
        room = opts.max_message_size - self.head_len - len(body)
        if len(data) > room:
            data = data[:max(room, 0)]
            self.truncated = True
        body += data

    def cookie_name(self) -> str:
        return _COOKIE[self.is_request]
