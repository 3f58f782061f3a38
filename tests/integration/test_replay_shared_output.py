"""`replay --workers 2` writes from both processes into one output, a whole batch at a time:
every line arrives whole, on stdout and in `output.file` alike, and a reader that stops
reading ends the replay quietly, as it does with one worker."""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter

import pytest

from tests.integration.replaycli import SHARD_FIELD, replay_argv
from tests.unit.packets import eth, ipv4, udp, write_pcap

pytestmark = pytest.mark.integration

# Enough flows that each process writes many batches (512 events each), interleaved.
FLOWS = 6000
RUN_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def many_flows(tmp_path_factory):
    frames = [eth(ipv4(udp(b"x" * (i % 300), sport=20000 + i % 20000, dport=40000 + i // 20000),
                       src=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"))
              for i in range(FLOWS)]
    return write_pcap(tmp_path_factory.mktemp("shared") / "flows.pcap", frames)


def flow_keys(lines: list[bytes]) -> Counter:
    keys = Counter()
    for line in lines:
        event = json.loads(line)  # a cut or spliced line fails here
        event.get(SHARD_FIELD[0], {}).pop(SHARD_FIELD[1], None)
        keys[json.dumps(event, sort_keys=True)] += 1
    return keys


def replay_lines(pcap, workers: int, overrides=()) -> list[bytes]:
    done = subprocess.run(replay_argv(pcap, overrides, workers), capture_output=True,
                          timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.splitlines()


def test_every_line_arrives_whole_on_stdout(many_flows):
    single, sharded = replay_lines(many_flows, 1), replay_lines(many_flows, 2)
    assert len(single) >= FLOWS
    assert flow_keys(sharded) == flow_keys(single)


def test_every_line_arrives_whole_in_the_output_file(many_flows, tmp_path):
    overrides = ("output.file.enabled=true", f"output.file.path={tmp_path}",
                 "output.file.filename=events.ndjson")
    assert replay_lines(many_flows, 2, overrides) == []
    written = (tmp_path / "events.ndjson").read_bytes().splitlines()
    assert flow_keys(written) == flow_keys(replay_lines(many_flows, 1))


def test_a_reader_that_stops_reading_ends_the_replay_quietly(many_flows):
    proc = subprocess.Popen(replay_argv(many_flows, (), 2), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))
    reader.start()
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    try:
        code = proc.wait(timeout=RUN_TIMEOUT_S)
    finally:
        proc.kill()
        reader.join()
    assert json.loads(first)
    assert code == 0
    assert b"Traceback" not in stderr[0] and b"failed" not in stderr[0], stderr[0][-2000:]


def test_where_the_walk_is_python_shard_0_takes_the_forked_workers_walk(many_flows, tmp_path,
                                                                       monkeypatch):
    """A build without the C record walk shares one Python walk between two processes
    (capture/shared_walk.py): shard 0 takes the windows the first forked worker walked,
    and the events are those of one worker."""
    from shardbeat import replay_sharded
    from shardbeat.capture import batch, shared_walk
    from shardbeat.config.load import load_config
    from shardbeat.replay import replay

    for module in (batch, shared_walk):
        monkeypatch.setattr(module, "locate_records", batch.locate_records_py)
    monkeypatch.setattr(replay_sharded, "COMPILED_WALK", False)
    taken: list[int] = []

    class CountedTake(replay_sharded.TakenWalk):
        def close(self) -> None:
            taken.append(self.taken)
            super().close()

    monkeypatch.setattr(replay_sharded, "TakenWalk", CountedTake)
    settings = load_config(None, ["output.file.enabled=true", f"output.file.path={tmp_path}",
                                  "output.file.filename=events.ndjson"])
    replay(str(many_flows), settings, workers=2)
    written = (tmp_path / "events.ndjson").read_bytes().splitlines()
    assert flow_keys(written) == flow_keys(replay_lines(many_flows, 1))
    assert max(taken) > 0
