"""Every HTTP option and the fields it shapes, each case under every chunking."""

from __future__ import annotations

import base64
import gzip
import zlib

from shardbeat.protocols.http.config import HttpConfig
from tests.protocols.test_http_driver import (
    C2S, S2C, events_every_way, get, play, request, response,
)

AUTH = "Basic " + base64.b64encode(b"simplesimon:abcd123+").decode()


def one(req: bytes, resp: bytes, **cfg) -> dict:
    [ev] = events_every_way([(C2S, req), (S2C, resp)], HttpConfig(**cfg))
    return ev


def test_headers_always_carry_content_length_and_type_only_by_default():
    ev = one(request(headers={"User-Agent": "curl"}),
             response(headers={"Content-Type": "text/html"}, body=b"<p>"))
    assert get(ev, "http.request.headers") == {"content-length": 0}
    assert get(ev, "http.response.headers") == {"content-length": 3,
                                                "content-type": "text/html"}


def test_send_headers_captures_the_listed_names_case_insensitively():
    ev = one(request(headers={"User-Agent": "curl", "Accept": "*/*"}),
             response(headers={"Server": "nginx", "X-Other": "no"}),
             send_headers=["user-agent", "SERVER"])
    assert get(ev, "http.request.headers") == {"content-length": 0, "user-agent": "curl"}
    assert get(ev, "http.response.headers") == {"content-length": 0, "server": "nginx"}


