"""One worker: frames in, encoded events out. The same code serves live capture and replay;
only the frame source and the event sink differ.

A batch of frames is decoded at once (numpy) where frames have a common shape; flows are
counted per flow, not per packet; only packets that a parser wants, and frames of unusual
shape, take the per-packet path: decode (scalar) → flows → TCP/UDP streams or ICMP →
parsers → transactions → finished, encoded events → sink.

Timers run on packet time, once per `TICK_NS` of it, never per packet: a batch is cut into
segments at the frames whose time crosses the next tick (or the flow table's next report
pass), so every timer fires exactly where a frame-by-frame loop would fire it. In replay
every worker reads every frame (and so sees the same clock) but keeps only its own
shard's packets: with the clock shared, N workers publish exactly the events one would.
"""

from __future__ import annotations

import gc
from itertools import islice
from typing import Any, Callable, Iterable

import numpy as np
import orjson

from shardbeat.capture.batch import FrameBatch, Locate, open_batches, pack_frames
from shardbeat.decode.batch import decode_columns
from shardbeat.decode.l2l4 import Decoder
from shardbeat.decode.shard import shard_of, shard_of_columns
from shardbeat.flows.batch import account_batch, group_rows
from shardbeat.metrics.counters import Counters
from shardbeat.pipeline import Pipeline, build_pipeline
from shardbeat.worker_packets import StreamRows, addresses

TICK_NS = 1_000_000_000
_TCP = 6
_SYN_FIN_RST = 0x07
FRAMES_PER_BATCH = 4096
_NEVER = np.iinfo(np.int64).max

Frame = tuple[int, int, Any, int]  # (ts_ns, linktype, data, wire_len)


