"""HTTP/1.1 keep-alive conversations: real request and response bytes.

Response bodies are lognormal (median ~7 kB, long tail), sent with Content-Length or, for a
share of HTML pages, chunked. 304 and HEAD responses carry no body, as the RFC requires.
A chunked response's last chunk goes out as its own write, as a proxying nginx sends it when
the upstream finishes (and tshark 4.0 reports a malformed packet when a segment boundary falls
inside "0\r\n\r\n").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

from .corpus import USER_AGENTS, Corpus
from .tcp import TO_CLIENT, TO_SERVER, Message

BODY_MEDIAN = 7200
BODY_SIGMA = 1.45
BODY_MAX = 2_000_000
CHUNK = 8192
LAST_CHUNK = b"0\r\n\r\n"
LAST_CHUNK_DELAY_NS = 60_000
MEAN_REQUESTS = 5.0
MAX_REQUESTS = 60
REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
           304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}
KINDS = (  # (extension, content type, weight)
    ("html", "text/html; charset=utf-8", 30),
    ("js", "application/javascript", 20),
    ("css", "text/css", 10),
    ("json", "application/json", 25),
    ("bin", "application/octet-stream", 15),
)
DATE = "Fri, 01 Mar 2024 12:00:{:02d} GMT"


@dataclass
class HttpStats:
    transactions: int = 0
    status: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)


class Request(NamedTuple):
    method: str
    ctype: str          # content type the response will have
    ext: str
    payload: bytes


def _request(rng: random.Random, corpus: Corpus, host: str) -> Request:
    ext, ctype, _ = rng.choices(KINDS, weights=[k[2] for k in KINDS])[0]
    path = f"/{corpus.word(rng)}/{corpus.word(rng)}-{rng.randrange(10000)}.{ext}"
    r = rng.random()
    method = "GET" if r < 0.86 else "POST" if r < 0.95 else "HEAD" if r < 0.98 else "PUT"
    if method == "GET" and rng.random() < 0.3:
        path += f"?q={corpus.word(rng)}&page={rng.randrange(1, 50)}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}",
             f"User-Agent: {rng.choice(USER_AGENTS)}", "Accept: */*",
             "Accept-Language: en-US,en;q=0.9", "Connection: keep-alive"]
    if rng.random() < 0.4:
        lines.append(f"Cookie: sid={rng.getrandbits(64):016x}; theme={corpus.word(rng)}")
    body = b""
    if method in ("POST", "PUT"):
        body = f"name={corpus.word(rng)}&qty={rng.randrange(1, 9)}&id={rng.randrange(99999)}".encode()
        lines += ["Content-Type: application/x-www-form-urlencoded",
                  f"Content-Length: {len(body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return Request(method, ctype, ext, head + body)


def _status(rng: random.Random, method: str) -> int:
    r = rng.random()
    if method in ("POST", "PUT"):
        return 201 if r < 0.7 else 204 if r < 0.9 else 500 if r < 0.95 else 404
    return 200 if r < 0.88 else 304 if r < 0.94 else 404 if r < 0.975 else 301 if r < 0.99 else 500


def _body(rng: random.Random, corpus: Corpus, ext: str, status: int) -> tuple:
    if status in (204, 304):
        return ()
    if status != 200:
        return (f"<html><body><h1>{status} {REASONS[status]}</h1></body></html>\n".encode(),)
    length = min(int(rng.lognormvariate(0, BODY_SIGMA) * BODY_MEDIAN) + 16, BODY_MAX)
    if ext == "json":
        return (corpus.json_body(length),)
    return (corpus.text_slice(rng, length),)


def _response(rng: random.Random, corpus: Corpus, req: Request,
              second: int) -> tuple[int, tuple, bytes]:
    """(status, parts of the response, last chunk to send separately or b"")"""
    method, ctype, ext = req.method, req.ctype, req.ext
    status = _status(rng, method)
    body = _body(rng, corpus, ext, status)
    size = sum(len(p) for p in body)
    lines = [f"HTTP/1.1 {status} {REASONS[status]}", f"Date: {DATE.format(second % 60)}",
             "Server: nginx/1.24.0"]
    chunked = status == 200 and ext == "html" and method == "GET" and rng.random() < 0.35
    if status == 301:
        lines.append("Location: https://example.com/moved")
    if body or method == "HEAD":
        lines.append(f"Content-Type: {ctype if status == 200 else 'text/html'}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif status not in (204, 304):
        lines.append(f"Content-Length: {size if method != 'HEAD' else 1234}")
    lines += ["Connection: keep-alive", f"ETag: \"{rng.getrandbits(48):012x}\""]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if method == "HEAD":
        return status, (head,), b""
    if chunked:
        return status, (head,) + _chunks(body[0]), LAST_CHUNK
    return status, (head,) + body, b""


def _chunks(body) -> tuple:
    parts = []
    for off in range(0, len(body), CHUNK):
        piece = body[off:off + CHUNK]
        parts += [f"{len(piece):x}\r\n".encode(), piece, b"\r\n"]
    return tuple(parts)


def plan(rng: random.Random, corpus: Corpus, host: str, second: int,
         stats: HttpStats) -> list[Message]:
    """One keep-alive connection: requests with think time between them."""
    n = min(1 + int(rng.expovariate(1 / (MEAN_REQUESTS - 1))), MAX_REQUESTS)
    msgs = []
    for i in range(n):
        req = _request(rng, corpus, host)
        think = 100_000 if i == 0 else int(rng.expovariate(1 / 250e6))
        msgs.append(Message(think, TO_SERVER, (req.payload,)))
        status, parts, last = _response(rng, corpus, req, second)
        msgs.append(Message(int(rng.lognormvariate(0, 1.0) * 2e6), TO_CLIENT, parts))
        if last:
            msgs.append(Message(LAST_CHUNK_DELAY_NS, TO_CLIENT, (last,)))
        stats.transactions += 1
        stats.status[status] = stats.status.get(status, 0) + 1
        stats.methods[req.method] = stats.methods.get(req.method, 0) + 1
    return msgs
