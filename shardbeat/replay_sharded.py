"""`shardbeat replay --workers N`: shard 0 runs in this process; shards 1 to N-1 run in
forked processes, each reading the whole file. Every process writes its own finished, encoded
events to the output, a whole batch at a time (output/turns.py); the forked workers' last
words (what they counted) come back over the ZeroMQ bus the live publisher uses.

Writing in place, rather than sending the events to one writer, is a replay's privilege: its
output is a local file or stdout that every process can write, and half a replay's output
crossing the bus cost each side about a twentieth of its time. For the same reason, where
the record walk is Python (no C compiler at install), the replaying process does not walk
the capture's records itself: the first forked worker publishes them
(capture/shared_walk.py). Walked in C, a window's records cost each process microseconds,
less than passing them over.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from typing import Any, Callable, Iterable

from shardbeat.bus.zmq_bus import BusReceiver, BusSender, Message
from shardbeat.capture.batch import COMPILED_WALK, FrameBatch
from shardbeat.capture.shared_walk import PublishedWalk, TakenWalk, walk_pipe
from shardbeat.metrics.counters import Counters
from shardbeat.output.ndjson import NdjsonWriter
from shardbeat.output.turns import OutputTurn
from shardbeat.replay import _run_one

# Every worker reads and decodes every frame; only shard 0 reports what reading and
# decoding counted, so an anomaly is not counted once per worker.
_READ_SIDE = ("capture_", "decode_", "ipfrag_")


def _own_counters(counters: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counters.items() if not k.startswith(_READ_SIDE)}


def _shard_main(path: str, settings: Any, shard: int, shards: int, endpoint: str,
                walk: tuple[int, int] | None, writer: NdjsonWriter, lock: Any) -> None:
    published = None
    if walk is not None:
        read_fd, write_fd = walk
        os.close(read_fd)
        if shard == 1:  # only the first forked worker walks for the replaying process
            published = PublishedWalk(write_fd)
        else:
            os.close(write_fd)
    parent = os.getppid()
    writer.share(OutputTurn(lock, lambda: os.getppid() == parent))
    sender = BusSender(endpoint, shard, block=True)
    try:
        counters, _problem = _run_one(path, settings, writer.write, (shard, shards),
                                      locate=published)
        writer.close()
        last_word = {"counters": counters.snapshot()}
    except BrokenPipeError:  # whoever reads the output stopped: so does this worker
        last_word = {"counters": {}, "output_closed": True}
    finally:
        if published is not None:
            published.close()
    sender.close(dict(last_word, events=writer.events))


class _Gathered:
    """What the forked workers said when they finished: their counters, merged."""

    def __init__(self) -> None:
        self.counters = Counters()
        self.events = 0
        self.finished = 0

    def take(self, messages: Iterable[Message]) -> None:
        for _shard, _block, final in messages:
            if final is None:
                continue
            if final.get("output_closed"):
                raise BrokenPipeError("the output was closed")
            self.finished += 1
            self.events += final["events"]
            self.counters.merge(_own_counters(final["counters"]))


def replay_sharded(path: str, settings: Any, shards: int, writer: NdjsonWriter,
                   on_batch: Callable[[FrameBatch], None] | None = None
                   ) -> tuple[Counters, str | None]:
    """(every shard's counters, the reader's problem) of a replay with `shards` workers."""
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="shardbeat-") as tmp:
        endpoint = f"ipc://{tmp}/bus"
        receiver = BusReceiver(endpoint)
        walk = None if COMPILED_WALK else walk_pipe()
        lock = ctx.Lock()
        procs = [ctx.Process(target=_shard_main, name=f"shardbeat-worker-{i}",
                             args=(path, settings, i, shards, endpoint, walk, writer, lock))
                 for i in range(1, shards)]
        # Fine while none has died: one killed while it wrote would never give the turn back.
        writer.share(OutputTurn(lock, lambda: all(p.exitcode in (None, 0) for p in procs)))
        try:
            for proc in procs:
                proc.start()
        finally:
            if walk is not None:
                os.close(walk[1])  # the walker's end; its exit ends the pipe
        gathered = _Gathered()
        taken = TakenWalk(walk[0]) if walk is not None else None
        try:
            counters, problem = _run_one(path, settings, writer.write, (0, shards),
                                         on_batch, taken)
            alive = lambda: any(p.is_alive() for p in procs)  # noqa: E731
            gathered.take(receiver.messages(len(procs), alive))
        except BaseException:
            for proc in procs:  # no use for what they would still write
                proc.terminate()
            raise
        finally:
            if taken is not None:
                taken.close()
            for proc in procs:
                proc.join()
            receiver.close()
        failed = [p.name for p in procs if p.exitcode != 0]
        if failed or gathered.finished < len(procs):
            raise RuntimeError(f"worker process(es) failed: {', '.join(failed) or 'lost'}")
    writer.events += gathered.events
    counters.merge(gathered.counters.snapshot())
    return counters, problem
