"""The HTTP parser's shortcuts say the same as the plain rules they replace: the head end
found with two `find`s, the line split without a regex, cached header names and status
lines, the body skipped in one subtraction, shared `Progress` results, URL escaping that
skips urllib when nothing needs escaping."""

from __future__ import annotations

import random
import re
from urllib.parse import quote, quote_plus, unquote_to_bytes

from shardbeat.protocols.base import Progress
from shardbeat.protocols.http import wire
from shardbeat.protocols.http import events
from shardbeat.protocols.http.config import HttpConfig
from shardbeat.protocols.http.events import EventBuilder
from shardbeat.protocols.http.message import Options
from shardbeat.protocols.http.parser import _consumed
from shardbeat.protocols.http.urls import (
    _HOST_OK, _HOST_SAFE, _PATH_OK, _PATH_SAFE, _escape, _query_escape, _unescape,
    parse_ip, split_host,
)
from shardbeat.protocols.http.wire import head_end, parse_head, parse_start_line
from tests.protocols.test_http_driver import (
    C2S, S2C, chunked, events_every_way, get, request, response,
)

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")


def _noise(rng: random.Random, size: int) -> bytes:
    return bytes(rng.choice(b"aB:\r\n \t") for _ in range(size))


def test_head_end_agrees_with_the_regex_on_any_mix_of_cr_and_lf():
    rng = random.Random(7)
    for _ in range(20000):
        data = _noise(rng, rng.randrange(0, 12))
        found = _HEAD_END.search(data)
        assert head_end(data) == (found.end() if found else -1), data


def _reference_headers(block: bytes) -> tuple[list, int]:
    """The header loop as written before the shortcuts (regex split, no name cache)."""
    headers: list[tuple[str, bytes]] = []
    bad = 0
    for line in _LINE_END.split(block)[1:]:
        if not line:
            continue
        if line[0] in b" \t":
            if headers:
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip(b" \t"))
            else:
                bad += 1
            continue
        colon = line.find(b":")
        if colon <= 0:
            bad += 1
            continue
        name = line[:colon].rstrip(b" \t").lower().decode("latin-1")
        headers.append((name, line[colon + 1:].strip(b" \t")))
    return headers, bad


def test_parse_head_reads_headers_as_the_regex_split_did():
    rng = random.Random(11)
    start = parse_start_line(b"GET / HTTP/1.1")
    for _ in range(5000):
        block = b"GET / HTTP/1.1\r\n" + _noise(rng, rng.randrange(0, 40)) + b"\r\n\r\n"
        head = parse_head(block, 1000, start)
        assert (head.headers, head.bad_lines) == _reference_headers(block), block


def test_header_names_are_lower_cased_whatever_the_spelling_seen_first():
    for spelling in (b"Content-Length", b"CONTENT-LENGTH ", b"content-length"):
        block = b"HTTP/1.1 200 OK\r\n" + spelling + b": 3\r\n\r\n"
        head = parse_head(block, 10)
        assert head.headers == [("content-length", b"3")]


def test_body_skipped_segment_by_segment_counts_every_byte():
    body = bytes(range(256)) * 40
    resp = response(body=body)
    [ev] = events_every_way([(C2S, request()), (S2C, resp)])
    assert get(ev, "http.response.body.bytes") == len(body)
    assert get(ev, "http.response.bytes") == len(resp)


def test_chunk_data_skipped_segment_by_segment_counts_every_byte():
    parts = (b"a" * 700, b"b" * 1300)
    resp = response(headers={"Transfer-Encoding": "chunked"}, body=chunked(*parts))
    [ev] = events_every_way([(C2S, request()), (S2C, resp)])
    assert get(ev, "http.response.body.bytes") == 2000
    assert get(ev, "http.response.bytes") == len(resp)


def test_kept_bodies_are_not_skipped():
    config = HttpConfig(include_body_for=["text/plain"])
    body = b"x" * 3000
    resp = response(headers={"Content-Type": "text/plain"}, body=body)
    [ev] = events_every_way([(C2S, request()), (S2C, resp)], config)
    assert get(ev, "http.response.body.content") == body.decode()


def test_shared_progress_results_are_plain_values():
    assert _consumed(1460) is _consumed(1460)
    assert _consumed(1460) == Progress(1460)
    assert _consumed(1 << 20) == Progress(1 << 20)


