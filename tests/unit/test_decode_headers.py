"""The batch decoder's header reading in C (decode/_headers.c) gives exactly the columns
numpy gives (decode_columns_np): the same frames on the fast path, every column equal in
value and type, the same frames left to the scalar decoder. On well-formed frames of every
shape, on the same frames with header bytes overwritten or cut short, and on every frame
of Packetbeat's own captures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.capture.batch import pack_frames
from shardbeat.decode import batch as decode_batch
from shardbeat.decode.batch import Columns, decode_columns_np
from tests.conformance.pcaps import PCAPS, all_pcaps
from tests.unit.packets import eth, ipv4, ipv6, tcp, udp
from tests.unit.test_batch_equivalence import frames_of

pytestmark = pytest.mark.skipif(not decode_batch.COMPILED_DECODE,
                                reason="the C header decoder was not built (no C compiler)")


def same_columns(frames):
    batch = pack_frames(frames)
    c_cols, c_slow = decode_batch._decode_compiled(batch)
    n_cols, n_slow = decode_columns_np(batch)
    assert c_slow.tolist() == n_slow.tolist()
    for name in Columns.__slots__:
        got, want = getattr(c_cols, name), getattr(n_cols, name)
        assert got.dtype == want.dtype, name
        assert got.tolist() == want.tolist(), name
    return c_cols, c_slow


def segment(kind, payload, sport, dport, flags):
    if kind == "udp":
        return udp(payload, sport=sport, dport=dport)
    return tcp(payload, sport=sport, dport=dport, flags=flags)


@st.composite
def frames(draw):
    """A frame of a shape the fast path takes or one it must refuse, then maybe mangled:
    bytes of its first 80 overwritten, or its tail cut off."""
    kind = draw(st.sampled_from(["tcp", "udp"]))
    payload = draw(st.binary(max_size=200))
    l4 = segment(kind, payload, draw(st.integers(0, 65535)), draw(st.integers(0, 65535)),
                 draw(st.sampled_from([0x02, 0x10, 0x18, 0x11, 0x04])))
    l3 = ipv4(l4) if draw(st.booleans()) else ipv6(l4)
    vlans = draw(st.sampled_from([(), (7,), (4095,), (5, 6)]))
    frame = bytearray(eth(l3, vlans=vlans))
    for _ in range(draw(st.integers(0, 3))):
        frame[draw(st.integers(0, min(79, len(frame) - 1)))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(frame)))
    if draw(st.booleans()):
        frame = frame[:cut]
    linktype = draw(st.sampled_from([1, 1, 1, 113]))
    return (draw(st.integers(0, 2**62)), linktype, bytes(frame), len(frame) + 4)


@settings(max_examples=300, deadline=None)
@given(st.lists(frames(), max_size=30))
def test_random_and_mangled_frames_decode_alike(batch_frames):
    same_columns(batch_frames)


def test_every_shape_the_fast_path_takes_is_taken():
    shapes = [eth(ipv4(tcp(b"GET / HTTP/1.1\r\n\r\n"))), eth(ipv6(udp(b"q" * 30))),
              eth(ipv4(udp(b"")), vlans=(42,)), eth(ipv6(tcp(b"x", flags=0x12)), vlans=(9,))]
    cols, slow = same_columns([(i, 1, f, len(f)) for i, f in enumerate(shapes)])
    assert cols.idx.tolist() == [0, 1, 2, 3] and not len(slow)
    assert cols.version.tolist() == [4, 6, 4, 6] and cols.vlan.tolist() == [0, 0, 42, 9]
    assert cols.has_vlan.tolist() == [False, False, True, True]


def test_an_empty_batch():
    cols, slow = same_columns([])
    assert not len(cols) and not len(slow)


def test_arrays_that_do_not_fit_the_batch_are_refused():
    batch = pack_frames([(0, 1, eth(ipv4(udp(b"x"))), 60)])
    small = np.empty(1, dtype=np.int64)
    with pytest.raises(ValueError, match="do not fit one batch"):
        decode_batch._headers.decode(batch.data, batch.offsets, batch.caplen, batch.linktype,
                                     small, small, small, small)


@pytest.mark.parametrize("path", all_pcaps(), ids=lambda p: str(p.relative_to(PCAPS)))
def test_every_frame_of_packetbeats_captures_decodes_alike(path):
    same_columns(frames_of(path))
