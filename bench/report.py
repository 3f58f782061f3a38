"""Turn repeated runs into figures: medians, ratios to the peer of the same repetition, goals.

Ratios are the median over repetitions of (shardbeat pps / tshark pps in that repetition):
the machines are shared and noisy, absolute times drift between repetitions, ratios hold.
The N-worker scaling is paired the same way, with the 1-worker run of its repetition (the
two always run back to back).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from measure import RunResult
from modes import Mode, side_by_side_name

PEER = "tshark"
GOAL_FULL_PPS, FLOOR_FULL_RATIO = 500_000, 2.5
GOAL_FLOWS_PPS, FLOOR_FLOWS_PPS = 2_000_000, 1_000_000
FLOOR_SCALING = 1.7
GOAL_RSS_MB, CEILING_RSS_MB = 150, 300
# The pps goals were set on a machine where tshark dissected 86k pps. Where the same tshark
# runs slower (a shared machine on a slow day runs it at a fifth of that), a pps goal is
# also given as what the measured ratio to tshark comes to on that machine.
ISSUE_TSHARK_PPS = 86_000


@dataclass
class Figures:
    mode: Mode
    runs: list[RunResult] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)     # per repetition, to the peer
    transactions: int = 0                                   # events published in one run

    @property
    def ok_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.ok]

    def median_wall(self) -> float:
        walls = [r.wall_s for r in self.ok_runs]
        return statistics.median(walls) if walls else float("nan")

    def pps(self, packets: int) -> float:
        return packets * self.mode.copies / self.median_wall()

    def ratio(self) -> float:
        return statistics.median(self.ratios) if self.ratios else float("nan")

    def cpu(self) -> float:
        cpus = [r.cpu_s for r in self.ok_runs]
        return statistics.median(cpus) if cpus else float("nan")

    def rss_main_mb(self) -> float:
        return max((r.peak_main_mb() for r in self.ok_runs), default=math.nan)

    def rss_worker_mb(self) -> float:
        """Largest worker peak: the main process runs a worker too (the only one, or shard
        0 of N, gathering the others' events besides)."""
        peaks = [max(r.peak_children_mb(), r.peak_main_mb()) for r in self.ok_runs]
        return max(peaks, default=math.nan)


def add_ratios(figs: dict[str, Figures]) -> None:
    peer = figs[PEER]
    for fig in figs.values():
        fig.ratios = paired(peer, fig)


def paired(base: Figures, other: Figures) -> list[float]:
    """Per repetition where both ran: `other`'s speed (packets/s, all its copies) over
    `base`'s in that same repetition. Every ratio the report gives is paired this way."""
    return [other.mode.copies * b.wall_s / o.wall_s
            for b, o in zip(base.runs, other.runs) if b.ok and o.ok]


def _median_spread(values: list[float]) -> tuple[float, str]:
    if not values:
        return math.nan, ""
    spread = f" ({min(values):.2f}-{max(values):.2f} over repetitions)" if len(values) > 1 else ""
    return statistics.median(values), spread


def table(figs: dict[str, Figures], packets: int) -> list[str]:
    head = ("| run | median s | packets/s | × tshark | transactions/s | CPU s | packets/CPU s | "
            "peak RSS main MB | peak RSS worker MB | runs ok |")
    lines = [head, "|" + "---|" * 10]
    for name, f in figs.items():
        tps = f"{f.transactions / f.median_wall():,.0f}" if f.mode.shardbeat and f.mode.parsers else "–"
        worker = f"{f.rss_worker_mb():.0f}" if f.mode.shardbeat or f.mode.copies > 1 else "–"
        main = "–" if f.mode.copies > 1 else f"{f.rss_main_mb():.0f}"  # the launcher's own
        lines.append(f"| {name} | {f.median_wall():.2f} | {f.pps(packets):,.0f} | {f.ratio():.2f} | "
                     f"{tps} | {f.cpu():.1f} | {packets * f.mode.copies / f.cpu():,.0f} | {main} | "
                     f"{worker} | {len(f.ok_runs)}/{len(f.runs)} |")
    return lines


def _verdict(value: float, bound: float, at_least: bool = True) -> str:
    if math.isnan(value):
        return "n/a (runs failed)"
    return "PASS" if (value >= bound if at_least else value <= bound) else "FAIL"


def goals(figs: dict[str, Figures], packets: int, workers: int, open_flows: int) -> list[str]:
    one, many = figs["shardbeat 1 worker"], figs[f"shardbeat {workers} workers"]
    flows = figs["shardbeat flows only"]
    full_pps, flows_pps = one.pps(packets), flows.pps(packets)
    scaling, spread = _median_spread(paired(one, many))
    rss = max((x for x in (one.rss_worker_mb(), many.rss_worker_mb(), flows.rss_worker_mb())
               if not math.isnan(x)), default=math.nan)
    return [
        f"- Full pipeline, 1 worker: {full_pps:,.0f} pps = {one.ratio():.2f}× tshark; "
        f"goal ≥ {GOAL_FULL_PPS:,} pps: {full_pps / GOAL_FULL_PPS:.0%} of it "
        f"({one.ratio() * ISSUE_TSHARK_PPS / GOAL_FULL_PPS:.0%} at the goals' machine's tshark); "
        f"floor ≥ {FLOOR_FULL_RATIO}× tshark: {_verdict(one.ratio(), FLOOR_FULL_RATIO)}",
        f"- Flows only, 1 worker: {flows_pps:,.0f} pps = {flows.ratio():.2f}× tshark; "
        f"goal ≥ {GOAL_FLOWS_PPS:,} pps: {flows_pps / GOAL_FLOWS_PPS:.0%} of it; "
        f"floor ≥ {FLOOR_FLOWS_PPS:,} pps: {_verdict(flows_pps, FLOOR_FLOWS_PPS)} here "
        f"(tshark {figs[PEER].pps(packets):,.0f} pps); at the goals' machine's tshark "
        f"({ISSUE_TSHARK_PPS:,} pps) the ratio is {flows.ratio() * ISSUE_TSHARK_PPS:,.0f} pps: "
        f"{_verdict(flows.ratio() * ISSUE_TSHARK_PPS, FLOOR_FLOWS_PPS)}",
        f"- {workers} workers: {scaling:.2f}× the 1-worker run of the same repetition, "
        f"median{spread}; "
        f"floor ≥ {FLOOR_SCALING}×: {_verdict(scaling, FLOOR_SCALING)}",
        *_ceiling(figs, one, scaling, workers),
        *_against_nfstream(figs, flows),
        f"- Memory: peak RSS per worker {rss:.0f} MB (capture peaks at {open_flows:,} open "
        f"flows with a 30 s idle timeout); goal ≤ {GOAL_RSS_MB} MB: "
        f"{_verdict(rss, GOAL_RSS_MB, at_least=False)}; ceiling {CEILING_RSS_MB} MB: "
        f"{_verdict(rss, CEILING_RSS_MB, at_least=False)}",
    ]


def _ceiling(figs: dict[str, Figures], one: Figures, scaling: float, workers: int) -> list[str]:
    """What the machine itself gives N processes of this work: N independent one-worker
    replays side by side, paired with the 1-worker run of their repetition."""
    side = figs.get(side_by_side_name(workers))
    if side is None:
        return []
    ceiling, spread = _median_spread(paired(one, side))
    return [f"- {workers} independent 1-worker replays side by side (no sharding, no bus): "
            f"{ceiling:.2f}× one alone, median{spread}: this machine's own ceiling for "
            f"{workers} processes of this work; {workers} workers reach "
            f"{scaling / ceiling:.0%} of it"]


def _against_nfstream(figs: dict[str, Figures], flows: Figures) -> list[str]:
    """Flows only against NFStream, the flow meter peer, paired by repetition."""
    peer = figs.get("nfstream")
    if peer is None:
        return []
    ratio, spread = _median_spread(paired(peer, flows))
    return [f"- Flows only against NFStream (one meter, same repetitions): {ratio:.2f}×, "
            f"median{spread}"]


def cpu_split(figs: dict[str, Figures]) -> list[str]:
    """Where shardbeat's CPU time went (main process vs workers), from the median run."""
    lines = []
    for name, f in figs.items():
        runs = sorted(f.ok_runs, key=lambda r: r.wall_s)
        if not f.mode.shardbeat or not runs:
            continue
        run = runs[len(runs) // 2]
        main = run.procs.get(run.root_pid)
        workers = " + ".join(f"{p.cpu_s:.1f}" for p in sorted(run.children(), key=lambda p: p.pid))
        lines.append(f"- {name}: {run.wall_s:.1f} s wall; CPU s main process "
                     f"{main.cpu_s if main else float('nan'):.1f}"
                     + (f" (shard 0), forked workers {workers}"
                        if workers else " (the worker runs in it)"))
    return lines


def checks_table(rows: list[tuple[str, list]]) -> list[str]:
    """rows: (run label, [events.Check])"""
    lines = ["| run | check | published | generated | result |", "|---|---|---|---|---|"]
    for label, checks in rows:
        for c in checks:
            verdict = ("ok" if c.ok else "MISMATCH") + (f" ({c.note})" if c.note else "")
            lines.append(f"| {label} | {c.name} | {c.published} | {c.expected} | {verdict} |")
    return lines
