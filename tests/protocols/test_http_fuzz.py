"""Random and mutated HTTP streams never raise out of feed/gap/fin/close/expire, never
consume more than they are given, and keep their state bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardbeat.protocols.base import Direction
from shardbeat.protocols.http.config import HttpConfig
from tests.protocols.test_http_driver import (
    C2S, S2C, Harness, T0, chunked, request, response,
)

PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"

CONFIGS = [
    HttpConfig(),
    HttpConfig(send_all_headers=True, split_cookie=True, redact_authorization=True,
               include_body_for=[""], send_request=True, send_response=True,
               hide_keywords=["pass"], real_ip_header="X-Forwarded-For",
               max_message_size=512, max_header_bytes=256, max_headers=8,
               max_pending_requests=4),
]

VALID = [
    request("/a?pass=1&x=%41"), request("/p", "POST", {"Content-Type":
                                                       "application/x-www-form-urlencoded"},
                                        b"a=1&pass=2"),
    request("/c", "PUT", {"Transfer-Encoding": "chunked"}, chunked(b"abc", b"de")),
    request("/h", "HEAD"), request("/u", headers={"Upgrade": "x", "Connection": "Upgrade"}),
    response(body=b"hello"), response("100 Continue", length=False),
    response(headers={"Transfer-Encoding": "chunked", "Content-Encoding": "gzip"},
             body=chunked(b"\x1f\x8b\x08\x00junk")),
    response("304 Not Modified", length=False), response("101 Switching", length=False),
    response(headers={"Connection": "close", "Set-Cookie": "a=1; b"}, body=b"x" * 40,
             length=False),
]

steps = st.one_of(
    st.tuples(st.sampled_from([C2S, S2C]), st.binary(max_size=300)),
    st.tuples(st.sampled_from([C2S, S2C]), st.sampled_from(VALID)),
    st.tuples(st.just("gap"), st.sampled_from([C2S, S2C]), st.integers(1, 5000)),
    st.tuples(st.just("fin"), st.sampled_from([C2S, S2C])),
    st.tuples(st.just("expire"), st.integers(0, 20)),
)


def drive(h: Harness, script: list, cut: int) -> None:
    ts = T0
    for step in script:
        ts += 1_000_000
        if step[0] == "gap":
            h.gap(step[1], step[2])
        elif step[0] == "fin":
            h.fin(step[1], ts)
        elif step[0] == "expire":
            ts += step[1] * 1_000_000_000
            h.parser.expire(h.state, ts)
        else:
            data = step[1]
            for i in range(0, len(data), cut):
                h.push(step[0], data[i:i + cut], ts)
    h.close(ts + 1)
    assert len(h.state.pairing) == 0
    for event in h.events:
        assert event["type"] == "http" and "@timestamp" in event


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(steps, max_size=12), cut=st.integers(1, 64),
       which=st.sampled_from(range(len(CONFIGS))))
def test_random_streams_never_raise(script, cut, which):
    drive(Harness(CONFIGS[which]), script, cut)


def _mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for pos, value in flips:
        if out:
            out[pos % len(out)] = value
    return bytes(out)


@settings(max_examples=250, deadline=None)
@given(req=st.sampled_from(VALID[:5]), resp=st.sampled_from(VALID[5:]),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
       cut=st.integers(1, 50), which=st.sampled_from(range(len(CONFIGS))))
def test_mutated_messages_never_raise(req, resp, flips, cut, which):
    script = [(C2S, _mutate(req, flips)), (S2C, _mutate(resp, flips[::-1])),
              (C2S, request("/after")), (S2C, response(body=b"ok"))]
    drive(Harness(CONFIGS[which]), script, cut)


def test_probe_recognises_message_starts_only():
    h = Harness()
    probe = h.parser.probe
    assert probe(memoryview(b"GET / HTTP/1.1\r\n"), Direction.TO_SERVER)
    assert probe(memoryview(b"HTTP/1.1 200 OK\r\n"), Direction.TO_CLIENT)
    assert probe(memoryview(b"HTTP/1"), Direction.TO_CLIENT)
    assert not probe(memoryview(b"\x16\x03\x01\x02\x00"), Direction.TO_SERVER)
    assert not probe(memoryview(b"SSH-2.0-OpenSSH"), Direction.TO_CLIENT)
    assert not probe(memoryview(b""), Direction.TO_SERVER)


def _capture_script(name: str) -> list:
    """The TCP payloads of a Packetbeat capture, in order, as driver steps (server = the
    side on an HTTP port)."""
    import dpkt

    path = PCAPS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: Packetbeat's captures live in ../shared/pcaps")
    script = []
    with open(path, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        link = dpkt.sll.SLL if reader.datalink() == dpkt.pcap.DLT_LINUX_SLL \
            else dpkt.ethernet.Ethernet
        for _, frame in reader:
            tcp = getattr(link(frame).data, "data", None)
            if isinstance(tcp, dpkt.tcp.TCP) and tcp.data:
                script.append((C2S if tcp.dport in HTTP_PORTS else S2C, bytes(tcp.data)))
    assert any(data.startswith((b"GET ", b"POST ")) for _, data in script)
    return script


HTTP_PORTS = {80, 8000, 8002, 8080, 8888, 9200}
CAPTURES = ["http_post.pcap", "http_basicauth.pcap", "wsgi_loopback.pcap",
            "http_minitwit.pcap", "gap_in_stream.pcap", "hide_secret_POST.pcap"]


@pytest.mark.parametrize("name", CAPTURES)
@settings(max_examples=25, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1,
                      max_size=8),
       cut=st.integers(1, 1500))
def test_captures_with_bytes_flipped_never_raise(name, flips, cut):
    script = _capture_script(name)
    mutated = [(d, _mutate(data, flips[i % len(flips):])) for i, (d, data) in
               enumerate(script)]
    drive(Harness(CONFIGS[1]), mutated, cut)
