"""Flow event details: Packetbeat's flow.id layout and MAC notation."""

from __future__ import annotations

import base64

from shardbeat.flows.events import flow_id, mac_text
from tests.unit.test_flows_packets import ip

# packetbeat/_meta/sample_outputs/flow.json: 08:00:27:d5:9d:5a 10.0.2.15:23377 →
# 52:54:00:12:35:02 130.211.38.145:443 over TCP. Packetbeat's TCP layer also appends its
# process-local connection counter (flag 0x0800, 8 bytes), which is not reproducible
# across processes and so left out here.
PACKETBEAT_ID = "EQwA////DP//////FBgBAAEIACfVnVpSVAASNQIKAAIPgtMmkVFbuwG7AAAAAAAAAA"
SRC = (bytes.fromhex("080027d59d5a"), ip("10.0.2.15"), 23377)
DST = (bytes.fromhex("525400123502"), ip("130.211.38.145"), 443)


def _raw(flow_id_text: str) -> bytes:
    return base64.b64decode(flow_id_text + "=" * (-len(flow_id_text) % 4))


def test_flow_id_has_packetbeats_layout():
    theirs = _raw(PACKETBEAT_ID)
    meta, key = bytearray(theirs[:17]), theirs[17:]
    meta[1] &= ~0x08          # drop the connection-id flag ...
    meta[13] = 0xFF           # ... and its offset slot ...
    assert _raw(flow_id(6, (), SRC, DST)) == bytes(meta) + key[:-8]  # ... and its bytes


def test_flow_id_is_the_same_from_either_side():
    assert flow_id(6, (10,), SRC, DST) == flow_id(6, (10,), DST, SRC)
    assert flow_id(1, (), SRC, DST) == flow_id(1, (), DST, SRC)


def test_flow_id_tells_vlans_protocols_and_ports_apart():
    ids = {flow_id(6, (), SRC, DST), flow_id(17, (), SRC, DST), flow_id(6, (5,), SRC, DST),
           flow_id(6, (5, 6), SRC, DST), flow_id(6, (6, 5), SRC, DST),
           flow_id(6, (), SRC, (DST[0], DST[1], 444)), flow_id(47, (), SRC, DST),
           flow_id(50, (), SRC, DST)}
    assert len(ids) == 8


def test_qinq_keeps_outer_then_inner_slots():
    raw = _raw(flow_id(6, (101, 600), SRC, DST))
    outer_off, inner_off = raw[3], raw[4]
    key = raw[17:]
    assert int.from_bytes(key[outer_off:outer_off + 2], "little") == 101
    assert int.from_bytes(key[inner_off:inner_off + 2], "little") == 600
    assert raw[15] == 2  # two VLAN layers counted


def test_mac_notation_is_ecs():
    assert mac_text(bytes.fromhex("0a0027000000")) == "0A-00-27-00-00-00"