def test_send_all_headers_lower_cases_names_and_joins_repeats():
    req = (b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nACCEPT: b\r\n\r\n")
    ev = one(req, response(), send_all_headers=True)
    assert get(ev, "http.request.headers") == {"content-length": 0, "host": "h",
                                               "accept": "a, b"}


def test_split_cookie_turns_cookies_into_objects():
    req = request(headers={"Cookie": 'a=1; B="two"; c=x=y; flag'})
    resp = response(headers={"Set-Cookie": "sid=abc; Path=/"})
    ev = one(req, resp, send_all_headers=True, split_cookie=True)
    assert get(ev, "http.request.headers.cookie") == {"a": "1", "b": "two", "c": "x=y"}
    assert get(ev, "http.response.headers.set-cookie") == {"sid": "abc", "path": "/"}


def test_cookie_stays_a_string_without_split_cookie():
    ev = one(request(headers={"Cookie": "a=1; b=2"}), response(), send_all_headers=True)
    assert get(ev, "http.request.headers.cookie") == "a=1; b=2"


def test_basic_auth_gives_user_name_and_related_user():
    ev = one(request(headers={"Authorization": AUTH}), response())
    assert get(ev, "user.name") == "simplesimon"
    assert get(ev, "related.user") == ["simplesimon"]


def test_redact_authorization_stars_credentials_but_keeps_user_name():
    req = request(headers={"Authorization": AUTH, "Proxy-Authorization": "Bearer t"})
    ev = one(req, response(), redact_authorization=True, send_all_headers=True,
             send_request=True)
    assert get(ev, "http.request.headers.authorization") == "*"
    assert get(ev, "http.request.headers.proxy-authorization") == "*"
    assert "Authorization:" + "*" * (len(AUTH) + 1) + "\r\n" in ev["request"]
    assert "Proxy-Authorization:*********\r\n" in ev["request"]
    assert "c2ltcGxl" not in str(ev)
    assert get(ev, "user.name") == "simplesimon"


def test_redact_headers_keeps_the_header_but_hides_its_value():
    req = request(headers={"X-Api-Key": "s3cr3t", "Accept": "*/*"})
    ev = one(req, response(), send_all_headers=True, redact_headers=["x-api-key"],
             send_request=True)
    assert get(ev, "http.request.headers.x-api-key") == "REDACTED"
    assert get(ev, "http.request.headers.accept") == "*/*"
    assert "s3cr3t" not in str(ev) and "X-Api-Key: REDACTED\r\n" in ev["request"]


def test_hide_keywords_masks_query_and_form_parameters():
    body = b"user=monica&pass=secret"
    req = request("/login?Password=x&q=1", "POST",
                  {"Content-Type": "application/x-www-form-urlencoded"}, body)
    ev = one(req, response(), hide_keywords=["pass", "password"])
    assert get(ev, "url.query") == "Password=xxxxx&pass=xxxxx&q=1&user=monica"
    assert "secret" not in str(ev) and ev["path"] == "/login"


def test_form_parameters_are_reported_without_hide_keywords():
    body = b"b=2&a=hello+world&a=%21"
    req = request("/f", "POST", {"Content-Type": "application/x-www-form-urlencoded"}, body)
    ev = one(req, response())
    assert get(ev, "url.query") == "a=hello+world&a=%21&b=2"
    assert get(ev, "url.full") == "http://example.com/f?a=hello+world&a=%21&b=2"


def test_real_ip_header_becomes_forwarded_ip_and_related_ip():
    req = request(headers={"X-Forwarded-For": "89.247.39.104, 10.1.1.1"})
    ev = one(req, response(), real_ip_header="X-Forwarded-For")
    assert get(ev, "network.forwarded_ip") == "89.247.39.104"
    assert get(ev, "related.ip") == ["10.0.0.1", "10.0.0.2", "89.247.39.104"]


def test_include_body_for_keeps_matching_bodies_and_sniffs_their_type():
    req = request("/j", "POST", {"Content-Type": "application/json"}, b'{"a": 1}')
    resp = response(headers={"Content-Type": "text/html"}, body=b"<html><p>hi</p></html>")
    ev = one(req, resp, include_body_for=["json"], send_response=True, send_request=True)
    assert get(ev, "http.request.body.content") == '{"a": 1}'
    assert get(ev, "http.request.mime_type") == "application/json"
    assert "content" not in get(ev, "http.response.body")
    assert ev["request"].endswith('\r\n\r\n{"a": 1}')
    assert ev["response"].endswith("\r\n\r\n")


def test_include_request_and_response_body_for_are_separate():
    req = request("/t", "POST", {"Content-Type": "text/plain"}, b"ask")
    resp = response(headers={"Content-Type": "text/plain"}, body=b"answer")
    ev = one(req, resp, include_response_body_for=["text/plain"])
    assert "content" not in get(ev, "http.request.body")
    assert get(ev, "http.response.body.content") == "answer"
    assert get(ev, "http.response.mime_type") == "text/plain; charset=utf-8"
    ev = one(req, resp, include_request_body_for=["text/plain"])
    assert get(ev, "http.request.body.content") == "ask"
    assert "content" not in get(ev, "http.response.body")


def test_decode_body_inflates_gzip_and_deflate():
    text = b"hello hello hello " * 20
    for coding, packed in (("gzip", gzip.compress(text)), ("deflate", zlib.compress(text)),
                           ("deflate", zlib.compress(text)[2:-4])):
        resp = response(headers={"Content-Type": "text/plain", "Content-Encoding": coding},
                        body=packed)
        ev = one(request(), resp, include_body_for=["text/plain"])
        assert get(ev, "http.response.body.content") == text.decode()
        assert get(ev, "http.response.body.bytes") == len(text)
        assert get(ev, "http.response.headers.content-length") == len(packed)


def test_decode_body_false_keeps_the_encoded_bytes():
    packed = gzip.compress(b"abc")
    resp = response(headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
                    body=packed)
    ev = one(request(), resp, include_body_for=["text"], decode_body=False)
    assert get(ev, "http.response.body.bytes") == len(packed)


def test_undecodable_body_is_noted():
    resp = response(headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
                    body=b"not gzip at all")
    ev = one(request(), resp, include_body_for=["text"])
    assert get(ev, "error.message") == \
        "unable to decode body using gzip encoding: gzip: invalid header"
    assert ev["status"] == "OK"


def test_max_message_size_truncates_a_kept_body_and_notes_it():
    resp = response(headers={"Content-Type": "binary"}, body=b"b" * 2048)
    h = play([(C2S, request()), (S2C, resp)],
             HttpConfig(include_body_for=["binary"], max_message_size=1024))
    [ev] = h.events
    assert 500 < len(get(ev, "http.response.body.content")) < 1024
    assert "max_message_size" in get(ev, "error.message")
    assert get(ev, "http.response.headers.content-length") == 2048
    assert h.counters.get("http_oversize_messages") == 1


def test_send_request_and_response_without_kept_body_are_the_heads():
    req, resp = request("/r"), response(body=b"body")
    ev = one(req, resp, send_request=True, send_response=True)
    assert ev["request"] == req.decode()
    assert ev["response"] == resp[:-4].decode()


def test_url_fields_follow_the_host_header():
    req = request("/dir/a%20file.tar.gz?x=1", headers={"Host": "www.example.com:8080"})
    h = play([(C2S, req), (S2C, response())])
    [ev] = h.events
    assert get(ev, "url") == {
        "scheme": "http", "domain": "www.example.com", "port": 8080,
        "path": "/dir/a file.tar.gz", "extension": "gz", "query": "x=1",
        "full": "http://www.example.com:8080/dir/a%20file.tar.gz?x=1"}
    assert get(ev, "destination.domain") == "www.example.com"
    assert get(ev, "related.hosts") == ["www.example.com"]
    assert get(ev, "error.message") == "Host header port number mismatch"


def test_host_that_is_an_address_goes_to_related_ip_not_domain():
    ev = one(request("/", headers={"Host": "[2001:db8::1]"}), response())
    assert get(ev, "url.full") == "http://[2001:db8::1]/"
    assert "domain" not in ev["destination"]
    assert "2001:db8::1" in get(ev, "related.ip")


def test_referer_and_user_agent_fields():
    req = request(headers={"Referer": "http://a.example/", "User-Agent": "Mozilla/5.0"})
    ev = one(req, response())
    assert get(ev, "http.request.referrer") == "http://a.example/"
    assert get(ev, "user_agent.original") == "Mozilla/5.0"
    assert get(ev, "related.hosts") == ["example.com", "http://a.example/"]


def test_status_is_error_from_400_and_ok_below():
    for code, status in ((200, "OK"), (302, "OK"), (404, "Error"), (503, "Error")):
        ev = one(request(), response(f"{code} Phrase Here"))
        assert ev["status"] == status
        assert get(ev, "http.response.status_phrase") == "phrase here"


def test_bad_percent_escape_in_path_leaves_path_empty_as_packetbeat():
    ev = one(request("/bad%zzpath?a=1"), response())
    assert ev["query"] == "GET " and "path" not in get(ev, "url")
