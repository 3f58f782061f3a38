"""`shardbeat replay --workers N`: N forked worker processes each read the whole file and
keep their shard's packets; their finished, encoded events come back over the ZeroMQ bus
the live publisher uses."""

from __future__ import annotations

import multiprocessing
import tempfile
from typing import Any, Callable

from shardbeat.bus.zmq_bus import BusReceiver, BusSender
from shardbeat.replay import ReplayResult, _run_one


# Every worker reads and decodes every frame; only shard 0 reports what reading and
# decoding counted, so an anomaly is not counted once per worker.
_READ_SIDE = ("capture_", "decode_", "ipfrag_")


def _own_counters(shard: int, counters: dict[str, int]) -> dict[str, int]:
    if shard == 0:
        return counters
    return {k: v for k, v in counters.items() if not k.startswith(_READ_SIDE)}


def _shard_main(path: str, settings: Any, shard: int, shards: int, endpoint: str,
                progress: bool) -> None:
    sender = BusSender(endpoint, shard, block=True)
    counters, problem = _run_one(path, settings, sender.send, shard, shards, progress)
    sender.close({"counters": counters.snapshot(), "problem": problem})


def replay_sharded(path: str, settings: Any, shards: int,
                    write_block: Callable[[bytes, int], None],
                    result: ReplayResult, progress: bool) -> None:
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="shardbeat-") as tmp:
        endpoint = f"ipc://{tmp}/bus"
        receiver = BusReceiver(endpoint)
        procs = [ctx.Process(target=_shard_main, name=f"shardbeat-worker-{i}",
                             args=(path, settings, i, shards, endpoint, progress and i == 0))
                 for i in range(shards)]
        for proc in procs:
            proc.start()
        finished = 0
        try:
            alive = lambda: any(p.is_alive() for p in procs)  # noqa: E731
            for _shard, block, final in receiver.messages(shards, alive):
                if block is not None:
                    write_block(*block)
                    continue
                finished += 1
                result.counters.merge(_own_counters(_shard, final["counters"]))
                result.problem = result.problem or final["problem"]
        finally:
            for proc in procs:
                proc.join()
            receiver.close()
        failed = [p.name for p in procs if p.exitcode != 0]
        if failed or finished < shards:
            raise RuntimeError(f"worker process(es) failed: {', '.join(failed) or 'lost'}")
