"""HTTP message framing and pairing, each case under every chunking (test_http_driver)."""

from __future__ import annotations

from shardbeat.protocols.http.config import HttpConfig
from shardbeat.transactions.event import timestamp_ns
from tests.protocols.test_http_driver import (
    C2S, MS, S2C, T0, chunked, events_every_way, get, play, request, response,
)


def test_simple_get_is_one_ok_transaction_with_sizes_and_timing():
    req = request("/index.html")
    resp = response(body=b"hello")
    [ev] = events_every_way([(C2S, req), (S2C, resp)])
    assert ev["type"] == "http" and ev["status"] == "OK"
    assert ev["method"] == "GET" and ev["query"] == "GET /index.html"
    assert ev["source"]["bytes"] == len(req) == get(ev, "http.request.bytes")
    assert ev["destination"]["bytes"] == len(resp) == get(ev, "http.response.bytes")
    assert get(ev, "http.response.body.bytes") == 5
    assert get(ev, "event.duration") == MS
    assert get(ev, "http.response.status_code") == 200
    assert get(ev, "http.response.status_phrase") == "ok"
    assert "error" not in ev


def test_keep_alive_connection_pairs_each_request_with_its_response():
    steps = []
    for i in range(3):
        steps += [(C2S, request(f"/r{i}")), (S2C, response(body=b"x" * i))]
    events = events_every_way(steps)
    assert [e["path"] for e in events] == ["/r0", "/r1", "/r2"]
    assert [get(e, "http.response.body.bytes", 0) for e in events] == [0, 1, 2]


def test_pipelined_requests_pair_in_order_from_one_segment():
    reqs = request("/a") + request("/b") + request("/c")
    resps = response("201 Created") + response("202 Accepted") + response("204 No Content")
    events = events_every_way([(C2S, reqs), (S2C, resps)])
    assert [(e["path"], get(e, "http.response.status_code")) for e in events] == [
        ("/a", 201), ("/b", 202), ("/c", 204)]


def test_request_body_with_content_length_is_skipped_and_counted():
    body = b"a" * 1000
    [ev] = events_every_way([(C2S, request("/up", "POST", body=body)), (S2C, response())])
    assert get(ev, "http.request.body.bytes") == 1000
    assert get(ev, "http.request.headers.content-length") == 1000
    assert "content" not in get(ev, "http.request.body")


def test_chunked_response_sums_chunks_and_counts_framing_bytes():
    body = chunked(b"hello ", b"world")
    resp = response(headers={"Transfer-Encoding": "chunked"}, body=body)
    [ev] = events_every_way([(C2S, request()), (S2C, resp)])
    assert get(ev, "http.response.body.bytes") == 11
    assert get(ev, "http.response.bytes") == len(resp)


def test_chunked_body_with_extensions_and_trailers_is_framed():
    body = (b"5;name=value\r\nhello\r\n0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n")
    resp = response(headers={"Transfer-Encoding": "chunked"}, body=body)
    events = events_every_way([(C2S, request("/a") + request("/b")),
                               (S2C, resp + response(body=b"ok"))])
    assert [get(e, "http.response.body.bytes") for e in events] == [5, 2]
    assert get(events[0], "http.response.bytes") == len(resp)


def test_chunked_request_body():
    body = chunked(b"abc", b"defg")
    req = request("/up", "PUT", {"Transfer-Encoding": "chunked"}, body)
    [ev] = events_every_way([(C2S, req), (S2C, response())])
    assert get(ev, "http.request.body.bytes") == 7
    assert get(ev, "http.request.bytes") == len(req)


def test_http10_response_without_length_ends_at_close():
    resp = response(body=b"x" * 300, version="1.0", length=False)
    [ev] = events_every_way([(C2S, request(version="1.0")), (S2C, resp), ("fin", S2C)])
    assert get(ev, "http.response.body.bytes") == 300
    assert get(ev, "http.response.bytes") == len(resp)
    assert "error" not in ev


def test_connection_close_response_ends_at_close_even_without_fin_flag():
    resp = response(headers={"Connection": "close"}, body=b"y" * 50, length=False)
    [ev] = events_every_way([(C2S, request()), (S2C, resp)])
    assert get(ev, "http.response.body.bytes") == 50
    assert "error" not in ev


def test_keep_alive_response_without_length_has_no_body():
    # Packetbeat's rule: only close-delimited responses read to the end.
    events = events_every_way([(C2S, request("/a") + request("/b")),
                               (S2C, response(length=False) + response(body=b"zz"))])
    assert [e["path"] for e in events] == ["/a", "/b"]


def test_100_continue_does_not_complete_the_transaction():
    head = request("/up", "POST", {"Expect": "100-continue", "Content-Length": "4"})
    steps = [(C2S, head), (S2C, response("100 Continue", length=False)), (C2S, b"data"),
             (S2C, response("200 OK", body=b"done"))]
    [ev] = events_every_way(steps)
    assert get(ev, "http.response.status_code") == 200
    assert get(ev, "http.request.body.bytes") == 4
    assert "error" not in ev


def test_final_response_before_upload_finishes_still_pairs():
    head = request("/up", "POST", {"Content-Length": "6"})
    steps = [(C2S, head), (S2C, response("413 Payload Too Large")), (C2S, b"abcdef")]
    [ev] = events_every_way(steps)
    assert get(ev, "http.response.status_code") == 413
    assert ev["status"] == "Error" and "error" not in ev


