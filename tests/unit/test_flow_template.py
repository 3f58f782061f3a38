"""Flow report templates made in C (flows/_template.c) are byte for byte those made in
Python (render.common_template_py), on random flows of the common shape: start times
with and without a fraction, any addresses, MACs and ports, either protocol; and the end
times formatted in C equal Python's, with Python taking over outside C's range (before
1970, or past 64 bits of nanoseconds)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardbeat.flows import render
from shardbeat.flows.events import COMMON_META
from shardbeat.flows.table import Flow
from shardbeat.transactions.event import timestamp_ns

pytestmark = pytest.mark.skipif(not render.COMPILED_TEMPLATE,
                                reason="the C flow template was not built (no C compiler)")
# C formats any time of 64 bits (up to 2262-04-11); Python, to the end of year 9999, takes
# the rest.
C_LAST_NS = 2**63 - 1
LAST_SECOND_NS = 253402300799 * 10**9  # 9999-12-31T23:59:59Z


def flow(proto, first_ns, src_mac, dst_mac, src_ip, dst_ip, sport, dport):
    return Flow(b"key", True, (first_ns, proto, (), src_mac, dst_mac, src_ip, dst_ip, sport,
                               dport), True)


def compiled(f):
    return render._template.common(COMMON_META[f.proto], f.proto, f.first_ns, f.src_mac,
                                   f.dst_mac, f.src_ip, f.dst_ip, f.src_port, f.dst_port)


times = st.one_of(st.integers(0, C_LAST_NS // 10**9).map(lambda s: s * 10**9),
                  st.integers(0, C_LAST_NS),
                  st.integers(1_700_000_000 * 10**9, 1_800_000_000 * 10**9))
macs = st.one_of(st.binary(min_size=6, max_size=6), st.sampled_from([b"\x02" * 6]))
ips = st.one_of(st.binary(min_size=4, max_size=4), st.sampled_from([b"\x0a\0\0\x01"]))
ports = st.integers(0, 65535)


@settings(max_examples=500, deadline=None)
@given(proto=st.sampled_from([6, 17]), first_ns=times, src_mac=macs, dst_mac=macs,
       src_ip=ips, dst_ip=ips, sport=ports, dport=ports)
def test_templates_in_c_are_those_of_python(proto, first_ns, src_mac, dst_mac, src_ip,
                                            dst_ip, sport, dport):
    f = flow(proto, first_ns, src_mac, dst_mac, src_ip, dst_ip, sport, dport)
    assert compiled(f) == render.common_template_py(f)


def test_a_known_flow_reads_as_packetbeat_writes_it():
    f = flow(6, 1_709_294_400_000_127_000, bytes.fromhex("02000a968ab7"),
             bytes.fromhex("0200ac10000b"), bytes([10, 150, 138, 183]), bytes([172, 16, 0, 11]),
             40570, 80)
    made = compiled(f)
    assert made.startswith(b'2024-03-01T12:00:00.000127Z","end":"%s","duration":%d}')
    assert b'"source":{"mac":"02-00-0A-96-8A-B7","ip":"10.150.138.183","port":40570,' in made
    assert made == render.common_template_py(f)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, C_LAST_NS))
def test_end_times_in_c_are_those_of_python(ts_ns):
    assert render._c_timestamp(ts_ns) == timestamp_ns(ts_ns).encode()


@pytest.mark.parametrize("ts_ns", [2**63, LAST_SECOND_NS, LAST_SECOND_NS + 10**9, 2**70, -1])
def test_outside_c_range_python_takes_over(ts_ns):
    assert render._c_timestamp(ts_ns) is None
    f = flow(17, ts_ns, b"\x01" * 6, b"\x02" * 6, b"\x01" * 4, b"\x02" * 4, 1, 2)
    assert compiled(f) is None
    try:
        expected = render.common_template_py(f)
    except (ValueError, OverflowError, OSError) as exc:  # past year 9999: Python refuses
        with pytest.raises(type(exc)):
            render._common_template(f)
    else:
        assert render._common_template(f) == expected


def test_a_flow_not_of_the_common_shape_is_refused():
    with pytest.raises(ValueError, match="not a flow of the common shape"):
        render._template.common(COMMON_META[6], 6, 0, b"\x01" * 6, b"\x02" * 6, b"\x01" * 16,
                                b"\x02" * 16, 1, 2)
