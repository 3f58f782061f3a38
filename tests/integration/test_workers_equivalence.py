"""`--workers 2` shards a capture over two worker processes by a symmetric flow hash; it must
yield exactly the events `--workers 1` does (as a multiset: order across workers is free),
except for `observer.shard`, which names the worker. Checked on the two captures of real
server traffic and on every capture Packetbeat's own tests use.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.integration.replaycli import canonical_lines, run_replays_together

pytestmark = pytest.mark.integration

SHARED_PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


def _sources() -> list:
    params = [pytest.param("http_recording", id="nginx-capture"),
              pytest.param("dns_recording", id="dnsmasq-capture")]
    if not SHARED_PCAPS.is_dir():
        return params + [pytest.param(None, id="shared-pcaps", marks=pytest.mark.skip(
            reason=f"{SHARED_PCAPS} is absent (it sits beside the repository in CI)"))]
    captures = sorted(p for p in SHARED_PCAPS.rglob("*")
                      if p.is_file() and p.suffix in CAPTURE_SUFFIXES)
    return params + [pytest.param(p, id=str(p.relative_to(SHARED_PCAPS))) for p in captures]


@pytest.mark.parametrize("source", _sources())
def test_two_workers_give_the_same_events_as_one(source, request):
    if isinstance(source, str):
        recording = request.getfixturevalue(source)
        pcap, overrides = recording.pcap, recording.overrides
    else:
        pcap, overrides = source, ()
    # Both runs at once: each is mostly interpreter start-up, and there are ~90 captures.
    single, sharded = map(canonical_lines, run_replays_together(pcap, overrides, (1, 2)))
    assert single, f"{pcap.name}: no events at all (flows are on by default)"
    if single != sharded:
        only_one = Counter(single) - Counter(sharded)
        only_two = Counter(sharded) - Counter(single)
        pytest.fail(f"{pcap.name}: {len(single)} events with 1 worker, {len(sharded)} with 2\n"
                    f"only with --workers 1 ({sum(only_one.values())}):\n"
                    + "\n".join(list(only_one)[:3])
                    + f"\nonly with --workers 2 ({sum(only_two.values())}):\n"
                    + "\n".join(list(only_two)[:3]))
