"""`shardbeat replay`: a capture file through the worker code, events to NDJSON.

One worker runs in-process. With N workers, each of N processes (this one and N - 1 forked)
reads the whole file and keeps the packets whose symmetric flow hash falls in its shard (as
NFStream does offline): no packet crosses a process boundary. Each process writes its own
events out, taking turns batch by batch; what the forked workers counted comes back over the
same ZeroMQ bus the live publisher uses (and the record starts the first forked worker finds,
which this process takes rather than finding them again).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from shardbeat.capture.batch import FrameBatch, Locate
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


def _run_one(path: str, settings: Any, sink: Callable[[bytes], None],
             shard: tuple[int, int] = (0, 1),
             on_batch: Callable[[FrameBatch], None] | None = None,
             locate: Locate | None = None) -> tuple[Counters, str | None]:
    """One worker, shard `shard[0]` of `shard[1]`, over the whole file; `on_batch` sees
    each batch after it ran; `locate` finds the records of a plain pcap."""
    worker = Worker(settings, sink, *shard)
    settle_heap()
    problem = worker.run_file(path, on_batch, locate)
    worker.finish()
    return worker.counters, problem


def replay(path: str, settings: Any, workers: int = 1, progress: bool = False
           ) -> ReplayResult:
    """Replay `path`; raise CaptureFileError (before any output) if it is not readable."""
    open_capture(path).close()  # fail fast, in this process, on a file we cannot read
    writer = open_writer(settings)
    result = ReplayResult()
    bar = _Progress(os.path.getsize(path)) if progress else None
    on_batch = bar.update if bar is not None else None
    try:
        if workers <= 1:
            counters, result.problem = _run_one(path, settings, writer.write, (0, 1), on_batch)
        else:
            # Imported here: processes, ZeroMQ and temporary files are a twentieth of a
            # one-worker replay's start-up, and it needs none of them.
            from shardbeat.replay_sharded import replay_sharded

            counters, result.problem = replay_sharded(path, settings, workers, writer, on_batch)
        result.counters.merge(counters.snapshot())
    finally:
        writer.close()
    if bar is not None:
        bar.done()
    result.events = writer.events
    return result
