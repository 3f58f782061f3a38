"""Gaps, garbage and limits: counted, noted where a transaction exists, and the stream
recovers at the next message. Each case under every chunking (test_http_driver)."""

from __future__ import annotations

from shardbeat.protocols.http.config import HttpConfig
from tests.protocols.test_http_driver import (
    C2S, S2C, chunked, events_every_way, get, play, request, response,
)

LOST_RESPONSE = "Packet loss while capturing the response"
LOST_REQUEST = "Packet loss while capturing the request"


def test_gap_inside_a_content_length_body_keeps_the_transaction_with_one_note():
    body = b"z" * 4000
    resp = response(body=body)
    head_len = len(resp) - len(body)
    steps = [(C2S, request("/big")), (S2C, resp[:head_len + 1000]), ("gap", S2C, 1000),
             (S2C, resp[head_len + 2000:head_len + 2500]), ("gap", S2C, 500),
             (S2C, resp[head_len + 3000:]), (C2S, request("/next")),
             (S2C, response(body=b"ok"))]
    events = events_every_way(steps)
    assert [e["path"] for e in events] == ["/big", "/next"]
    assert events[0]["status"] == "OK"
    assert get(events[0], "error.message") == LOST_RESPONSE  # once, as Packetbeat
    assert get(events[0], "http.response.bytes") == len(resp)
    assert "error" not in events[1]


def test_gap_that_ends_a_body_exactly_keeps_the_stream_in_sync():
    resp = response(body=b"q" * 100)
    steps = [(C2S, request("/a") + request("/b")), (S2C, resp[:-100]), ("gap", S2C, 100),
             (S2C, response(body=b"ok"))]
    events = events_every_way(steps)
    assert [(e["path"], get(e, "error.message")) for e in events] == [
        ("/a", LOST_RESPONSE), ("/b", None)]


def test_gap_in_response_head_unpairs_its_request_and_resyncs():
    second = response(body=b"second")
    steps = [(C2S, request("/a") + request("/b")), (S2C, b"HTTP/1.1 200 OK\r\nConte"),
             ("gap", S2C, 40), (S2C, b"tail of the lost body\r\n" + second)]
    h = play(steps)
    events = events_every_way(steps)
    assert events == h.events
    assert [(e["path"], e["status"]) for e in events] == [("/a", "Error"), ("/b", "OK")]
    assert get(events[0], "error.message") == [LOST_RESPONSE, "Unmatched request"]
    assert get(events[1], "http.response.body.bytes") == 6
    assert h.counters.get("http_gaps_in_head") == 1


def test_gap_in_request_head_leaves_a_placeholder_so_responses_stay_aligned():
    steps = [(C2S, b"GET /lost HT"), ("gap", C2S, 30), (C2S, request("/kept")),
             (S2C, response("500 Oops") + response(body=b"fine"))]
    events = events_every_way(steps)
    assert [e.get("path") for e in events] == [None, "/kept"]
    assert get(events[0], "http.response.status_code") == 500
    assert get(events[0], "error.message") == [LOST_REQUEST, "Unmatched response"]
    assert get(events[1], "http.response.status_code") == 200


def test_gap_in_chunk_framing_finishes_the_message_and_resyncs():
    body = chunked(b"a" * 50, b"b" * 50)
    resp = response(headers={"Transfer-Encoding": "chunked"}, body=body)
    cut = len(resp) - len(body) + 20
    steps = [(C2S, request("/a") + request("/b")), (S2C, resp[:cut]), ("gap", S2C, 60),
             (S2C, resp[cut + 60:] + response(body=b"ok"))]
    events = events_every_way(steps)
    assert [e["path"] for e in events] == ["/a", "/b"]
    assert get(events[0], "error.message") == LOST_RESPONSE
    assert get(events[1], "http.response.body.bytes") == 2


def test_gap_in_close_delimited_body_adds_to_its_size():
    resp = response(body=b"x" * 10, version="1.0", length=False)
    steps = [(C2S, request(version="1.0")), (S2C, resp), ("gap", S2C, 90), (S2C, b"y" * 5)]
    [ev] = events_every_way(steps)
    assert get(ev, "http.response.body.bytes") == 105
    assert get(ev, "error.message") == LOST_RESPONSE


