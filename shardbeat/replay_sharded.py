"""`shardbeat replay --workers N`: shard 0 runs in this process and writes its events
straight out; shards 1 to N-1 run in forked processes, each reading the whole file, and
their finished, encoded events come back over the ZeroMQ bus the live publisher uses,
written out between shard 0's batches.

The gathering process works as a shard because on as many cores as workers a process that
only gathered would take a core's share from the workers, and half the events would cross
the bus for nothing. For the same reason it does not walk the capture's records itself: the
first forked worker publishes them (capture/shared_walk.py).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from typing import Any, Callable, Iterable

from shardbeat.bus.zmq_bus import BusReceiver, BusSender, Message
from shardbeat.capture.batch import FrameBatch
from shardbeat.capture.shared_walk import PublishedWalk, TakenWalk, walk_pipe
from shardbeat.metrics.counters import Counters
from shardbeat.output.ndjson import NdjsonWriter
from shardbeat.replay import _run_one

# Every worker reads and decodes every frame; only shard 0 reports what reading and
# decoding counted, so an anomaly is not counted once per worker.
_READ_SIDE = ("capture_", "decode_", "ipfrag_")


def _own_counters(counters: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counters.items() if not k.startswith(_READ_SIDE)}


def _shard_main(path: str, settings: Any, shard: int, shards: int, endpoint: str,
                walk: tuple[int, int]) -> None:
    read_fd, write_fd = walk
    os.close(read_fd)
    published = None
    if shard == 1:  # only the first forked worker walks for the replaying process
        published = PublishedWalk(write_fd)
    else:
        os.close(write_fd)
    sender = BusSender(endpoint, shard, block=True)
    try:
        counters, problem = _run_one(path, settings, sender.send, (shard, shards),
                                     locate=published)
    finally:
        if published is not None:
            published.close()
    sender.close({"counters": counters.snapshot(), "problem": problem})


class _Gathered:
    """What the forked workers sent: events written out as they come, counters merged."""

    def __init__(self, writer: NdjsonWriter) -> None:
        self.writer = writer
        self.counters = Counters()
        self.finished = 0

    def take(self, messages: Iterable[Message]) -> None:
        for _shard, block, final in messages:
            if block is not None:
                self.writer.write_block(*block)
            else:
                self.finished += 1
                self.counters.merge(_own_counters(final["counters"]))


def replay_sharded(path: str, settings: Any, shards: int, writer: NdjsonWriter,
                   on_batch: Callable[[FrameBatch], None] | None = None
                   ) -> tuple[Counters, str | None]:
    """(every shard's counters, the reader's problem) of a replay with `shards` workers."""
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="shardbeat-") as tmp:
        endpoint = f"ipc://{tmp}/bus"
        receiver = BusReceiver(endpoint)
        walk = walk_pipe()
        procs = [ctx.Process(target=_shard_main, name=f"shardbeat-worker-{i}",
                             args=(path, settings, i, shards, endpoint, walk))
                 for i in range(1, shards)]
        try:
            for proc in procs:
                proc.start()
        finally:
            os.close(walk[1])  # the walker's end; its exit ends the pipe
        gathered = _Gathered(writer)
        drain = lambda: gathered.take(receiver.waiting())  # noqa: E731
        taken = TakenWalk(walk[0], drain)

        def between_batches(batch: FrameBatch) -> None:
            if on_batch is not None:
                on_batch(batch)
            drain()

        try:
            counters, problem = _run_one(path, settings, writer.write, (0, shards),
                                         between_batches, taken)
            alive = lambda: any(p.is_alive() for p in procs)  # noqa: E731
            gathered.take(receiver.messages(len(procs) - gathered.finished, alive))
        except BaseException:
            for proc in procs:  # blocked on a bus nobody reads any more
                proc.terminate()
            raise
        finally:
            taken.close()
            for proc in procs:
                proc.join()
            receiver.close()
        failed = [p.name for p in procs if p.exitcode != 0]
        if failed or gathered.finished < len(procs):
            raise RuntimeError(f"worker process(es) failed: {', '.join(failed) or 'lost'}")
    counters.merge(gathered.counters.snapshot())
    return counters, problem
