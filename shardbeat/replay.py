"""`shardbeat replay`: a capture file through the worker code, events to NDJSON.

One worker runs in-process. With N workers, N forked processes each read the whole file
and keep the packets whose symmetric flow hash falls in their shard (as NFStream does
offline): no packet crosses a process boundary, only finished, encoded events do, over the
same ZeroMQ bus the live publisher uses.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from typing import Any, Callable

from shardbeat.bus.zmq_bus import BusReceiver, BusSender
from shardbeat.capture.batch import FrameBatch
from shardbeat.capture.pcapfile import open_capture
from shardbeat.metrics.counters import Counters
from shardbeat.output.ndjson import open_writer
from shardbeat.worker import Worker, settle_heap


class ReplayResult:
    def __init__(self) -> None:
        self.counters = Counters()
        self.problem: str | None = None
        self.events = 0


class _Progress:
    """A progress bar on stderr, drawn from how far the batches got into the file."""

    def __init__(self, total: int) -> None:
        self._total, self._start, self._packets = total, time.monotonic(), 0

    def update(self, batch: FrameBatch) -> None:
        self._packets += len(batch)
        done = batch.file_offset
        pct = min(100.0, 100.0 * done / self._total) if self._total else 0.0
        rate = self._packets / max(time.monotonic() - self._start, 1e-9)
        sys.stderr.write(f"\r[{'#' * int(pct / 4):<25}] {pct:5.1f}% {self._packets:,} packets "
                         f"{rate:,.0f} pkt/s")
        sys.stderr.flush()

    @staticmethod
    def done() -> None:
        sys.stderr.write("\n")


def _run_one(path: str, settings: Any, sink: Callable[[bytes], None], shard: int,
             shards: int, progress: bool) -> tuple[Counters, str | None]:
    worker = Worker(settings, sink, shard, shards)
    settle_heap()
    bar = _Progress(os.path.getsize(path)) if progress else None
    problem = worker.run_file(path, bar.update if bar is not None else None)
    if bar is not None:
        bar.done()
    worker.finish()
    return worker.counters, problem


def replay(path: str, settings: Any, workers: int = 1, progress: bool = False
           ) -> ReplayResult:
    """Replay `path`; raise CaptureFileError (before any output) if it is not readable."""
    open_capture(path).close()  # fail fast, in this process, on a file we cannot read
    writer = open_writer(settings)
    result = ReplayResult()
    try:
        if workers <= 1:
            counters, result.problem = _run_one(path, settings, writer.write, 0, 1, progress)
            result.counters.merge(counters.snapshot())
        else:
            _replay_sharded(path, settings, workers, writer.write_block, result, progress)
    finally:
        writer.close()
    result.events = writer.events
    return result


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


def _replay_sharded(path: str, settings: Any, shards: int,
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