def test_garbage_before_a_request_is_skipped_and_counted():
    steps = [(C2S, b"\x00\x01binary junk\r\nmore junk\r\n" + request("/ok")),
             (S2C, response(body=b"ok"))]
    h = play(steps)
    events = events_every_way(steps)
    assert [e["path"] for e in events] == ["/ok"]
    assert h.counters.get("http_parse_errors") == 1
    assert h.counters.get("http_resync_skipped_bytes") > 0


def test_malformed_request_gets_its_error_response_paired_with_a_note():
    steps = [(C2S, b"THIS IS NOT HTTP\r\n\r\n" + request("/ok")),
             (S2C, response("400 Bad Request") + response(body=b"ok"))]
    events = events_every_way(steps)
    assert get(events[0], "http.response.status_code") == 400
    assert get(events[0], "error.message") == ["Request not parsed: malformed",
                                                "Unmatched response"]
    assert events[1]["path"] == "/ok" and events[1]["status"] == "OK"


def test_garbage_in_the_response_stream_resyncs_at_the_next_status_line():
    steps = [(C2S, request("/a")), (S2C, b"%%% nonsense %%%\r\n" + response(body=b"ok"))]
    h = play(steps)
    [ev] = h.events
    assert ev["path"] == "/a" and get(ev, "http.response.body.bytes") == 2
    assert h.counters.get("http_parse_errors") == 1
    assert events_every_way(steps) == h.events


def test_bad_chunk_size_finishes_the_message_with_a_note():
    resp = response(headers={"Transfer-Encoding": "chunked"}, body=b"zz\r\nhello\r\n")
    steps = [(C2S, request("/a") + request("/b")), (S2C, resp + response(body=b"ok"))]
    h = play(steps)
    events = events_every_way(steps)
    assert events[0]["path"] == "/a"
    assert "Malformed" in get(events[0], "error.message")
    assert events[1]["path"] == "/b" and "error" not in events[1]
    assert h.counters.get("http_bad_chunks") == 1


def test_header_block_larger_than_max_header_bytes_is_dropped_and_counted():
    cfg = HttpConfig(max_header_bytes=256)
    big = request("/big", headers={"X-Fill": "f" * 400})
    steps = [(C2S, big + request("/small")), (S2C, response("431 Too Large")
                                               + response(body=b"ok"))]
    h = play(steps, cfg)
    events = events_every_way(steps, cfg)
    assert h.counters.get("http_header_too_large") == 1
    assert [e.get("path") for e in events] == [None, "/small"]
    assert get(events[0], "http.response.status_code") == 431


def test_too_many_headers_drop_the_message():
    cfg = HttpConfig(max_headers=5)
    many = request("/many", headers={f"X-{i}": "v" for i in range(10)})
    h = play([(C2S, many + request("/few")), (S2C, response() + response())], cfg)
    assert h.counters.get("http_too_many_headers") == 1
    assert [e.get("path") for e in h.events] == [None, "/few"]


def test_pending_pipelined_requests_are_bounded():
    cfg = HttpConfig(max_pending_requests=3)
    reqs = b"".join(request(f"/{i}") for i in range(5))
    h = play([(C2S, reqs)], cfg, close=False)
    assert h.counters.get("http_pending_evicted") == 2
    assert [e["path"] for e in h.events] == ["/0", "/1"]
    assert all(get(e, "error.message") == "Unmatched request" for e in h.events)
    assert len(h.state.pairing) == 3


def test_invalid_content_length_is_noted_and_read_as_zero():
    req = request("/x", "POST", {"Content-Length": "12abc"})
    h = play([(C2S, req), (S2C, response())])
    [ev] = h.events
    assert get(ev, "error.message") == "Invalid Content-Length header"
    assert h.counters.get("http_bad_content_length") == 1


def test_response_arriving_with_requests_direction_swapped_later_is_an_error():
    steps = [(C2S, request("/a")), (S2C, response()), (C2S, response()),
             (C2S, request("/b")), (S2C, response())]
    h = play(steps)
    assert [e["path"] for e in h.events] == ["/a", "/b"]
    assert h.counters.get("http_wrong_direction") == 1


def test_incomplete_head_at_close_is_counted_not_published():
    h = play([(C2S, b"GET /never-finished HTTP/1.1\r\nHost: a\r\n")])
    assert h.events == []
    assert h.counters.get("http_incomplete_messages") == 1
