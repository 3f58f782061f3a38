"""`--workers 2` shards a capture over two worker processes by a symmetric flow hash; it must
yield exactly the events `--workers 1` does (as a multiset: order across workers is free),
except for `observer.shard`, which names the worker. Checked on the two captures of real
server traffic and on every capture Packetbeat's own tests use.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.replaycli import canonical_lines, run_replays_together

pytestmark = pytest.mark.integration

SHARED_PCAPS = Path(__file__).resolve().parents[2].parent / "shared" / "pcaps" / "packetbeat"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")
# Captures replayed at once (two replays each). Bounded so a 2-core CI machine is busy, not
# thrashing.
PARALLEL_CAPTURES = 4


def _sources() -> list:
    params = [pytest.param("http_recording", id="nginx-capture"),
              pytest.param("dns_recording", id="dnsmasq-capture")]
    if not SHARED_PCAPS.is_dir():
        return params + [pytest.param(None, id="shared-pcaps", marks=pytest.mark.skip(
            reason=f"{SHARED_PCAPS} is absent (it sits beside the repository in CI)"))]
    captures = sorted(p for p in SHARED_PCAPS.rglob("*")
                      if p.is_file() and p.suffix in CAPTURE_SUFFIXES)
    return params + [pytest.param(p, id=str(p.relative_to(SHARED_PCAPS))) for p in captures]


@pytest.fixture(scope="module")
def shared_runs(request) -> dict[Path, Future]:
    """Both replays of every selected shared capture, started up front a few captures at a
    time: a replay spends most of its wall time starting up and waiting on its workers, so
    overlapping captures cuts this module from minutes to about one. Each future holds one
    capture's (single, sharded) canonical lines, or the error its replay raised."""
    selected = [item.callspec.params["source"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")]
    paths = sorted({p for p in selected if isinstance(p, Path)})
    with ThreadPoolExecutor(max_workers=PARALLEL_CAPTURES) as pool:
        return {p: pool.submit(_both_runs, p, ()) for p in paths}


def _both_runs(pcap: Path, overrides: tuple[str, ...]) -> tuple[list[str], list[str]]:
    single, sharded = run_replays_together(pcap, overrides, (1, 2))
    return canonical_lines(single), canonical_lines(sharded)


@pytest.mark.parametrize("source", _sources())
def test_two_workers_give_the_same_events_as_one(source, request):
    if isinstance(source, str):
        recording = request.getfixturevalue(source)
        pcap = recording.pcap
        single, sharded = _both_runs(pcap, recording.overrides)
    else:
        pcap = source
        single, sharded = request.getfixturevalue("shared_runs")[source].result()
    assert single, f"{pcap.name}: no events at all (flows are on by default)"
    if single != sharded:
        only_one = Counter(single) - Counter(sharded)
        only_two = Counter(sharded) - Counter(single)
        pytest.fail(f"{pcap.name}: {len(single)} events with 1 worker, {len(sharded)} with 2\n"
                    f"only with --workers 1 ({sum(only_one.values())}):\n"
                    + "\n".join(list(only_one)[:3])
                    + f"\nonly with --workers 2 ({sum(only_two.values())}):\n"
                    + "\n".join(list(only_two)[:3]))
