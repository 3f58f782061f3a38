"""The record walk in C (capture/_recwalk.c) finds exactly what the Python walk finds:
record starts, the bytes they span and whether a corrupt header stopped it, on windows of
whole records, records cut short, implausible lengths and plain noise."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.capture import batch as batch_module
from shardbeat.capture.batch import PAD, locate_records_py

pytestmark = pytest.mark.skipif(not batch_module.COMPILED_WALK,
                                reason="the C record walk was not built (no C compiler)")
MAX_RECORD = 1 << 18


def compiled(data, end, max_record):
    return batch_module._locate_compiled(data, end, max_record)


def same(data, end, max_record=MAX_RECORD):
    c_starts, c_end, c_corrupt = compiled(data, end, max_record)
    p_starts, p_end, p_corrupt = locate_records_py(data, end, max_record)
    assert c_starts.dtype == np.int64
    assert (c_starts.tolist(), c_end, c_corrupt) == (p_starts.tolist(), p_end, p_corrupt)
    return c_starts.tolist(), c_end, c_corrupt


def records(lengths):
    return b"".join(struct.pack("<IIII", i, 0, n, n) + bytes([i % 256]) * n
                    for i, n in enumerate(lengths))


def test_whole_records_are_all_found():
    data = records([60, 0, 1514, 9000]) + b"\0" * PAD
    starts, end, corrupt = same(data, len(data) - PAD)
    assert starts == [0, 76, 92, 1622] and end == 1622 + 16 + 9000 and not corrupt


def test_a_record_cut_short_is_left_for_the_next_window():
    data = records([100, 200, 300])
    assert same(data, len(data) - 1) == ([0, 116], 116 + 216, False)


def test_an_implausible_length_stops_the_walk_where_it_is():
    data = bytearray(records([100, 200, 300, 400]))
    struct.pack_into("<I", data, 116 + 8, MAX_RECORD + 1)
    assert same(bytes(data), len(data)) == ([0], 116, True)


@settings(max_examples=400, deadline=None)
@given(lengths=st.lists(st.integers(0, 3000), max_size=40), cut=st.integers(0, 5000),
       bad=st.none() | st.tuples(st.integers(0, 39), st.integers(0, (1 << 32) - 1)),
       max_record=st.sampled_from([1500, 3000, MAX_RECORD]))
def test_random_windows_walk_alike(lengths, cut, bad, max_record):
    data = bytearray(records(lengths))
    if bad is not None and bad[0] < len(lengths):
        struct.pack_into("<I", data, sum(16 + n for n in lengths[:bad[0]]) + 8, bad[1])
    end = max(0, len(data) - cut)
    same(bytes(data), end, max_record)


@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=600), max_record=st.integers(0, 1 << 20))
def test_noise_walks_alike(noise, max_record):
    for end in {-PAD, 0, len(noise) // 2, len(noise)}:
        same(noise, end, max_record)


def test_an_end_beyond_the_buffer_is_refused():
    with pytest.raises(ValueError, match="outside a buffer of 10 bytes"):
        compiled(b"\0" * 10, 11, MAX_RECORD)
