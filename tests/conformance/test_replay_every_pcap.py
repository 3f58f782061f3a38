"""Acceptance: `shardbeat replay` exits 0 with valid NDJSON on every Packetbeat capture,
with HTTP, DNS and ICMP on their default ports and flows on, and no worker error."""

from __future__ import annotations

import orjson
import pytest

from shardbeat.cli import main
from tests.conformance.pcaps import PCAPS, all_pcaps, require_pcaps

CAPTURES = all_pcaps()


def test_the_captures_are_there():
    require_pcaps()
    assert len(CAPTURES) == 91


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(PCAPS)))
def test_replay_prints_valid_ndjson_and_exits_0(path, capfdbinary):
    assert main(["replay", str(path), "--stats"]) == 0
    out, err = capfdbinary.readouterr()
    events = [orjson.loads(line) for line in out.splitlines()]
    assert events, "every capture has at least one flow"
    assert all(isinstance(e, dict) and "@timestamp" in e and "type" in e for e in events)
    for bad in (b"worker_packet_errors", b"parser_crashes"):
        assert bad not in err, err.decode()
