"""The DNS message grammar: names, compression, bounds, and how cut messages decode."""

from __future__ import annotations

import struct

import pytest

from shardbeat.protocols.dns.wire import MAX_POINTERS, Malformed, decode, read_name, trim_dot
from tests.protocols.dns_messages import A, QR, RD, a_answer, message, name, opt, pointer, \
    question, query, response, rr


def test_a_plain_query_decodes_header_and_question():
    msg = decode(query("www.example.com", msg_id=0xBEEF))
    assert msg.id == 0xBEEF and not msg.is_response and msg.opcode == 0
    assert msg.flag(RD) and msg.rcode == 0
    assert [(q.name, q.qtype, q.qclass) for q in msg.questions] == [("www.example.com", 1, 1)]
    assert not msg.incomplete and msg.opt is None


def test_names_follow_compression_pointers():
    raw = response("a.example.org", answers=[a_answer("192.0.2.1")])
    msg = decode(raw)
    assert raw[msg.answers[0].rdata_off - 12:][:2] == pointer(12)
    assert msg.answers[0].name == "a.example.org"


def test_a_pointer_after_labels_joins_both_parts():
    # "www" + pointer to "example.com" inside the question.
    raw = message(questions=[question("example.com")],
                  answers=[rr(b"\x03www" + pointer(12), A, bytes(4))])
    assert decode(raw).answers[0].name == "www.example.com"


def test_a_pointer_loop_is_malformed_not_endless():
    raw = message(questions=[question(pointer(12))], counts=(1, 0, 0, 0))
    with pytest.raises(Malformed, match="pointers"):
        read_name(raw, 12)
    msg = decode(raw)
    assert msg.incomplete and msg.is_empty()


def test_a_two_pointer_cycle_is_bounded_too():
    body = pointer(14) + pointer(12)
    raw = struct.pack("!6H", 1, 0, 1, 0, 0, 0) + body
    with pytest.raises(Malformed):
        read_name(raw, 12)


def test_a_chain_of_pointers_up_to_the_limit_is_followed():
    # Pointer i points at pointer i-1; the first points at a real name.
    base = name("x")
    chain = bytearray(struct.pack("!6H", 1, 0, 0, 0, 0, 0) + base)
    target = 12
    for _ in range(MAX_POINTERS):
        here = len(chain)
        chain += pointer(target)
        target = here
    assert read_name(bytes(chain), target)[0] == "x."
    chain += pointer(target)
    with pytest.raises(Malformed):
        read_name(bytes(chain), len(chain) - 2)


def test_a_name_longer_than_255_octets_is_malformed():
    labels = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\0"
    with pytest.raises(Malformed, match="255"):
        read_name(bytes(12) + labels, 12)


def test_a_pointer_past_the_end_is_malformed():
    with pytest.raises(Malformed):
        read_name(bytes(12) + pointer(0x3FFF), 12)


def test_extended_label_types_are_malformed():
    with pytest.raises(Malformed, match="label type"):
        read_name(bytes(12) + b"\x41abc\0", 12)


def test_special_and_unprintable_label_bytes_are_escaped_as_miekg_does():
    raw = bytes(12) + b"\x07a.b c\"\x01\x03com\0"
    assert read_name(raw, 12)[0] == 'a\\.b\\ c\\"\\001.com.'


def test_the_root_name_is_a_dot_and_keeps_it():
    assert read_name(bytes(12) + b"\0", 12) == (".", 13)
    assert trim_dot(".") == "." and trim_dot("a.b.") == "a.b" and trim_dot("a") == "a"


def test_counts_larger_than_the_data_are_cut_at_a_record_boundary():
    raw = message(flags=QR, questions=[question("example.com")],
                  answers=[a_answer("192.0.2.1")], counts=(1, 5, 2, 3))
    msg = decode(raw)
    assert len(msg.answers) == 1 and not msg.authorities and not msg.additionals
    assert not msg.incomplete


def test_a_record_cut_mid_way_keeps_what_came_before_and_is_incomplete():
    raw = response("example.com", answers=[a_answer("192.0.2.1"), a_answer("192.0.2.2")])
    msg = decode(raw[:-2])
    assert msg.incomplete
    assert len(msg.answers) == 1 and msg.questions[0].name == "example.com"


def test_rdata_longer_than_the_message_is_incomplete():
    raw = message(questions=[question("e.com")], answers=[rr(pointer(12), A, bytes(4))])
    cut = raw[:-4] + b"\x00"  # rdlength says 4, one byte left
    assert decode(cut).incomplete


def test_short_or_header_only_messages():
    assert decode(b"\x12\x34") is None
    msg = decode(struct.pack("!6H", 7, 0, 0, 0, 0, 0))
    assert msg.is_empty() and not msg.incomplete


def test_the_last_opt_record_is_the_edns_one():
    raw = message(questions=[question("e.com")],
                  additionals=[opt(udp_size=1232), a_answer("192.0.2.1"), opt(udp_size=4096)])
    msg = decode(raw)
    assert msg.opt.rclass == 4096 and len(msg.additionals) == 3