def test_url_escaping_shortcuts_match_urllib():
    rng = random.Random(5)
    alphabet = b"aZ09-._~+ %/:;=@$&,![]<>\"'()*?#\x00\xe9"
    for _ in range(5000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        assert _query_escape(raw) == quote_plus(raw, safe="")
        assert _escape(raw, _PATH_OK, _PATH_SAFE) == quote(raw, safe=_PATH_SAFE)
        assert _escape(raw, _HOST_OK, _HOST_SAFE) == quote(raw, safe=_HOST_SAFE)
        if b"%" not in raw:
            assert _unescape(raw, True) == unquote_to_bytes(raw.replace(b"+", b" "))
            assert _unescape(raw, False) == unquote_to_bytes(raw)


def test_status_lines_are_shared_and_read_the_same():
    first = parse_start_line(b"HTTP/1.1 404 Not Found")
    again = parse_start_line(b"HTTP/1.1 404 Not Found")
    assert first is again
    assert (first.is_request, first.version, first.status_code, first.status_phrase) == (
        False, "1.1", 404, b"Not Found")
    assert parse_start_line(b"HTTP/1.1 20 OK") is None


def test_name_and_status_caches_stay_bounded_against_invented_names():
    for i in range(wire._NAMES_MAX + 100):
        parse_head(b"HTTP/1.1 200 OK\r\nX-" + str(i).encode() + b": 1\r\n\r\n", 10)
    long_name = b"X-" + b"a" * 1000
    head = parse_head(b"HTTP/1.1 200 OK\r\n" + long_name + b": 1\r\n\r\n", 10)
    assert head.headers == [(long_name.lower().decode(), b"1")]
    assert len(wire._NAMES) <= wire._NAMES_MAX
    assert all(len(raw) <= wire._CACHED_NAME_MAX for raw in wire._NAMES)
    for i in range(wire._STATUS_LINES_MAX + 100):
        parse_start_line(b"HTTP/1.1 200 phrase " + str(i).encode())
    assert parse_start_line(b"HTTP/1.1 200 " + b"x" * 500).status_phrase == b"x" * 500
    assert len(wire._STATUS_LINES) <= wire._STATUS_LINES_MAX
    assert all(len(line) <= wire._CACHED_LINE_MAX for line in wire._STATUS_LINES)


def test_common_request_lines_read_as_the_regexes_read_them():
    for version in (b"1.0", b"1.1", b"1.2", b"2.0", b"1.9"):
        for method in sorted(wire._COMMON_METHODS) + [b"PROPFIND", b"M-SEARCH"]:
            start = parse_start_line(method + b" /x HTTP/" + version)
            m = wire._VERSION.match(b"HTTP/" + version)
            assert start.version == wire._version(m.group(1), m.group(2))
            assert (start.method, start.target) == (method, b"/x")
    assert parse_start_line(b"GET /x HTTP/1.1x") is None
    assert parse_start_line(b"G@T /x HTTP/1.1") is None


def test_head_end_agrees_with_the_regex_when_a_body_shares_the_window():
    rng = random.Random(13)
    for _ in range(5000):
        head = _noise(rng, rng.randrange(0, 60))
        body = bytes(rng.choice(b"ab\r\n") for _ in range(rng.randrange(0, 200)))
        data = head + rng.choice((b"\r\n\r\n", b"\n\n", b"\n\r\n", b"\r\n\n", b"")) + body
        found = _HEAD_END.search(data)
        assert head_end(data) == (found.end() if found else -1), data


def test_cached_header_lines_read_as_the_first_time():
    rng = random.Random(17)
    start = parse_start_line(b"GET / HTTP/1.1")
    blocks = [b"GET / HTTP/1.1\r\n" + _noise(rng, rng.randrange(0, 40)) + b"\r\n\r\n"
              for _ in range(2000)]
    for _ in range(2):  # the second pass reads the lines the first one cached
        for block in blocks:
            head = parse_head(block, 1000, start)
            assert (head.headers, head.bad_lines) == _reference_headers(block), block


def test_a_cached_line_is_not_changed_by_the_fold_that_follows_it():
    block = b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\r\n"
    assert parse_head(block, 10).headers == [("x-fold", b"a b")]
    assert parse_head(b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n\r\n", 10).headers == [
        ("x-fold", b"a")]
    assert parse_head(block, 10).headers == [("x-fold", b"a b")]


def test_cached_header_lines_still_count_against_max_headers():
    block = b"HTTP/1.1 200 OK\r\n" + b"A: 1\r\nB: 2\r\nC: 3\r\n" + b"\r\n"
    assert len(parse_head(block, 3).headers) == 3
    assert parse_head(block, 2) == "too many headers"
    assert parse_head(block, 2) == "too many headers"


def test_header_line_cache_stays_bounded():
    for i in range(wire._LINES_MAX + 100):
        parse_head(b"HTTP/1.1 200 OK\r\nX-Id: " + str(i).encode() + b"\r\n\r\n", 10)
    long_line = b"X-Long: " + b"v" * 1000
    head = parse_head(b"HTTP/1.1 200 OK\r\n" + long_line + b"\r\n\r\n", 10)
    assert head.headers == [("x-long", b"v" * 1000)]
    assert len(wire._LINES) <= wire._LINES_MAX
    assert all(len(line) <= wire._CACHED_HEADER_MAX for line in wire._LINES)



def test_host_headers_read_the_same_from_the_cache():
    builder = EventBuilder(Options.from_config(HttpConfig()), None)
    for raw in (b"example.com", b"example.com:8080", b"[::1]:81", b"10.0.0.1", b"::1",
                b"", b"h:99999", b"Ex\xe9mple", b"a" * 500):
        host, port = split_host(raw.decode("utf-8", "replace"))
        expected = (host, port, parse_ip(host))
        assert builder._host(raw) == expected
        assert builder._host(raw) == expected  # from the cache
    assert all(len(raw) <= events._CACHED_HOST_MAX for raw in builder._hosts)