def settle_heap() -> None:
    """Call once a worker is built: what start-up allocated (config, tables, imports) is
    never freed, so the collector need not scan it again; and a worker allocates events by
    the ten thousand, nearly all acyclic, so a generation-0 pass every 700 allocations
    would cost 5-7% of the run for nothing."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


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
        """Frames one at a time, as any source yields them, grouped into batches."""
        it = iter(frames)
        while chunk := list(islice(it, FRAMES_PER_BATCH)):
            self.run_batch(pack_frames(chunk))

    def run_file(self, path: str, on_batch: Callable[[FrameBatch], None] | None = None,
                 locate: Locate | None = None) -> str | None:
        """A whole capture file, batch by batch; returns the reader's problem (a
        truncated or corrupt tail), if any. `on_batch` sees each batch after it ran;
        `locate` finds the records of a plain pcap (see capture/shared_walk.py)."""
        reader, batches = open_batches(path, locate=locate)
        with reader:
            for batch in batches:
                self.run_batch(batch)
                if on_batch is not None:
                    on_batch(batch)
            return reader.problem

    def run_batch(self, batch: FrameBatch) -> None:
        if not len(batch):
            return
        plan = _BatchPlan(self, batch)
        runmax = np.maximum.accumulate(batch.ts)
        pos, n = 0, len(batch)
        while pos < n:
            boundary = min(self._next_tick, self._next_pass())
            end = pos + int(np.searchsorted(runmax[pos:], boundary, side="left"))
            if end == pos:
                self._cross(int(batch.ts[pos]))
                continue
            plan.segment(pos, end)
            pos = end
        self._now = max(self._now, int(runmax[-1]))

    def _next_pass(self) -> int:
        flows = self.pipeline.flows
        return flows.next_pass if flows is not None else _NEVER

    def _cross(self, ts: int) -> None:
        """The frame at `ts` is the first past a tick or a flow report instant."""
        if ts >= self._next_tick:
            self._tick(ts)
        else:
            self.pipeline.flows.tick(ts)

    def _tick(self, ts: int) -> None:
        self._now = max(self._now, ts)
        self._next_tick = self._now - self._now % TICK_NS + TICK_NS
        self._decoder.expire(self._now)
        self.pipeline.tick(self._now)

    def finish(self) -> None:
        """End of input: publish every open transaction and flow."""
        self.pipeline.flush(self._now)


class _BatchPlan:
    """What one batch holds, worked out once: the vectorised columns and which rows are
    this shard's, which of those a parser wants, and the frames left to the scalar path."""

    def __init__(self, worker: Worker, batch: FrameBatch) -> None:
        self.worker, self.batch = worker, batch
        cols, slow = decode_columns(batch)
        mine = np.arange(len(cols))
        if worker.shards > 1:
            shard = shard_of_columns((cols.src_hi, cols.src_lo), (cols.dst_hi, cols.dst_lo),
                                     (cols.sport, cols.dport), cols.proto, worker.shards)
            mine = np.flatnonzero(shard == worker.shard)
        self.cols, self.mine = cols, mine
        self.mine_idx = cols.idx[mine]
        wanted = worker.pipeline.wants(cols, mine)
        # A bare ACK (TCP, no payload, no SYN/FIN/RST) only moves its connection's idle
        # clock: a third of parser-bound TCP packets, handled per connection, not per packet.
        bare = ((cols.proto[wanted] == _TCP) & (cols.pay_end[wanted] == cols.pay_start[wanted])
                & ((cols.flags[wanted] & _SYN_FIN_RST) == 0))
        self.acks = wanted[bare]
        self.ack_idx = cols.idx[self.acks]
        wanted = wanted[~bare]
        # Per-packet work, in frame order: scalar frames (-1) and parser-bound rows.
        frames = np.concatenate((slow, cols.idx[wanted]))
        rows = np.concatenate((np.full(len(slow), -1), wanted))
        order = np.argsort(frames, kind="stable")
        self.work_frames, self.work_rows = frames[order], rows[order]

    def segment(self, lo: int, hi: int) -> None:
        """Frames [lo, hi): no timer is due among them."""
        worker, cols = self.worker, self.cols
        a, b = np.searchsorted(self.mine_idx, (lo, hi))
        flows = worker.pipeline.flows
        if flows is not None and b > a:
            try:
                account_batch(flows, cols, self.mine[a:b], self.batch)
            except Exception:
                worker.counters.inc("worker_batch_errors")
        a, b = np.searchsorted(self.work_frames, (lo, hi))
        if b > a:
            self._per_packet(self.work_frames[a:b], self.work_rows[a:b])
        a, b = np.searchsorted(self.ack_idx, (lo, hi))
        if b > a:
            self._bare_acks(self.acks[a:b])

    def _bare_acks(self, rows: np.ndarray) -> None:
        """Move each connection's idle clock to its last bare ACK in the segment."""
        c, data = self.cols, self.batch.data
        vlan = np.where(c.has_vlan[rows], c.vlan[rows] + 1, 0)
        first, inverse = group_rows([c.src_hi[rows], c.src_lo[rows], c.dst_hi[rows],
                                     c.dst_lo[rows], c.sport[rows], c.dport[rows], vlan])
        last = np.full(len(first), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, inverse, c.ts[rows])
        touch = self.worker.pipeline.tcp.touch
        # Each connection's columns gathered at once: a numpy scalar read per field and
        # connection cost more than the touch itself.
        sel = rows[first]
        for l3, version, sport, dport, tagged, vid, ts in zip(*[col[sel].tolist() for col in (
                c.l3, c.version, c.sport, c.dport, c.has_vlan, c.vlan)], last.tolist()):
            src_ip, dst_ip = addresses(data, l3, version)
            src, dst = (src_ip, sport), (dst_ip, dport)
            vlans = (vid,) if tagged else ()
            touch((src, dst, vlans) if src < dst else (dst, src, vlans), ts)

    def _per_packet(self, frames: np.ndarray, rows: np.ndarray) -> None:
        """In frame order: each run of batch-decoded rows is drawn lazily by
        dispatch_streams (a body segment its parser skips is taken by length on the way
        and never built); each scalar frame (-1) between runs is decoded on its own."""
        worker = self.worker
        built = StreamRows(self.batch, self.cols, rows[rows >= 0])
        tcp = worker.pipeline.tcp
        skip, skip_run = tcp.skip_segment, tcp.skip_run
        scalar = np.flatnonzero(rows < 0).tolist()
        done = 0  # rows of `built` dispatched so far
        for nth, at in enumerate(scalar + [len(rows)]):
            upto = at - nth  # the rows before `at`, less the scalar frames among them
            if upto > done:
                errors = worker.pipeline.dispatch_streams(
                    built.packets(done, upto, skip, skip_run))
                if errors:
                    worker.counters.inc("worker_packet_errors", errors)
                done = upto
            if at < len(rows):
                self._scalar(int(frames[at]))

    def _scalar(self, i: int) -> None:
        """A frame of unusual shape: decoded on its own, then dispatched whole."""
        worker, batch = self.worker, self.batch
        try:
            pkt = worker._decoder.decode(int(batch.ts[i]), int(batch.linktype[i]),
                                         batch.frame(i), int(batch.wirelen[i]))
            if pkt is None or (worker.shards > 1
                               and shard_of(pkt, worker.shards) != worker.shard):
                return
            worker.pipeline.dispatch(pkt)
        except Exception:
            worker.counters.inc("worker_packet_errors")


def replay_events(path: str, overrides: Iterable[str] = (), config_path: str | None = None,
                  ) -> list[dict]:
    """Replay a capture through one in-process worker and return its events, decoded from
    the exact bytes the CLI would print. The entry point for conformance tests."""
    from shardbeat.config.load import load_config

    settings = load_config(config_path, list(overrides))
    out: list[bytes] = []
    worker = Worker(settings, out.append)
    worker.run_file(path)
    worker.finish()
    return [orjson.loads(raw) for raw in out]

