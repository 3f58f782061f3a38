"""HTTP events from Packetbeat's HTTP captures, against two oracles:

- Packetbeat's own expectations: its golden event (golden/http_basic_auth-expected.json)
  and the assertions of its system tests (test_0003, 0006, 0008, 0010, 0012, 0019, 0023,
  0024, 0029, 0062, 0063 in packetbeat/tests/system/), with the same options;
- tshark, run on the capture: per transaction the method, target, status code and phrase,
  Content-Length, Host and User-Agent it decodes, the application bytes each side sent,
  and the time between the first request and first response segments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict

import pytest

from shardbeat.worker import replay_events
from tests.conformance.pcaps import pcap

PB = "shardbeat.protocols.http."


def http_events(name: str, *overrides: str) -> list[dict]:
    return [e for e in replay_events(str(pcap(name)), list(overrides)) if e["type"] == "http"]


def paired(events: list[dict]) -> list[dict]:
    return [e for e in events if "url" in e and "response" in e["http"]]


def flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and not key.endswith("headers"):
            out.update(flat(value, f"{prefix}{key}."))
        elif isinstance(value, dict):
            out.update({f"{prefix}{key}.{k}": v for k, v in value.items()})
        else:
            out[f"{prefix}{key}"] = value
    return out


# -- Packetbeat's golden event ----------------------------------------------------------

GOLDEN_BASIC_AUTH = {  # golden/http_basic_auth-expected.json, the http event
    "client.bytes": 130, "client.ip": "172.31.98.49", "client.port": 55874,
    "destination.bytes": 1591, "destination.domain": "www.example.com",
    "destination.ip": "93.184.216.34", "destination.port": 80,
    "event.category": ["network"], "event.dataset": "http", "event.duration": 18341000,
    "event.kind": "event", "event.type": ["connection", "protocol"],
    "http.request.bytes": 130, "http.request.headers.accept": "*/*",
    "http.request.headers.authorization": "Basic c2ltcGxlc2ltb246YWJjZDEyMys=",
    "http.request.headers.content-length": 0,
    "http.request.headers.host": "www.example.com",
    "http.request.headers.user-agent": "curl/7.37.1", "http.request.method": "GET",
    "http.response.body.bytes": 1270, "http.response.bytes": 1591,
    "http.response.headers.accept-ranges": "bytes",
    "http.response.headers.cache-control": "max-age=604800",
    "http.response.headers.content-length": 1270,
    "http.response.headers.content-type": "text/html",
    "http.response.headers.date": "Wed, 18 Feb 2015 00:13:06 GMT",
    "http.response.headers.etag": '"359670651"',
    "http.response.headers.expires": "Wed, 25 Feb 2015 00:13:06 GMT",
    "http.response.headers.last-modified": "Fri, 09 Aug 2013 23:54:35 GMT",
    "http.response.headers.server": "ECS (pae/3796)",
    "http.response.headers.x-cache": "HIT", "http.response.headers.x-ec-custom-error": "1",
    "http.response.status_code": 200, "http.response.status_phrase": "ok",
    "http.version": "1.1", "method": "GET", "network.bytes": 1721,
    "network.community_id": "1:TMPM5eEnGOXfxAjx6NKlyjx+X10=", "network.protocol": "http",
    "network.transport": "tcp", "network.type": "ipv4", "query": "GET /",
    "related.hosts": ["www.example.com"], "related.ip": ["172.31.98.49", "93.184.216.34"],
    "related.user": ["simplesimon"], "server.bytes": 1591,
    "server.domain": "www.example.com", "server.ip": "93.184.216.34", "server.port": 80,
    "source.bytes": 130, "source.ip": "172.31.98.49", "source.port": 55874,
    "status": "OK", "type": "http", "url.domain": "www.example.com",
    "url.full": "http://www.example.com/", "url.path": "/", "url.scheme": "http",
    "user.name": "simplesimon", "user_agent.original": "curl/7.37.1",
}


def test_basic_auth_event_equals_packetbeats_golden_event():
    [ev] = http_events("http_basicauth.pcap", PB + "send_all_headers=true")
    got = flat(ev)
    wanted_keys = set(GOLDEN_BASIC_AUTH)
    ours = {k: v for k, v in got.items() if k in wanted_keys}
    assert ours == GOLDEN_BASIC_AUTH
    extra = {k for k in got if k.split(".")[0] in ("http", "url", "user", "related")}
    assert extra <= wanted_keys


# -- tshark as the oracle ---------------------------------------------------------------

TSHARK_FIELDS = ("tcp.stream", "http.request.method", "http.request.uri",
                 "http.response.code", "http.response.phrase", "http.content_length_header",
                 "http.host", "http.user_agent")


def tshark(path: str, *args: str) -> list[list[str]]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=\t",
                          *args], capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def tshark_transactions(path: str) -> dict[str, dict]:
    """Per TCP stream with one transaction: what tshark decodes of it."""
    rows = tshark(path, "-Y", "http", *sum((["-e", f] for f in TSHARK_FIELDS), []))
    by_stream: dict[str, dict] = defaultdict(dict)
    for stream, method, uri, code, phrase, length, host, agent in rows:
        if method:
            by_stream[stream].update(method=method, uri=uri, host=host, agent=agent)
        else:
            by_stream[stream].update(code=int(code), phrase=phrase,
                                     length=int(length) if length else None)
    segs = tshark(path, "-Y", "tcp.len>0 && !tcp.analysis.retransmission", "-e",
                  "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.len", "-e",
                  "frame.time_epoch")
    for stream, sport, length, when in segs:
        side = by_stream[stream].setdefault(int(sport), {"bytes": 0, "first": when})
        side["bytes"] += int(length)
    return by_stream


def _ns(epoch: str) -> int:
    secs, _, frac = epoch.partition(".")
    return int(secs) * 1_000_000_000 + int((frac + "000000000")[:9])


SINGLE = [
    ("http_basicauth.pcap", ()),
    ("http_10_connection_close.pcap", ()),
    ("http_get_2k_file.pcap", ()),
    ("http_over_vlan.pcap", ()),
    ("http_realip.pcap", ()),
    ("http_x_forwarded_for.pcap", ()),
    ("hide_secret_GET.pcap", ()),
    ("hide_secret_POST.pcap", ()),
    ("http_post_json.pcap", (PB + "ports=[9200]",)),
    ("wsgi_loopback.pcap", (PB + "ports=[8888]",)),
]


@pytest.mark.parametrize("name,overrides", SINGLE, ids=[s[0] for s in SINGLE])
def test_transaction_fields_match_what_tshark_decodes(name, overrides):
    path = str(pcap(name))
    expected = {k: v for k, v in tshark_transactions(path).items() if "method" in v}
    events = paired(http_events(name, *overrides))
    assert len(events) == len(expected) == 1
    [ev], [tx] = events, expected.values()
    path_part, _, query = tx["uri"].partition("?")
    assert ev["method"] == ev["http"]["request"]["method"] == tx["method"]
    assert ev["path"] == path_part and ev["query"] == f"{tx['method']} {path_part}"
    assert ev["http"]["response"]["status_code"] == tx["code"]
    assert ev["http"]["response"]["status_phrase"] == tx["phrase"].lower()
    if tx["length"] is not None:
        assert ev["http"]["response"]["headers"]["content-length"] == tx["length"]
        assert ev["http"]["response"]["body"]["bytes"] == tx["length"]
    host = tx["host"].rsplit(":", 1)[0] if tx["host"].count(":") == 1 else tx["host"]
    assert ev["url"]["domain"] == host
    assert ev["user_agent"]["original"] == tx["agent"]
    client, server = tx[ev["source"]["port"]], tx[ev["destination"]["port"]]
    assert ev["source"]["bytes"] == client["bytes"]
    assert ev["destination"]["bytes"] == server["bytes"]
    assert ev["event"]["duration"] == _ns(server["first"]) - _ns(client["first"])


# -- Packetbeat's system tests ----------------------------------------------------------


def test_minitwit_three_transactions_as_test_0003():
    events = http_events("http_minitwit.pcap", PB + "ports=[80]")
    assert [(e["client"]["ip"], e["client"]["port"], e["server"]["ip"], e["server"]["port"])
            for e in events] == [("192.168.1.104", 54742, "192.168.1.110", 80)] * 3
    assert [e["status"] for e in events] == ["OK", "OK", "Error"]
    assert [(e["source"]["bytes"], e["destination"]["bytes"]) for e in events] == [
        (364, 1000), (471, 234), (289, 396)]


def test_wsgi_loopback_as_test_0006():
    ports = PB + "ports=[8888]"
    [o] = http_events("wsgi_loopback.pcap", ports)
    assert (o["client"]["port"], o["server"]["port"], o["status"]) == (46249, 8888, "OK")
    assert (o["method"], o["path"]) == ("GET", "/")
    assert o["http"]["response"]["status_code"] == 200
    assert o["http"]["response"]["status_phrase"] == "ok"
    assert "request" not in o and "response" not in o
    [o] = http_events("wsgi_loopback.pcap", ports, PB + "send_request=true",
                      PB + "send_response=true")
    assert "request" in o and "response" in o
    [o] = http_events("wsgi_loopback.pcap", ports, PB + "send_headers=[content-type]",
                      PB + "include_body_for=[text/html]", PB + "send_response=true")
    assert len(o["response"]) > 20000


def test_wsgi_loopback_headers_and_cookies_as_test_0006():
    ports = PB + "ports=[8888]"
    [o] = http_events("wsgi_loopback.pcap", ports, PB + "send_all_headers=true")
    assert o["http"]["request"]["headers"]["cache-control"] == "max-age=0"
    assert isinstance(o["http"]["response"]["headers"]["set-cookie"], str)
    [o] = http_events("wsgi_loopback.pcap", ports,
                      PB + "send_headers=[User-Agent,content-Type,x-forwarded-for]")
    assert "user-agent" in o["http"]["request"]["headers"]
    [o] = http_events("wsgi_loopback.pcap", ports, PB + "send_all_headers=true",
                      PB + "split_cookie=true")
    assert len(o["http"]["request"]["headers"]["cookie"]) == 6
    assert len(o["http"]["response"]["headers"]["set-cookie"]) == 4


def test_wsgi_drum_sixteen_transactions_one_server_error_as_test_0006():
    events = paired(http_events("wsgi_drum.pcap", PB + "ports=[8888]"))
    assert len(events) == 16
    assert all(e["server"]["port"] == 8888 for e in events)
    assert [i for i, e in enumerate(events) if e["status"] != "OK"] == [13]
    assert events[13]["path"] == "/comment/"
    assert events[13]["http"]["response"]["status_code"] == 500


def test_wsgi_drum_has_no_events_besides_its_sixteen_transactions():
    assert len(http_events("wsgi_drum.pcap", PB + "ports=[8888]")) == 16


def test_real_ip_header_as_test_0008():
    [o] = http_events("http_realip.pcap", PB + "real_ip_header=X-Forward-For")
    assert o["network"]["forwarded_ip"] == "89.247.39.104"


def test_http10_connection_close_as_test_0010():
    [o] = http_events("http_10_connection_close.pcap", PB + "ports=[8000]")
    assert o["status"] == "OK" and o["http"]["response"]["status_code"] == 200
    assert o["http"]["response"]["headers"]["content-length"] == 11422
    assert (o["client"]["ip"], o["client"]["port"]) == ("127.0.0.1", 37885)
    assert (o["server"]["ip"], o["server"]["port"]) == ("127.0.0.1", 8000)


def test_redact_authorization_as_test_0012():
    [o] = http_events("http_basicauth.pcap", PB + "send_all_headers=true",
                      PB + "redact_authorization=true", PB + "send_request=true")
    assert o["http"]["request"]["headers"]["authorization"] == "*"
    assert re.search(r"[Aa]uthorization:\*+", o["request"])
    assert "c2ltcGxlc2ltb24" not in str(o)


@pytest.mark.parametrize("name", ["hide_secret_POST.pcap", "hide_secret_GET.pcap"])
def test_hide_keywords_as_test_0019(name):
    [o] = http_events(name, PB + "hide_keywords=[pass,password]")
    assert o["url"]["query"] == "pass=xxxxx&user=monica" and o["path"] == "/login"
    assert "secret" not in str(o)
    [o] = http_events(name)
    assert o["url"]["query"] == "pass=secret&user=monica"


def test_form_and_url_params_as_tests_0023_and_0024():
    [o] = [e for e in http_events("http_post.pcap") if e.get("path") == "/register"]
    assert o["url"]["query"] == "address=anklamerstr.14b&telephon=8932784368&user=monica"
    assert o["query"] == "POST /register"
    [o] = [e for e in http_events("http_url_params.pcap")
           if e.get("path") == "/dashboard/transactions"]
    assert o["url"]["query"] == "input=packetbeat&src_ip=192.35.243.1"
    assert o["query"] == "GET /dashboard/transactions"


def test_gap_in_large_file_as_test_0029():
    [o] = http_events("gap_in_stream.pcap", PB + "ports=[8000]")
    assert o["status"] == "OK"
    assert o["error"]["message"] == "Packet loss while capturing the response"


def test_send_headers_always_adds_length_and_type_as_test_0062():
    [o] = [e for e in http_events("http_post.pcap", PB + "send_headers=[host]")
           if e.get("path") == "/register"]
    for side in ("request", "response"):
        assert {"content-length", "content-type"} <= set(o["http"][side]["headers"])
    [o] = [e for e in http_events("http_post.pcap", PB + "send_all_headers=true")
           if e.get("path") == "/register"]
    assert {"host", "user-agent"} <= set(o["http"]["request"]["headers"])
    assert {"date", "connection", "server"} <= set(o["http"]["response"]["headers"])


def test_include_body_for_as_test_0063():
    [o] = [e for e in http_events("http_post.pcap",
                                  PB + "include_body_for=[x-www-form-urlencoded]",
                                  PB + "send_response=true") if e.get("path") == "/register"]
    req, resp = o["http"]["request"], o["http"]["response"]
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert resp["headers"]["content-type"] == "text/html; charset=utf-8"
    assert req["body"]["content"] and "content" not in resp["body"]
    assert len(o["response"]) == 172 and "request" not in o
    [o] = http_events("http_post_json.pcap", PB + "ports=[9200]",
                      PB + "include_body_for=[x-www-form-urlencoded,json]")
    assert o["url"]["query"] == "%7B+%22query%22%3A+%7B+%22match_all%22%3A+%7B%7D%7D%7D%0A="
    assert o["http"]["request"]["body"]["content"] and o["http"]["response"]["body"]["content"]
    [o] = http_events("http_get_2k_file.pcap", PB + "ports=[8000]",
                      PB + "include_body_for=[binary]", PB + "max_message_size=1024")
    assert 500 < len(o["http"]["response"]["body"]["content"]) < 2000
