"""What the benchmark runs: shardbeat's modes and the peers, as command lines.

Which parsers are active is read from shardbeat itself (its protocol registry and default
configuration), so the figures say which protocols were parsed and which were counted by
flows only. A parser listed in the registry whose module does not import (work in progress
in a shared checkout) is switched off with `-E` and reported, rather than failing the run.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRATCH = "{scratch}"   # in a command line: the run's scratch directory
CAPTURE_PROTOCOLS = ("http", "dns", "redis", "mysql", "pgsql")   # what the generator puts in


@dataclass
class Parsers:
    active: list[str] = field(default_factory=list)          # parse traffic in this run
    broken: dict[str, str] = field(default_factory=dict)     # listed, but failed to import
    flows_only: list[str] = field(default_factory=list)      # no parser yet (registry None)
    all_names: list[str] = field(default_factory=list)

    def disable_broken(self) -> list[str]:
        return [f"shardbeat.protocols.{n}.enabled=false" for n in self.broken]


@dataclass
class Mode:
    name: str              # label in the report
    cmd: list[str]
    workers: int = 0       # shardbeat worker processes; 0 for a peer
    parsers: bool = True   # protocol parsers on (False: flows only)
    copies: int = 1        # copies of the capture one run gets through (side by side: N)

    @property
    def shardbeat(self) -> bool:
        return self.workers > 0


def discover_parsers() -> Parsers:
    sys.path.insert(0, str(REPO))
    from shardbeat.config.load import enabled_protocols, load_config
    from shardbeat.protocols.registry import PROTOCOLS

    enabled = {name for name, _ in enabled_protocols(load_config(None, ()))}
    found = Parsers(all_names=[spec.name for spec in PROTOCOLS])
    for spec in PROTOCOLS:
        if spec.parser is None:
            found.flows_only.append(spec.name)
        elif spec.name in enabled:
            try:
                spec.parser_class()
                found.active.append(spec.name)
            except Exception as exc:   # noqa: BLE001 - any import failure means "not usable"
                found.broken[spec.name] = f"{type(exc).__name__}: {exc}"
    return found


def compiled_helpers() -> str:
    """Which of shardbeat's optional C helpers the measured replays use (each one missing
    was not built, for want of a C compiler at install, and its Python version runs)."""
    from shardbeat.capture.batch import COMPILED_WALK
    from shardbeat.decode.batch import COMPILED_DECODE
    from shardbeat.flows.render import COMPILED_TEMPLATE

    helpers = {"record walk": COMPILED_WALK, "header decoding": COMPILED_DECODE,
               "flow templates": COMPILED_TEMPLATE}
    built = [name for name, ok in helpers.items() if ok]
    missing = [name for name, ok in helpers.items() if not ok]
    return (f"in C: {', '.join(built) or 'none'}"
            + (f"; in Python (not built): {', '.join(missing)}" if missing else ""))


def _flag_pairs(settings: list[str]) -> list[str]:
    return [arg for s in settings for arg in ("-E", s)]


def side_by_side_name(workers: int) -> str:
    return f"{workers} × 1 worker side by side"


def build(pcap: Path, parsers: Parsers, workers: int) -> list[Mode]:
    """The measured modes, in the order each repetition runs them (peer first)."""
    replay = [sys.executable, "-m", "shardbeat", "replay", str(pcap)]
    base = _flag_pairs(parsers.disable_broken())
    off = _flag_pairs([f"shardbeat.protocols.{n}.enabled=false" for n in parsers.all_names])
    modes = [Mode("tshark", ["tshark", "-r", str(pcap), "-q", "-z", "io,phs"]),
             Mode("shardbeat 1 worker", replay + ["--workers", "1"] + base, workers=1),
             Mode(f"shardbeat {workers} workers", replay + ["--workers", str(workers)] + base,
                  workers=workers),
             Mode(side_by_side_name(workers),
                  [sys.executable, str(REPO / "bench" / "side_by_side.py"), str(workers),
                   SCRATCH, *replay, "--workers", "1", *base], copies=workers),
             Mode("shardbeat flows only", replay + ["--workers", "1"] + off, workers=1,
                  parsers=False)]
    if importlib.util.find_spec("nfstream") is not None:
        code = ("import sys; from nfstream import NFStreamer; "
                "print(sum(1 for _ in NFStreamer(source=sys.argv[1], n_meters=1)))")
        modes.append(Mode("nfstream", [sys.executable, "-c", code, str(pcap)]))
    return modes


def python_env() -> dict:
    """The environment for shardbeat runs: the checkout importable even when not installed."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