def test_head_response_has_no_body_despite_content_length():
    resp = response(headers={"Content-Length": "5000"})
    events = events_every_way([(C2S, request("/a", "HEAD") + request("/b")),
                               (S2C, resp + response(body=b"ok"))])
    assert [e["method"] for e in events] == ["HEAD", "GET"]
    assert get(events[0], "http.response.headers.content-length") == 5000
    assert "body" not in events[0]["http"]["response"]
    assert get(events[1], "http.response.body.bytes") == 2


def test_204_and_304_responses_have_no_body():
    events = events_every_way([
        (C2S, request("/a") + request("/b") + request("/c")),
        (S2C, response("204 No Content", {"Content-Length": "10"}, length=False)
         + response("304 Not Modified", {"Content-Length": "10"}, length=False)
         + response(body=b"end"))])
    assert [get(e, "http.response.status_code") for e in events] == [204, 304, 200]


def test_upgrade_101_ends_http_parsing_on_both_sides():
    req = request("/ws", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    resp = response("101 Switching Protocols", {"Upgrade": "websocket"}, length=False)
    steps = [(C2S, req), (S2C, resp + b"\x81\x05hello"), (C2S, b"\x81\x85abcdefghi")]
    h = play(steps)
    assert len(h.events) == 1 and get(h.events[0], "http.response.status_code") == 101
    assert h.counters.get("http_parse_errors") == 0
    assert events_every_way(steps) == h.events


def test_connect_tunnel_is_not_parsed_as_http():
    steps = [(C2S, request("example.com:443", "CONNECT")),
             (S2C, response("200 Connection established", length=False)),
             (C2S, b"\x16\x03\x01\x00\x05hello"), (S2C, b"\x16\x03\x03garbage")]
    h = play(steps)
    assert len(h.events) == 1 and h.counters.get("http_parse_errors") == 0


def test_unmatched_response_is_published_as_error_with_note():
    [ev] = events_every_way([(S2C, response("404 Not Found"))])
    assert ev["status"] == "Error"
    assert get(ev, "error.message") == "Unmatched response"
    assert get(ev, "http.response.status_code") == 404
    assert "url" not in ev and "method" not in ev


def test_request_without_response_is_flushed_at_close_with_note():
    h = play([(C2S, request("/something"))])
    [ev] = h.events
    assert ev["status"] == "Error" and ev["query"] == "GET /something"
    assert get(ev, "error.message") == "Unmatched request"
    assert "end" not in ev["event"]
    assert h.counters.get("http_unmatched_requests") == 1


def test_request_without_response_expires_after_transaction_timeout():
    cfg = HttpConfig(transaction_timeout="1s")
    h = play([(C2S, request("/a")), ("expire", 500 * MS)], cfg, close=False)
    assert h.events == []
    h.parser.expire(h.state, T0 + 3 * 1_000_000_000)
    [ev] = h.events
    assert get(ev, "error.message") == "Unmatched request"
    h.close(T0 + 4 * 1_000_000_000)
    assert len(h.events) == 1


def test_response_cut_by_close_is_published_with_note():
    resp = response(body=b"abcdef")[:-3]
    [ev] = events_every_way([(C2S, request()), (S2C, resp)])
    assert get(ev, "error.message") == "Connection closed before the message was complete"
    assert get(ev, "http.response.body.bytes") == 6


def test_leading_blank_lines_and_bare_lf_are_accepted():
    req = b"\r\n\r\nGET /lf HTTP/1.1\nHost: example.com\n\n"
    resp = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    [ev] = events_every_way([(C2S, req), (S2C, resp)])
    assert ev["path"] == "/lf" and get(ev, "http.response.body.bytes") == 2


def test_folded_header_value_is_joined():
    req = b"GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: long\r\n  agent\r\n\r\n"
    [ev] = events_every_way([(C2S, req), (S2C, response())])
    assert get(ev, "user_agent.original") == "long agent"


def test_capture_started_mid_connection_with_roles_reversed_is_flipped():
    # The stream layer took the server for the client: requests arrive "to client".
    steps = [(S2C, request("/x")), (C2S, response(body=b"ok"))]
    [ev] = events_every_way(steps)
    assert ev["path"] == "/x"
    assert ev["source"]["ip"] == "10.0.0.2" and ev["destination"]["ip"] == "10.0.0.1"
    assert ev["destination"]["port"] == 40000


def test_events_carry_the_time_of_each_messages_first_byte():
    req, resp = request("/slow"), response()
    steps = [(C2S, req[:10]), (C2S, req[10:]), (S2C, resp[:5]), (S2C, resp[5:])]
    [ev] = events_every_way(steps)
    assert ev["event"]["start"] == timestamp_ns(T0 + MS)
    assert ev["event"]["end"] == timestamp_ns(T0 + 3 * MS)
    assert get(ev, "event.duration") == 2 * MS


def test_head_longer_than_the_first_search_window_is_found():
    req = request("/big", headers={"Cookie": "c=" + "v" * 9000, "X-After": "yes"})
    h = play([(C2S, req + request("/next")), (S2C, response() + response())],
             HttpConfig(send_all_headers=True))
    assert [e["path"] for e in h.events] == ["/big", "/next"]
    assert get(h.events[0], "http.request.headers.x-after") == "yes"
    assert get(h.events[0], "http.request.bytes") == len(req)
