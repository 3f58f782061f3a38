#!/usr/bin/env python3
"""Generate the benchmark capture and its sidecar JSON (what was put in, per protocol).

    python bench/gen_capture.py [--packets N] [--seed S] [--out FILE.pcap] [--ns]

Deterministic: the same seed, packet count and generator source give the same bytes. The
sidecar (FILE.json) records transactions and flows per protocol so the benchmark can check
what shardbeat publishes, and a hash of the generator source so stale caches are detected.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import mix, pcap  # noqa: E402

BENCH = Path(__file__).resolve().parent
DEFAULT_PACKETS = 1_500_000
DEFAULT_SEED = 1
FLOW_TIMEOUTS_S = (30,)     # Packetbeat's default flows.timeout


def source_hash() -> str:
    """Hash of every generator source file: a changed generator invalidates cached captures."""
    h = hashlib.sha256()
    for path in sorted((BENCH / "gen").glob("*.py")) + [Path(__file__).resolve()]:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def default_path(packets: int, seed: int) -> Path:
    return BENCH / "out" / f"mix-{packets}-s{seed}.pcap"


def generate(path: Path, packets: int, seed: int, duration_s: float = 60.0,
             nanosecond: bool = False) -> dict:
    t0 = time.perf_counter()
    m = mix.Mix(seed, packets, duration_s)
    m.plan()
    t_plan = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pcap.tmp")
    written, nbytes = pcap.write(str(tmp), m.frames(), nanosecond)
    tmp.replace(path)
    per_proto = m.totals.as_dict()
    side = {
        "generator": {"seed": seed, "packets_requested": packets, "duration_s": duration_s,
                      "nanosecond": nanosecond, "source_hash": source_hash()},
        "packets": written,
        "frame_bytes": nbytes,
        "mean_frame": round(nbytes / max(written, 1), 1),
        "flows": sum(p["flows"] for p in per_proto.values()),
        "peak_open_flows": {f"idle_{t}s": m.peak_open_flows(t) for t in FLOW_TIMEOUTS_S},
        "transactions": {p: v["transactions"] for p, v in per_proto.items()},
        "protocols": per_proto,
        "generation_seconds": {"plan": round(t_plan, 2),
                               "total": round(time.perf_counter() - t0, 2)},
    }
    path.with_suffix(".json").write_text(json.dumps(side, indent=2, sort_keys=True) + "\n")
    return side


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=DEFAULT_PACKETS)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds over which connections start")
    ap.add_argument("--out", type=Path, help="default: bench/out/mix-N-sS.pcap")
    ap.add_argument("--ns", action="store_true", help="nanosecond timestamps (default microsecond)")
    args = ap.parse_args(argv)
    path = args.out or default_path(args.packets, args.seed)
    side = generate(path, args.packets, args.seed, args.duration, args.ns)
    shares = {p: f"{v['packets'] / side['packets']:.1%}" for p, v in side["protocols"].items()}
    print(f"{path}: {side['packets']} packets, mean frame {side['mean_frame']} B, "
          f"{side['flows']} flows, {side['generation_seconds']['total']} s")
    print(f"  packet shares {shares}")
    print(f"  transactions {side['transactions']}, peak open flows {side['peak_open_flows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
