"""Kept bodies: undo content codings (`decode_body`) and sniff a MIME type from content.

Decoding is bounded by `max_message_size` so a compression bomb costs at most that much
memory; what does not fit is cut and noted, as Packetbeat's `readMax` does. MIME sniffing
follows Packetbeat's libbeat/mime (magic numbers, then the WHATWG/`net/http` sniffer, then
JSON or XML for plain text) for the common types; an undetected type is omitted.
"""

from __future__ import annotations

import json
import zlib
from xml.etree import ElementTree

_GZIP = 16 + zlib.MAX_WBITS
_ZLIB_OR_RAW = (zlib.MAX_WBITS, -zlib.MAX_WBITS)


class DecodeError(Exception):
    """A body that does not decode; its text is the note Packetbeat adds."""


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise DecodeError("body truncated due to size limitation")
    if not d.eof:
        raise DecodeError("unexpected EOF")
    return out


def _deflate(data: bytes, limit: int) -> bytes:
    # RFC 9110 says "deflate" is zlib-wrapped; Go (and some servers) use raw DEFLATE.
    last = "invalid deflate data"
    for wbits in _ZLIB_OR_RAW:
        try:
            return _inflate(data, wbits, limit)
        except zlib.error as exc:
            last = str(exc)
    raise DecodeError(last)


def _gzip(data: bytes, limit: int) -> bytes:
    if data[:2] != b"\x1f\x8b":
        raise DecodeError("gzip: invalid header")
    try:
        return _inflate(data, _GZIP, limit)
    except zlib.error as exc:
        raise DecodeError(str(exc)) from None


_DECODERS = {
    "gzip": _gzip, "x-gzip": _gzip,
    "deflate": _deflate, "x-deflate": _deflate,
    "identity": lambda data, limit: data,
}


def decode_body(body: bytes, encodings: list[str], limit: int) -> tuple[bytes, str | None]:
    """Undo `encodings` (applied in list order, so undone last first). Returns the body and
    a note; on failure the body is what the last decoder produced, or empty."""
    for idx in range(len(encodings) - 1, -1, -1):
        name = encodings[idx]
        decoder = _DECODERS.get(name)
        try:
            if decoder is None:
                raise DecodeError("decoder not found")
            body = decoder(body, limit)
        except DecodeError as exc:
            return (body if idx == 0 else b""), \
                f"unable to decode body using {name} encoding: {exc}"
    return body, None


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/vnd.microsoft.portable-executable"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
    (b"\x00\x00\x01\x00", "image/vnd.microsoft.icon"),
)
_HTML_TAGS = (b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div",
              b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br",
              b"<p", b"<!--")
_SNIFF_LEN = 512


def _is_binary(head: bytes) -> bool:
    # WHATWG MIME sniffing: these control bytes never appear in text.
    return any(b <= 0x08 or b == 0x0B or 0x0E <= b <= 0x1A or 0x1C <= b <= 0x1F
               for b in head)


def _html(head: bytes) -> bool:
    lowered = head.lstrip(b"\t\n\x0c\r ").lower()
    for tag in _HTML_TAGS:
        if lowered.startswith(tag) and lowered[len(tag):len(tag) + 1] in (b" ", b">"):
            return True
    return False


def _encoded_text(body: bytes) -> str | None:
    try:
        json.loads(body)
        return "application/json"
    except (ValueError, RecursionError):
        pass
    if b"<!ENTITY" in body:
        return None  # entity expansion is a memory bomb; not worth a MIME type
    try:
        ElementTree.fromstring(body)
        return "text/xml"
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None


def sniff_mime(body: bytes) -> str | None:
    """The body's MIME type from its content, or None when it cannot be told."""
    head = body[:_SNIFF_LEN]
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if _html(head):
        return "text/html; charset=utf-8"
    stripped = head.lstrip(b"\t\n\x0c\r ")
    if stripped.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    if _is_binary(head):
        return None
    return _encoded_text(body) or "text/plain; charset=utf-8"
