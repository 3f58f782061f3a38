"""One worker: frames in, encoded events out. The same code serves live capture and replay;
only the frame source and the event sink differ.

frame → decode (L2–L4, defrag) → shard filter (replay only) → flows → TCP/UDP streams or
ICMP → parsers → transactions → finished, encoded events → sink.

Timers run on packet time, checked once per `TICK_NS` of it, never per packet. In replay
every worker reads every frame (and so sees the same clock) but keeps only its own shard's
packets: with the clock shared, N workers publish exactly the events one worker would.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import orjson

from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.shard import shard_of
from shardbeat.metrics.counters import Counters
from shardbeat.pipeline import Pipeline, build_pipeline

TICK_NS = 1_000_000_000

Frame = tuple[int, int, Any, int]  # (ts_ns, linktype, data, wire_len)


class Worker:
    def __init__(self, settings: Any, sink: Callable[[bytes], None], shard: int = 0,
                 shards: int = 1) -> None:
        self.counters = Counters()
        self.shard, self.shards = shard, shards
        self.pipeline: Pipeline = build_pipeline(settings, sink, self.counters)
        self._decoder = Decoder(self.counters, settings.shardbeat.ipfrag)
        self._next_tick = 0
        self._now = 0

    def run(self, frames: Iterable[Frame]) -> None:
        """The hot loop: per frame, decode and dispatch; per second of packet time, timers.
        Nothing a frame holds may raise out of here: an unexpected error costs that packet
        and is counted."""
        decode = self._decoder.decode
        pipeline, counters = self.pipeline, self.counters
        shard, shards = self.shard, self.shards
        dispatch = pipeline.dispatch
        for ts, linktype, data, wire_len in frames:
            if ts >= self._next_tick:
                self._tick(ts)
            try:
                pkt = decode(ts, linktype, data, wire_len)
                if pkt is None:
                    continue
                if shards > 1 and shard_of(pkt, shards) != shard:
                    continue
                dispatch(pkt)
            except Exception:
                counters.inc("worker_packet_errors")

    def _tick(self, ts: int) -> None:
        self._now = max(self._now, ts)
        self._next_tick = self._now - self._now % TICK_NS + TICK_NS
        self._decoder.expire(self._now)
        self.pipeline.tick(self._now)

    def finish(self) -> None:
        """End of input: publish every open transaction and flow."""
        self.pipeline.flush(self._now)


def replay_events(path: str, overrides: Iterable[str] = (), config_path: str | None = None,
                  ) -> list[dict]:
    """Replay a capture through one in-process worker and return its events, decoded from
    the exact bytes the CLI would print. The entry point for conformance tests."""
    from shardbeat.capture.pcapfile import open_capture
    from shardbeat.config.load import load_config

    settings = load_config(config_path, list(overrides))
    out: list[bytes] = []
    worker = Worker(settings, out.append)
    with open_capture(path) as reader:
        worker.run(reader)
    worker.finish()
    return [orjson.loads(raw) for raw in out]
